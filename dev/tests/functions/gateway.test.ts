// The functions server behind the stack's gateway (/functions/v1/<name>), as a deployed project
// is reached: verify_jwt from config.toml, Supabase's error shapes, dispatch called by
// private.kick_dispatch through pg_net, and the Twilio simulator's signed status callbacks
// arriving at twilio-status.
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { signForm } from '../../../functions/_shared/twilio.ts';
import { SIM_ACCOUNT_SID, SIM_AUTH_TOKEN } from '../../stack/twilio_simulator.ts';
import {
  addNumber,
  makeContact,
  makeTenant,
  message,
  pauseDispatchKicks,
  phone,
  queue,
  sid,
  sql,
  stackEnv,
  test,
  until,
} from './_env.ts';

const fn = (name: string) => `${stackEnv.url}/functions/v1/${name}`;

test('unknown function: 404 NOT_FOUND as Supabase answers', async () => {
  const res = await fetch(fn('no-such-function'), { method: 'POST' });
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), {
    code: 'NOT_FOUND',
    message: 'Requested function was not found',
  });
});

test('verify_jwt: missing / invalid / expired JWT get 401 before the function runs', async () => {
  // tenant-credentials keeps verify_jwt = true (called by signed-in users).
  const url = fn('tenant-credentials');
  const none = await fetch(url, { method: 'POST' });
  assert.equal(none.status, 401);
  assert.deepEqual(await none.json(), { code: 401, message: 'Missing authorization header' });
  const bad = await fetch(url, {
    method: 'POST',
    headers: { authorization: 'Bearer not.a.jwt' },
  });
  assert.equal(bad.status, 401);
  assert.deepEqual(await bad.json(), { code: 401, message: 'Invalid JWT' });
  const expired = await new SignJWT({ role: 'authenticated', sub: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(new TextEncoder().encode(stackEnv.jwtSecret));
  const exp = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${expired}` },
  });
  assert.equal(exp.status, 401);
  assert.deepEqual(await exp.json(), { code: 401, message: 'Invalid JWT' });
});

test('dispatch (verify_jwt = false) checks its caller itself: anon and publishable are refused', async () => {
  const none = await fetch(fn('dispatch'), { method: 'POST' });
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error.code, 'missing_authorization');
  const anon = await fetch(fn('dispatch'), {
    method: 'POST',
    headers: { authorization: `Bearer ${stackEnv.anonKey}` },
  });
  assert.equal(anon.status, 403);
  assert.equal((await anon.json()).error.code, 'forbidden');
  const publishable = await fetch(fn('dispatch'), {
    method: 'POST',
    headers: {
      apikey: stackEnv.publishableKey,
      authorization: `Bearer ${stackEnv.publishableKey}`,
    },
  });
  assert.equal(publishable.status, 401);
  await publishable.body?.cancel();
  const guessed = await fetch(fn('dispatch'), {
    method: 'POST',
    headers: { apikey: 'sb_secret_guess', authorization: 'Bearer sb_secret_guess' },
  });
  assert.equal(guessed.status, 401);
  await guessed.body?.cancel();
});

test('dispatch with the secret key, as SQL calls it through pg_net, answers its stats', async () => {
  const res = await fetch(fn('dispatch'), {
    method: 'POST',
    headers: {
      apikey: stackEnv.secretKey,
      authorization: `Bearer ${stackEnv.secretKey}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ reason: 'enqueued' }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(typeof (await res.json()).claimed, 'number');
  // The key in `apikey` alone: the gateway passes that header on to functions.
  const keyOnly = await fetch(fn('dispatch'), {
    method: 'POST',
    headers: { apikey: stackEnv.secretKey, 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(keyOnly.status, 200, await keyOnly.clone().text());
  await keyOnly.body?.cancel();
});

test('webhooks need no JWT: a simulator-signed inbound SMS through the gateway is stored', async () => {
  const t = await makeTenant();
  const n = await addNumber(t.id);
  const params = {
    MessageSid: sid(),
    AccountSid: SIM_ACCOUNT_SID,
    From: phone(),
    To: n.e164,
    Body: 'through the gateway',
  };
  const url = fn('twilio-inbound');
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': signForm(SIM_AUTH_TOKEN, url, params),
    },
    body: new URLSearchParams(params),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const rows =
    await sql()`select body from public.messages where provider_sid = ${params.MessageSid}`;
  assert.deepEqual(rows.map((r) => r.body), ['through the gateway']);

  const forged = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' },
    body: new URLSearchParams({ ...params, MessageSid: sid() }),
  });
  assert.equal(forged.status, 403);
  await forged.body?.cancel();
});

test('dispatch with the service role key answers its stats', async () => {
  const res = await fetch(fn('dispatch'), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stackEnv.serviceKey}`,
      'content-type': 'application/json',
    },
    // What private.kick_dispatch() posts through pg_net on hosted Supabase.
    body: JSON.stringify({ reason: 'enqueued', due: 3, at: new Date().toISOString() }),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(typeof body.claimed, 'number');
  const bad = await fetch(fn('dispatch'), {
    method: 'POST',
    headers: { authorization: `Bearer ${stackEnv.serviceKey}` },
    body: '{"batch": "lots"}',
  });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, 'invalid_body');
});

test('queued -> sent -> delivered on its own: pg_net calls dispatch through the gateway, simulator calls back', async () => {
  await pauseDispatchKicks(false);
  const t = await makeTenant();
  await addNumber(t.id);
  const c = await makeContact(t.id);
  const id = await queue(t.id, c.id, { body: 'end to end' });
  const row = await until(
    async () => {
      const m = await message(id);
      return m.status === 'delivered' ? m : null;
    },
    15_000,
    'the message to be delivered',
  );
  assert.match(row.provider_sid, /^SM[0-9a-f]{32}$/);
  assert.ok(row.sent_at && row.delivered_at);
});

test('deno task simulate inbound posts a signed webhook the stack accepts (SIMULATION)', async () => {
  const t = await makeTenant();
  const n = await addNumber(t.id);
  const from = phone();
  const envFile = await Deno.makeTempFile({ suffix: '.env' });
  try {
    await Deno.writeTextFile(
      envFile,
      `SUPABASE_URL=${stackEnv.url}\nSUPABASE_DB_URL=${stackEnv.dbUrl}\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        'run',
        '-A',
        new URL('../../tasks/simulate.ts', import.meta.url).pathname,
        'inbound',
        '--env',
        envFile,
        '--to',
        n.e164,
        '--from',
        from,
        'Do you have a table for two?',
      ],
      // Only the env file: no platform credentials from this process's environment.
      clearEnv: true,
      env: { PATH: Deno.env.get('PATH') ?? '', HOME: Deno.env.get('HOME') ?? '/root' },
      stdout: 'piped',
      stderr: 'piped',
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, stdout + new TextDecoder().decode(out.stderr));
    assert.match(stdout, /^SIMULATION: /m);
    assert.match(stdout, /answered 200/);
    const rows = await sql()`select body from public.messages
      where tenant_id = ${t.id} and from_address = ${from} and direction = 'inbound'`;
    assert.deepEqual(rows.map((r) => r.body), ['Do you have a table for two?']);
  } finally {
    await Deno.remove(envFile);
  }
});
