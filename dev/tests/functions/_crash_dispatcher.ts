// Run by dispatch.test.ts as a separate process: a dispatcher that dies (exit 137, as under
// SIGKILL) right after the provider accepted the send of CRASH_MESSAGE_ID and before the result
// reaches the database.
import { createDispatcher } from '../../../functions/dispatch/dispatcher.ts';
import { deps } from './_env.ts';

const target = Deno.env.get('CRASH_MESSAGE_ID');
const d = createDispatcher(deps({ TWILIO_API_URL: Deno.env.get('FAKE_TWILIO_URL')! }), {
  afterProviderAccepted: (id) => {
    if (id === target) Deno.exit(137);
  },
});
await d.drain(10_000);
console.error('crash dispatcher finished without meeting its message');
Deno.exit(3);
