// functions/_shared/auth.ts on top of @supabase/server: every way a caller can present itself to
// requireServiceRole and requireUser, including the ways an attacker would try (a publishable key
// for a service endpoint, forged or expired tokens, API keys as bearer, a token from another key
// under our kid), with the environment hosted functions get (no JWT secret, inline JWKS) and the
// one where the JWKS must be fetched from the project's endpoint.
import assert from 'node:assert/strict';
import { decodeJwt, SignJWT } from 'jose';
import { requireServiceRole, requireUser } from '../../../functions/_shared/auth.ts';
import { type Env, parseEnv } from '../../../functions/_shared/env.ts';
import { HttpError } from '../../../functions/_shared/http.ts';
import { DEV_CREDENTIALS_KEY } from '../../stack/functions.ts';
import { importSigningKey, SIGNING_KEY } from '../../stack/keys.ts';
import { test } from './_env.ts';

const base = Deno.env.toObject();
const env = (over: Record<string, string | undefined> = {}): Env =>
  parseEnv({ ...base, CREDENTIALS_KEY: DEV_CREDENTIALS_KEY, ...over });
const local = env();
/** As on hosted Supabase: no JWT secret; keys and JWKS injected. */
const hosted = env({ SUPABASE_JWT_SECRET: undefined });
/** No inline JWKS: @supabase/server's fallback, `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`. */
const remoteJwks = env({ SUPABASE_JWT_SECRET: undefined, SUPABASE_JWKS: undefined });

const publishable = JSON.parse(base.SUPABASE_PUBLISHABLE_KEYS).default as string;
const secret = JSON.parse(base.SUPABASE_SECRET_KEYS).default as string;

function req(headers: Record<string, string>): Request {
  return new Request('http://127.0.0.1:9/fn', { method: 'POST', headers });
}

async function es256(
  claims: Record<string, unknown>,
  key?: CryptoKey,
  exp: string | number = '5m',
) {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: SIGNING_KEY.kid, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key ?? await importSigningKey());
}

async function hs256(claims: Record<string, unknown>, exp: string | number = '5m') {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(base.SUPABASE_JWT_SECRET));
}

async function refused(p: Promise<unknown>, status: number, code?: string) {
  const e = await p.then(() => null, (e) => e);
  assert.ok(e instanceof HttpError, `expected HttpError ${status}, got ${e}`);
  assert.equal(e.status, status, e.message);
  if (code) assert.equal(e.code, code);
}

test('requireServiceRole: the secret key in apikey, as pg_net sends it, or as bearer only', async () => {
  for (const e of [local, hosted]) {
    await requireServiceRole(req({ apikey: secret, authorization: `Bearer ${secret}` }), e);
    await requireServiceRole(req({ apikey: secret }), e);
    await requireServiceRole(req({ authorization: `Bearer ${secret}` }), e);
  }
});

test('requireServiceRole: the legacy service_role key and JWTs keep working', async () => {
  const legacy = req({ authorization: `Bearer ${base.SUPABASE_SERVICE_ROLE_KEY}` });
  await requireServiceRole(legacy, local);
  // Hosted has no JWT secret: the legacy key is recognised by value.
  await requireServiceRole(legacy, hosted);
  const minted = await hs256({ role: 'service_role' });
  await requireServiceRole(req({ authorization: `Bearer ${minted}` }), local);
});

test('requireServiceRole: publishable, wrong or absent keys and user tokens are refused', async () => {
  await refused(requireServiceRole(req({}), local), 401, 'missing_authorization');
  await refused(requireServiceRole(req({ apikey: publishable }), local), 401);
  await refused(
    requireServiceRole(req({ apikey: publishable, authorization: `Bearer ${publishable}` }), local),
    401,
  );
  await refused(requireServiceRole(req({ apikey: `${secret}x` }), local), 401);
  await refused(
    requireServiceRole(req({ authorization: 'Bearer sb_secret_guessed' }), local),
    401,
    'invalid_api_key',
  );
  await refused(
    requireServiceRole(req({ authorization: `Bearer ${base.SUPABASE_ANON_KEY}` }), local),
    403,
    'forbidden',
  );
  const user = await es256({ sub: crypto.randomUUID(), role: 'authenticated' });
  await refused(requireServiceRole(req({ authorization: `Bearer ${user}` }), local), 403);
  // A role claim the caller wrote itself, signed by a key of its own, is worthless.
  const forged = await new SignJWT({ role: 'service_role' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode('x'.repeat(40)));
  await refused(requireServiceRole(req({ authorization: `Bearer ${forged}` }), local), 401);
});

test('requireUser: ES256 session tokens verify by the JWKS, inline or fetched', async () => {
  const sub = crypto.randomUUID();
  const token = await es256({ sub, role: 'authenticated', aud: 'authenticated' });
  for (const e of [local, hosted, remoteJwks]) {
    assert.equal(await requireUser(req({ authorization: `Bearer ${token}` }), e), sub);
  }
});

test('requireUser: legacy HS256 tokens verify with the JWT secret, else by the Auth server', async () => {
  const sub = crypto.randomUUID();
  const token = await hs256({ sub, role: 'authenticated' });
  assert.equal(await requireUser(req({ authorization: `Bearer ${token}` }), local), sub);
  // No such user: the Auth server does not vouch for it.
  await refused(requireUser(req({ authorization: `Bearer ${token}` }), hosted), 401, 'invalid_jwt');
  // A real session re-signed the legacy way (a project still on the HS256 secret): without the
  // secret, as hosted functions are, Auth verifies it.
  const signIn = await fetch(`${base.SUPABASE_URL}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: publishable, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'demo@switchboard.local', password: 'switchboard-demo' }),
  });
  assert.equal(signIn.status, 200);
  const session = await signIn.json();
  const { exp: _exp, iat: _iat, ...claims } = decodeJwt(session.access_token);
  const legacy = await hs256(claims);
  assert.equal(await requireUser(req({ authorization: `Bearer ${legacy}` }), hosted), claims.sub);
  // Signed with another secret: Auth refuses it.
  const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m').sign(new TextEncoder().encode('y'.repeat(40)));
  await refused(
    requireUser(req({ authorization: `Bearer ${forged}` }), hosted),
    401,
    'invalid_jwt',
  );
});

test('requireUser: forged, expired, API-key and anon credentials are refused', async () => {
  const other = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const sub = crypto.randomUUID();
  const forged = await es256({ sub, role: 'authenticated' }, other.privateKey);
  await refused(requireUser(req({ authorization: `Bearer ${forged}` }), local), 401, 'invalid_jwt');
  const now = Math.floor(Date.now() / 1000);
  const expired = await es256({ sub, role: 'authenticated' }, undefined, now - 3600);
  await refused(
    requireUser(req({ authorization: `Bearer ${expired}` }), local),
    401,
    'invalid_jwt',
  );
  const oldHs = await hs256({ sub, role: 'authenticated' }, now - 60);
  await refused(requireUser(req({ authorization: `Bearer ${oldHs}` }), local), 401, 'invalid_jwt');
  await refused(
    requireUser(req({ authorization: `Bearer ${publishable}`, apikey: publishable }), local),
    401,
    'invalid_jwt',
  );
  await refused(requireUser(req({ apikey: publishable }), local), 401, 'missing_authorization');
  await refused(
    requireUser(req({ authorization: `Bearer ${base.SUPABASE_ANON_KEY}` }), local),
    401,
    'not_signed_in',
  );
  // A service_role token has no user.
  const service = await hs256({ role: 'service_role' });
  await refused(requireUser(req({ authorization: `Bearer ${service}` }), local), 401);
});
