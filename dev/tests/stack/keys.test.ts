// The new API keys and signing keys on the local stack, driven as clients and attackers would:
// publishable and secret keys at the gateway (and a wrong one), the JWKS endpoint's shape, ES256
// session tokens accepted by PostgREST, Realtime and the functions runtime, legacy HS256 tokens
// still accepted, and supabase-js working with the publishable / secret keys alone.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { createClient } from '@supabase/supabase-js';
import type { Database } from '../../../common/database.types.ts';
import { SIGNING_KEY } from '../../stack/keys.ts';
import { stackEnv } from './_env.ts';
import { followLink, linkIn, waitForMail } from '../_mail.ts';

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const db = postgres(env.SUPABASE_DB_URL, { max: 2, onnotice: () => {} });
const opts = { auth: { persistSession: false, autoRefreshToken: false } };
const T = { sanitizeOps: false, sanitizeResources: false };

/** Polls `fn` until it returns a value, or fails naming what did not happen within `ms`. */
async function until<V>(what: string, fn: () => V | undefined, ms = 10_000): Promise<V> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A tenant only service_role can see (no members), to tell roles apart through RLS. */
const [hidden] = await db`insert into public.tenants (name, slug)
  values (${`Keys ${run}`}, ${`keys-${run}`}) returning id`;

