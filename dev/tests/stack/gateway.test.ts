// The gateway in front of the real PostgREST: apikey checks and error shapes as Supabase's.
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { stackEnv } from './_env.ts';

const env = stackEnv();

Deno.test('gateway: missing apikey gets 401 with Supabase message', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).message, 'No API key found in request');
});

Deno.test('gateway: wrong apikey gets 401 Invalid API key', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/`, { headers: { apikey: 'nope' } });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).message, 'Invalid API key');
});

Deno.test('gateway: malformed JWT gets PostgREST 401 PGRST301', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/`, {
    headers: { apikey: env.SUPABASE_ANON_KEY, authorization: 'Bearer not.a.jwt' },
  });
  assert.equal(res.status, 401);
  const body = await res.json();
  assert.match(body.code, /^PGRST30/);
});

Deno.test('gateway: an expired JWT gets 401 "JWT expired" and others keep being served', async () => {
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ role: 'authenticated', sub: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now - 7200)
    .setExpirationTime(now - 3600)
    .sign(new TextEncoder().encode(env.SUPABASE_JWT_SECRET));
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/tenants?select=id`, {
    headers: { apikey: env.SUPABASE_ANON_KEY, authorization: `Bearer ${expired}` },
  });
  assert.equal(res.status, 401);
  const body = await res.json();
  assert.equal(body.code, 'PGRST301');
  assert.match(body.message, /expired/i);
  const ok = await fetch(`${env.SUPABASE_URL}/rest/v1/`, {
    headers: { apikey: env.SUPABASE_ANON_KEY },
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test('gateway: body over 1 MiB gets 413 and the gateway keeps serving', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/rpc/nothing`, {
    method: 'POST',
    headers: { apikey: env.SUPABASE_ANON_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ x: 'a'.repeat(1024 * 1024 + 10) }),
  });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).code, 'payload_too_large');
  const ok = await fetch(`${env.SUPABASE_URL}/rest/v1/`, {
    headers: { apikey: env.SUPABASE_ANON_KEY },
  });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test('gateway: a chunked body over 1 MiB (no content-length) gets 413 too', async () => {
  const chunk = new Uint8Array(256 * 1024).fill(97);
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= 5) return c.close();
      sent++;
      c.enqueue(chunk);
    },
  });
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/rpc/nothing`, {
    method: 'POST',
    headers: { apikey: env.SUPABASE_ANON_KEY, 'content-type': 'application/json' },
    body,
  });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).code, 'payload_too_large');
});

Deno.test('gateway: CORS preflight is answered for the dashboard origin', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/contacts`, {
    method: 'OPTIONS',
    headers: { origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'POST' },
  });
  assert.ok(res.status === 204 || res.status === 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-allow-headers') ?? '', /apikey/);
});

Deno.test('gateway: a browser request (with Origin) gets CORS headers on the proxied answer', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/rest/v1/`, {
    headers: { apikey: env.SUPABASE_ANON_KEY, origin: 'http://127.0.0.1:3000' },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-expose-headers') ?? '', /content-range/);
  await res.body?.cancel();
});

Deno.test('gateway: unknown route gets 404 JSON', async () => {
  const res = await fetch(`${env.SUPABASE_URL}/nope/v1/x`, {
    headers: { apikey: env.SUPABASE_ANON_KEY },
  });
  assert.equal(res.status, 404);
  assert.ok((await res.json()).message);
});
