// The Twilio simulator as its own small service (development and tests without a Twilio
// account): Twilio's REST wire format with signed status callbacks. Started by
// dev/stack/functions.ts only when the function environment names no Twilio account.
// Environment: SIMULATOR_PORT.
import { SIM_ACCOUNT_SID, SIM_AUTH_TOKEN, startTwilioSimulator } from './twilio_simulator.ts';

const simulator = startTwilioSimulator({
  port: Number(Deno.env.get('SIMULATOR_PORT')),
  accounts: { [SIM_ACCOUNT_SID]: SIM_AUTH_TOKEN },
  acceptAnyAccount: true,
  callbacks: true,
  callbackDelayMs: 300,
});
console.log(
  `[twilio-simulator] SIMULATION: Twilio REST API simulated on ${simulator.url}; no real messages are sent`,
);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  Deno.addSignalListener(sig, async () => {
    await simulator.close();
    Deno.exit(0);
  });
}