/** [status, whether the hidden tenant was returned]; anon has no grant on tenants (401 42501). */
async function tenantVisible(headers: Record<string, string>): Promise<[number, boolean]> {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/tenants?select=id&id=eq.${hidden.id}`, {
    headers,
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    return [res.status, false];
  }
  return [200, (await res.json()).length === 1];
}

/** What the legacy anon key gets; the publishable key must get exactly the same. */
const ANON = await tenantVisible({ apikey: env.SUPABASE_ANON_KEY });

Deno.test('keys: the secret key acts as service_role at the gateway, publishable as anon', async () => {
  assert.deepEqual(await tenantVisible({ apikey: env.SUPABASE_SECRET_KEY }), [200, true]);
  assert.equal(ANON[1], false);
  assert.deepEqual(await tenantVisible({ apikey: env.SUPABASE_PUBLISHABLE_KEY }), ANON);
  // The legacy key keeps working the same way.
  assert.deepEqual(await tenantVisible({ apikey: env.SUPABASE_SERVICE_ROLE_KEY }), [200, true]);
  // PostgREST sees the publishable key's request as anon: the same answer as the anon key's.
  const a = await fetch(`${env.SUPABASE_URL}/rest/v1/tenants?select=id`, {
    headers: { apikey: env.SUPABASE_PUBLISHABLE_KEY },
  });
  const b = await fetch(`${env.SUPABASE_URL}/rest/v1/tenants?select=id`, {
    headers: { apikey: env.SUPABASE_ANON_KEY },
  });
  assert.equal(a.status, b.status);
  assert.deepEqual(await a.json(), await b.json());
  // An opaque key sent as the bearer too (older supabase-js does) is replaced, not rejected.
  assert.deepEqual(
    await tenantVisible({
      apikey: env.SUPABASE_SECRET_KEY,
      authorization: `Bearer ${env.SUPABASE_SECRET_KEY}`,
    }),
    [200, true],
  );
});

Deno.test('keys: a wrong or forged opaque key is refused; a publishable key cannot claim a secret bearer', async () => {
  for (const apikey of ['sb_secret_wrong', env.SUPABASE_SECRET_KEY + 'x', 'sb_publishable_x']) {
    const res = await fetch(`${env.SUPABASE_URL}/rest/v1/tenants?select=id`, {
      headers: { apikey },
    });
    assert.equal(res.status, 401, apikey);
    assert.equal((await res.json()).message, 'Invalid API key');
  }
  // Publishable key in apikey, the secret key as bearer: an opaque bearer that is not the apikey
  // goes on untouched and PostgREST rejects it as no JWT; it is never promoted to service_role.
  assert.deepEqual(
    await tenantVisible({
      apikey: env.SUPABASE_PUBLISHABLE_KEY,
      authorization: `Bearer ${env.SUPABASE_SECRET_KEY}`,
    }),
    [401, false],
  );
  // A service_role JWT signed with some other key under our kid is rejected by PostgREST.
  const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const forged = await new SignJWT({ role: 'service_role' })
    .setProtectedHeader({ alg: 'ES256', kid: SIGNING_KEY.kid, typ: 'JWT' })
    .setExpirationTime('5m')
    .sign(other.privateKey);
  assert.deepEqual(
    await tenantVisible({
      apikey: env.SUPABASE_PUBLISHABLE_KEY,
      authorization: `Bearer ${forged}`,
    }),
    [401, false],
  );
});

Deno.test('keys: a secret key from a browser is refused with 401', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/tenants?select=id`, {
    headers: {
      apikey: env.SUPABASE_SECRET_KEY,
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140.0 Safari/537.36',
    },
  });
  assert.equal(res.status, 401);
  assert.match((await res.json()).message, /secret API key in browser/);
  // The publishable key is made for browsers.
  const ok = await fetch(`${env.SUPABASE_URL}/rest/v1/`, {
    headers: { apikey: env.SUPABASE_PUBLISHABLE_KEY, 'user-agent': 'Mozilla/5.0 Firefox/140.0' },
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test(
  'keys: a websocket opened with only the publishable key joins (as anon); a wrong key is refused',
  T,
  async () => {
    const client = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_PUBLISHABLE_KEY, opts);
    const statuses: string[] = [];
    const channel = client.channel(`anon-${run}`);
    await new Promise<void>((resolve, reject) => {
      channel.subscribe((status, err) => {
        statuses.push(status);
        if (status === 'SUBSCRIBED') resolve();
        else if (status !== 'CLOSED') reject(err ?? new Error(status));
      });
    });
    assert.deepEqual(statuses, ['SUBSCRIBED']);
    // A key that is not the project's is refused before the upgrade.
    const res = await fetch(
      `${env.SUPABASE_URL}/realtime/v1/websocket?apikey=sb_publishable_nope&vsn=1.0.0`,
    );
    assert.equal(res.status, 401);
    await res.body?.cancel();
    await client.removeAllChannels();
  },
);

Deno.test('keys: /auth/v1/.well-known/jwks.json publishes the ES256 public key only, without an apikey', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/auth/v1/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body, {
    keys: [{
      kty: 'EC',
      kid: SIGNING_KEY.kid,
      use: 'sig',
      key_ops: ['verify'],
      alg: 'ES256',
      ext: true,
      crv: 'P-256',
      x: SIGNING_KEY.x,
      y: SIGNING_KEY.y,
    }],
  });
  const text = JSON.stringify(body);
  assert.ok(!text.includes(SIGNING_KEY.d), 'private key published');
  assert.ok(!text.includes('"oct"'), 'symmetric key published');
  // The rest of /auth/v1 still needs a key.
  const settings = await fetch(`${env.SUPABASE_URL}/auth/v1/settings`);
  assert.equal(settings.status, 401);
  await settings.body?.cancel();
});

