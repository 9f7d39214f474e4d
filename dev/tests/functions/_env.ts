// Shared set-up of the functions tests: the stack's environment (from `deno task test
// functions`), handler dependencies pointing at loopback fakes, and small SQL builders for
// tenants, numbers, contacts and queued messages (each test makes its own, so the demo seed and
// other tests' rows never matter).
import postgres from 'postgres';
import { DEV_CREDENTIALS_KEY } from '../../stack/functions.ts';
import {
  dispatchKey,
  SERVICE_KEY_SECRET,
  storeDispatchSecrets,
} from '../../stack/dispatch_secrets.ts';
import { type Deps } from '../../../functions/_shared/context.ts';
import { parseEnv } from '../../../functions/_shared/env.ts';
import { signForm } from '../../../functions/_shared/twilio.ts';
import { FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN } from '../fakes/twilio.ts';

export const PUBLIC_URL = 'https://functions.example.test/functions/v1';
export const PLATFORM_NUMBER = '+15005550006';

function need(k: string): string {
  const v = Deno.env.get(k);
  if (!v) throw new Error(`${k} is not set: run this suite through \`deno task test functions\``);
  return v;
}

export const stackEnv = {
  get url() {
    return need('SUPABASE_URL');
  },
  get anonKey() {
    return need('SUPABASE_ANON_KEY');
  },
  get serviceKey() {
    return need('SUPABASE_SERVICE_ROLE_KEY');
  },
  get publishableKey() {
    return need('SUPABASE_PUBLISHABLE_KEY');
  },
  get secretKey() {
    return need('SUPABASE_SECRET_KEY');
  },
  get jwtSecret() {
    return need('SUPABASE_JWT_SECRET');
  },
  get dbUrl() {
    return need('SUPABASE_DB_URL');
  },
};

let shared: postgres.Sql | undefined;
export function sql(): postgres.Sql {
  return shared ??= postgres(stackEnv.dbUrl, { max: 10, onnotice: () => {} });
}

/** Handler dependencies: the real database, the given fakes, the dev credentials key. */
export function deps(over: Record<string, string> = {}): Deps {
  const env = parseEnv({
    ...Deno.env.toObject(),
    CREDENTIALS_KEY: DEV_CREDENTIALS_KEY,
    TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: FAKE_AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: PLATFORM_NUMBER,
    PUBLIC_FUNCTIONS_URL: PUBLIC_URL,
    EMAIL_PROVIDER: 'log',
    TWILIO_TIMEOUT_MS: '1500',
    DISPATCH_LEASE_SECONDS: '30',
    ...over,
  });
  return { env, sql: sql() };
}

/** Deno.test without the op/resource sanitizers (pools and servers outlive single tests). */
export function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

let counter = 0;
const run = crypto.randomUUID().slice(0, 6);
export function uniq(prefix = 't'): string {
  return `${prefix}-${run}-${++counter}`;
}

/** A North American number unique to this run (E.164, passes normalize_phone). */
export function phone(): string {
  const n = Math.floor(Math.random() * 9_000_000) + 1_000_000;
  return `+1415${n}`;
}

export async function makeTenant(
  fields: Record<string, unknown> = {},
): Promise<{ id: string; slug: string }> {
  const slug = uniq('tenant').toLowerCase();
  const [t] = await sql()<{ id: string; slug: string }[]>`
    insert into public.tenants ${sql()({ name: `Test ${slug}`, slug, ...fields })}
    returning id, slug`;
  return t;
}

export async function addNumber(
  tenantId: string,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; e164: string }> {
  const [n] = await sql()<{ id: string; e164: string }[]>`
    insert into public.phone_numbers ${sql()({ tenant_id: tenantId, e164: phone(), ...fields })}
    returning id, e164`;
  return n;
}

export async function makeContact(
  tenantId: string,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; phone: string | null; email: string | null }> {
  const [c] = await sql()<{ id: string; phone: string | null; email: string | null }[]>`
    insert into public.contacts ${
    sql()({ tenant_id: tenantId, name: 'Pat Test', phone: phone(), ...fields })
  }
    returning id, phone, email`;
  return c;
}

