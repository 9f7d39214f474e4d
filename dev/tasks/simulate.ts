// `deno task simulate inbound --to <number> --from <number> "text"`: SIMULATION of Twilio calling
// the dev stack's twilio-inbound webhook, signed as Twilio signs it (X-Twilio-Signature over the
// public URL and the form params) with the auth token of the tenant owning --to, or the
// platform/simulator token. Options: --whatsapp, --media <url> (repeatable), --env <file>.
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { open } from '../../functions/_shared/crypto.ts';
import { signForm } from '../../functions/_shared/twilio.ts';
import { ROOT } from '../stack/database.ts';
import { DEV_CREDENTIALS_KEY } from '../stack/functions.ts';
import { newSid, SIM_ACCOUNT_SID, SIM_AUTH_TOKEN } from '../stack/twilio_simulator.ts';

const USAGE = 'usage: deno task simulate inbound --to <number> --from <number> [--whatsapp] ' +
  '[--media <url>]… "text"';

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    to: { type: 'string' },
    from: { type: 'string' },
    whatsapp: { type: 'boolean', default: false },
    media: { type: 'string', multiple: true },
    env: { type: 'string', default: `${ROOT}/.stack/dev.env` },
  },
});
const [command, ...words] = positionals;
if (command !== 'inbound' || !values.to || !values.from) {
  console.error(USAGE);
  Deno.exit(2);
}

async function readEnvFile(path: string): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(path).catch(() => {
    console.error(`${path} not found: start the dev stack first (deno task dev)`);
    Deno.exit(1);
  });
  return Object.fromEntries(
    text.split('\n').filter((l) => l.includes('=')).map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

const env = { ...(await readEnvFile(values.env!)), ...Deno.env.toObject() };
const to = values.to!.replace(/^whatsapp:/, '');
const from = values.from!.replace(/^whatsapp:/, '');
const sql = postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });

// Sign as Twilio would: with the tenant's own token when it saved one, else the platform's.
let accountSid = env.TWILIO_ACCOUNT_SID ?? SIM_ACCOUNT_SID;
let token = env.TWILIO_AUTH_TOKEN ?? SIM_AUTH_TOKEN;
let whose = 'platform (simulator) account';
const [owner] = await sql`
  select n.tenant_id, t.name, c.account_sid, c.auth_token_ciphertext, c.key_version
    from public.phone_numbers n join public.tenants t on t.id = n.tenant_id
    left join private.tenant_credentials c on c.tenant_id = n.tenant_id
   where n.e164 = ${to}`;
await sql.end();
if (!owner) console.warn(`note: no tenant owns ${to}; the webhook will answer 404 unknown_number`);
else if (owner.account_sid) {
  accountSid = owner.account_sid;
  token = await open(
    { ciphertext: owner.auth_token_ciphertext, keyVersion: owner.key_version },
    env.CREDENTIALS_KEY ?? DEV_CREDENTIALS_KEY,
    owner.tenant_id,
  );
  whose = `account of tenant "${owner.name}"`;
}

const media = values.media ?? [];
const params: Record<string, string> = {
  MessageSid: newSid(media.length ? 'MM' : 'SM'),
  AccountSid: accountSid,
  From: values.whatsapp ? `whatsapp:${from}` : from,
  To: values.whatsapp ? `whatsapp:${to}` : to,
  Body: words.join(' '),
  NumMedia: String(media.length),
  ApiVersion: '2010-04-01',
};
media.forEach((url, i) => (params[`MediaUrl${i}`] = url));
const url = `${env.PUBLIC_FUNCTIONS_URL ?? `${env.SUPABASE_URL}/functions/v1`}/twilio-inbound`;
console.log(`SIMULATION: posting a Twilio inbound webhook (not a real message)`);
console.log(`  ${params.From} -> ${params.To}: ${JSON.stringify(params.Body)}`);
console.log(`  MessageSid ${params.MessageSid}, signed with the ${whose}`);
const res = await fetch(`${env.SUPABASE_URL}/functions/v1/twilio-inbound`, {
  method: 'POST',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': signForm(token, url, params),
  },
  body: new URLSearchParams(params),
});
console.log(
  `SIMULATION: twilio-inbound answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
);
Deno.exit(res.ok ? 0 : 1);