Deno.test(
  'keys: supabase-js with the publishable key signs up; the session is ES256 and works everywhere',
  T,
  async () => {
    const client = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_PUBLISHABLE_KEY, opts);
    const email = `keys-${run}@example.test`;
    const { error } = await client.auth.signUp({ email, password: 'correct horse battery' });
    assert.equal(error, null);
    // Confirmations are on: the session comes from the mailed link.
    const { params } = await followLink(linkIn(await waitForMail(email)));
    const set = await client.auth.setSession({
      access_token: params.get('access_token')!,
      refresh_token: params.get('refresh_token')!,
    });
    assert.equal(set.error, null, set.error?.message ?? '');
    const token = set.data.session!.access_token;
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.kid, SIGNING_KEY.kid);

    // auth: the user reads itself with the ES256 token.
    const me = await client.auth.getUser();
    assert.equal(me.data.user?.email, email);

    // PostgREST: the owner creates a business and reads it under RLS.
    const tenant = await client.rpc('create_tenant', { p_name: `Keys ${run}` });
    assert.equal(tenant.error, null, tenant.error?.message ?? '');
    const tenantId = (tenant.data as { id: string }).id;
    const mine = await client.from('tenants').select('id').eq('id', tenantId);
    assert.deepEqual(mine.data, [{ id: tenantId }]);
    const theirs = await client.from('tenants').select('id').eq('id', hidden.id);
    assert.deepEqual(theirs.data, []);

    // Realtime: a channel joined with the ES256 token subscribes and receives the tenant's rows.
    const [contact] = await db`insert into public.contacts (tenant_id, name, phone)
    values (${tenantId}, 'Realtime', ${
      '+1415556' + String(1000 + Math.floor(Math.random() * 8999))
    })
    returning id`;
    const events: Record<string, unknown>[] = [];
    const system: { status: string }[] = [];
    const channel = client.channel(`keys-${run}`)
      .on(
        'postgres_changes',
        { event: 'INSERT', schema: 'public', table: 'conversations' },
        (p) => events.push(p.new),
      )
      .on('system', {}, (p) => system.push(p));
    await new Promise<void>((resolve, reject) => {
      channel.subscribe((status, err) => {
        if (status === 'SUBSCRIBED') resolve();
        else if (status !== 'CLOSED') reject(err ?? new Error(status));
      });
    });
    await until('postgres_changes subscribed', () => system.find((s) => s.status === 'ok'));
    const [conv] = await db`insert into public.conversations (tenant_id, contact_id, channel)
    values (${tenantId}, ${contact.id}, 'sms') returning id`;
    const row = await until('the realtime insert', () => events.find((e) => e.id === conv.id));
    assert.equal(row.tenant_id, tenantId);

    // Functions: verify_jwt (tenant-credentials) lets the ES256 token through to the function, which
    // verifies it through @supabase/server and answers for the signed-in owner.
    const fnRes = await fetch(
      `${env.SUPABASE_URL}/functions/v1/tenant-credentials?tenant_id=${tenantId}`,
      {
        headers: { authorization: `Bearer ${token}`, apikey: env.SUPABASE_PUBLISHABLE_KEY },
      },
    );
    assert.equal(fnRes.status, 200, await fnRes.clone().text());
    assert.equal((await fnRes.json()).configured, false);
    await client.removeAllChannels();
  },
);

Deno.test('keys: verify_jwt refuses API keys as bearer and still takes legacy HS256 tokens', async () => {
  const url = `${env.SUPABASE_URL}/functions/v1/tenant-credentials`;
  for (const key of [env.SUPABASE_PUBLISHABLE_KEY, env.SUPABASE_SECRET_KEY]) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, apikey: key } });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { code: 401, message: 'Invalid JWT' });
  }
  const legacy = await new SignJWT({ role: 'authenticated', sub: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(env.SUPABASE_JWT_SECRET));
  // Past verify_jwt and past the function's own check (requireUser): the tenant is unknown.
  const res = await fetch(`${url}?tenant_id=${crypto.randomUUID()}`, {
    headers: { authorization: `Bearer ${legacy}` },
  });
  assert.equal(res.status, 404, await res.clone().text());
  assert.equal((await res.json()).error.code, 'unknown_tenant');
});

Deno.test('keys: supabase-js with the secret key uses the admin API and bypasses RLS', async () => {
  const admin = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_SECRET_KEY, opts);
  const created = await admin.auth.admin.createUser({
    email: `keys-admin-${run}@example.test`,
    password: 'correct horse battery',
    email_confirm: true,
  });
  assert.equal(created.error, null, created.error?.message ?? '');
  const { data, error } = await admin.from('tenants').select('id').eq('id', hidden.id);
  assert.equal(error, null);
  assert.deepEqual(data, [{ id: hidden.id }]);
  // The publishable key cannot use the admin API.
  const anon = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_PUBLISHABLE_KEY, opts);
  const refused = await anon.auth.admin.listUsers();
  assert.ok(refused.error, 'the admin API answered a publishable key');
});

Deno.test({
  name: 'keys: cleanup',
  ...T,
  fn: async () => {
    await db.end();
  },
});