export async function conversation(
  tenantId: string,
  contactId: string,
  channel: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const [c] = await sql()<{ id: string }[]>`
    insert into public.conversations ${
    sql()({ tenant_id: tenantId, contact_id: contactId, channel, ...fields })
  }
    on conflict (tenant_id, contact_id, channel) do update set channel = excluded.channel
    returning id`;
  return c.id;
}

export async function queue(
  tenantId: string,
  contactId: string,
  fields: Record<string, unknown> = {},
): Promise<string> {
  const channel = (fields.channel as string) ?? 'sms';
  const conv = await conversation(tenantId, contactId, channel);
  const [m] = await sql()<{ id: string }[]>`
    insert into public.messages ${
    sql()({
      tenant_id: tenantId,
      conversation_id: conv,
      contact_id: contactId,
      direction: 'outbound',
      channel,
      kind: 'manual',
      body: 'Hello from the test',
      status: 'queued',
      ...fields,
    })
  }
    returning id`;
  return m.id;
}

export async function message(id: string) {
  const [m] = await sql()`select * from public.messages where id = ${id}`;
  return m;
}

/**
 * Keeps SQL from calling the stack's `dispatch` (pg_net) while these tests dispatch rows with their
 * own fakes: the Vault secret service_key is removed, so private.kick_dispatch() calls nothing, as
 * on a project without it; resuming stores it again as the stack does. Pausing waits for requests
 * already queued: pg_net's worker removes a queued row only once its response is recorded.
 */
export async function pauseDispatchKicks(paused: boolean) {
  if (!paused) {
    await storeDispatchSecrets(stackEnv.dbUrl, {
      projectUrl: stackEnv.url,
      serviceKey: dispatchKey({ SUPABASE_SECRET_KEY: need('SUPABASE_SECRET_KEY') }),
    });
    return;
  }
  await sql()`delete from vault.secrets where name = ${SERVICE_KEY_SECRET}`;
  await until(
    async () => (await sql()`select 1 from net.http_request_queue limit 1`).length === 0,
    30_000,
    'pg_net to finish the requests queued before the pause',
  );
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function until<T>(
  fn: () => Promise<T>,
  ms = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A signed Twilio form webhook request, as Twilio sends it. */
export function twilioRequest(
  fn: string,
  params: Record<string, string>,
  opts: {
    token?: string;
    query?: string;
    baseUrl?: string;
    signUrl?: string;
    signature?: string | null;
  } = {},
): Request {
  const query = opts.query ?? '';
  const publicUrl = `${PUBLIC_URL}/${fn}${query}`;
  const sig = opts.signature !== undefined
    ? opts.signature
    : signForm(opts.token ?? FAKE_AUTH_TOKEN, opts.signUrl ?? publicUrl, params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (sig !== null) headers['x-twilio-signature'] = sig;
  return new Request(`${opts.baseUrl ?? 'http://127.0.0.1:9'}/${fn}${query}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(params),
  });
}

export function sid(prefix = 'SM'): string {
  return prefix +
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0'))
      .join('');
}

/** A user with a session JWT (as auth would issue), member of `tenantId` with `role`. */
export async function member(
  tenantId: string,
  role: 'owner' | 'agent',
): Promise<{ id: string; jwt: string }> {
  const id = crypto.randomUUID();
  await sql()`insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
      created_at, updated_at)
    values (${id}, 'authenticated', 'authenticated', ${`${uniq('user')}@example.com`},
      '{"provider":"email"}', '{}', now(), now())`;
  await sql()`insert into public.tenant_members (tenant_id, user_id, role)
              values (${tenantId}, ${id}, ${role})`;
  return { id, jwt: await userJwt(id) };
}

export async function userJwt(sub: string): Promise<string> {
  const { SignJWT } = await import('jose');
  return await new SignJWT({ sub, role: 'authenticated', aud: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(stackEnv.jwtSecret));
}
