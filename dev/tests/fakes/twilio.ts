// Loopback fake of Twilio's REST API for the functions tests: the same implementation as the
// stack's simulator (dev/stack/twilio_simulator.ts: Twilio's wire format, recorded requests, injected
// latency/errors/timeouts), strict about credentials and silent unless asked for callbacks.
import {
  startTwilioSimulator,
  type TwilioSim,
  type TwilioSimOptions,
} from '../../stack/twilio_simulator.ts';

export type FakeTwilio = TwilioSim;

export const FAKE_ACCOUNT_SID = 'AC0000000000000000000000000000fa4e';
export const FAKE_AUTH_TOKEN = 'fake-twilio-auth-token-for-tests-1';

export function startFakeTwilio(opts: TwilioSimOptions = {}): FakeTwilio {
  return startTwilioSimulator({
    accounts: { [FAKE_ACCOUNT_SID]: FAKE_AUTH_TOKEN },
    label: '[fake-twilio]',
    log: () => {},
    ...opts,
  });
}
