// The loopback Twilio fake as its own process (a benchmark's provider should not share the
// measured process's event loop). Prints its URL on the first line of stdout.
import { startFakeTwilio } from '../tests/fakes/twilio.ts';

const fake = startFakeTwilio({ latencyMs: Number(Deno.env.get('FAKE_LATENCY_MS') ?? 0) });
console.log(fake.url);
Deno.addSignalListener('SIGTERM', async () => {
  await fake.close();
  Deno.exit(0);
});
