// Caller identity inside functions, verified with @supabase/server (npm, its core primitive
// `verifyCredentials`): secret keys by timing-safe comparison against SUPABASE_SECRET_KEYS, user
// JWTs against the project's JWKS (SUPABASE_JWKS, else `<SUPABASE_URL>/auth/v1/.well-known/
// jwks.json`), signing-key tokens by kid.
//
// @supabase/server rejects the legacy credentials on purpose (its docs/auth-modes.md, "Legacy
// keys and JWTs are not supported": no `eyJ…` API keys, no HS256 tokens without kid). Until they
// are retired we still accept them, as the platform's verify_jwt does
// (supabase.com/docs/guides/functions/auth-headers): the legacy service_role key, compared with
// SUPABASE_SERVICE_ROLE_KEY, and legacy HS256 JWTs, verified with SUPABASE_JWT_SECRET where it is
// set (the local stack) and by the project's Auth server where it is not (hosted functions get no
// secret: supabase/cli serve.go passes it only as SUPABASE_INTERNAL_JWT_SECRET, which main.ts
// strips before a function runs).
import type { SupabaseEnv } from '@supabase/server';
import { verifyCredentials } from '@supabase/server/core';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import type { Env } from './env.ts';
import { HttpError } from './http.ts';

export interface Claims {
  sub?: string;
  role?: string;
}

function keyMap(json: string | undefined): Record<string, string> {
  try {
    const v = json ? JSON.parse(json) : {};
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

function jwksOf(env: Env): JSONWebKeySet | URL {
  try {
    const v = env.SUPABASE_JWKS ? JSON.parse(env.SUPABASE_JWKS) : null;
    if (Array.isArray(v)) return { keys: v };
    if (Array.isArray(v?.keys)) return v;
  } catch {
    // malformed: fall back to the project's endpoint, as @supabase/server does for none
  }
  return new URL(`${env.SUPABASE_URL.replace(/\/+$/, '')}/auth/v1/.well-known/jwks.json`);
}

/** The function's Env as @supabase/server's SupabaseEnv (never read from Deno.env here). */
function serverEnv(env: Env): SupabaseEnv {
  return {
    url: env.SUPABASE_URL,
    publishableKeys: keyMap(env.SUPABASE_PUBLISHABLE_KEYS),
    secretKeys: keyMap(env.SUPABASE_SECRET_KEYS),
    jwks: jwksOf(env),
  };
}

function bearer(req: Request): string | null {
  const m = (req.headers.get('authorization') ?? '').match(/^Bearer\s+(\S+)$/i);
  return m ? m[1] : null;
}

const invalidJwt = (why?: string) =>
  new HttpError(401, 'invalid_jwt', why ? `invalid JWT: ${why}` : 'invalid JWT');

/**
 * Without the JWT secret (hosted functions never get it) a legacy HS256 session is checked by the
 * project's Auth server, as supabase-js' `auth.getUser(jwt)` does: GoTrue verifies the signature
 * and the session and answers the user. Only a 200 for the token's own subject counts.
 */
async function claimsFromAuth(token: string, env: Env): Promise<Claims> {
  const apikey = keyMap(env.SUPABASE_PUBLISHABLE_KEYS).default ?? env.SUPABASE_ANON_KEY;
  let res: Response;
  try {
    res = await fetch(`${env.SUPABASE_URL.replace(/\/+$/, '')}/auth/v1/user`, {
      headers: { apikey, authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
  } catch {
    throw new HttpError(503, 'auth_unreachable', 'the Auth server could not verify the session');
  }
  const user = await res.json().catch(() => null) as { id?: string } | null;
  const claims = decodeJwt(token) as Claims;
  if (res.status !== 200 || !user?.id || user.id !== claims.sub) throw invalidJwt();
  return claims;
}

/** A legacy HS256 token (no kid): the JWT secret where the runtime provides it, else Auth. */
async function legacyClaims(token: string, env: Env): Promise<Claims> {
  if (!env.SUPABASE_JWT_SECRET) {
    // A role key (no subject) can only be recognised by value (requireServiceRole).
    let sub: unknown;
    try {
      sub = decodeJwt(token).sub;
    } catch {
      throw invalidJwt();
    }
    if (!sub) throw invalidJwt('a legacy role token is accepted only by its value');
    return await claimsFromAuth(token, env);
  }
  try {
    const key = new TextEncoder().encode(env.SUPABASE_JWT_SECRET);
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
    return payload as Claims;
  } catch {
    throw invalidJwt();
  }
}

/** The verified claims of the bearer JWT (a user's session, or a legacy role key). */
export async function callerClaims(req: Request, env: Env): Promise<Claims> {
  const token = bearer(req);
  if (!token) {
    throw new HttpError(401, 'missing_authorization', 'Authorization: Bearer <jwt> required');
  }
  if (token.startsWith('sb_')) throw invalidJwt('API keys belong in the apikey header');
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw invalidJwt();
  }
  if (header.alg === 'HS256' && !header.kid) return await legacyClaims(token, env);
  const { data, error } = await verifyCredentials({ token, apikey: null }, {
    auth: 'user',
    env: serverEnv(env),
  });
  if (error) throw invalidJwt(error.message);
  return data.jwtClaims as Claims;
}

async function timingSafeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.digest('SHA-256', enc.encode(a)),
    crypto.subtle.digest('SHA-256', enc.encode(b)),
  ]);
  const u = new Uint8Array(x);
  const v = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < u.length; i++) diff |= u[i] ^ v[i];
  return diff === 0;
}

/**
 * Service callers (pg_net from SQL, other servers): a secret key in `apikey` (or, as pg_net
 * callers often send it, as the bearer), the legacy service_role key, or a JWT with role
 * service_role.
 */
export async function requireServiceRole(req: Request, env: Env): Promise<void> {
  const token = bearer(req);
  const apikey = req.headers.get('apikey');
  for (const key of new Set([apikey, token?.startsWith('sb_') ? token : null])) {
    if (!key) continue;
    const { data } = await verifyCredentials({ token: null, apikey: key }, {
      auth: 'secret:*',
      env: serverEnv(env),
    });
    if (data) return;
  }
  if (!token) {
    throw new HttpError(
      401,
      'missing_authorization',
      'a secret key or service_role JWT is required',
    );
  }
  if (await timingSafeEqual(token, env.SUPABASE_SERVICE_ROLE_KEY)) return;
  if (token.startsWith('sb_')) throw new HttpError(401, 'invalid_api_key', 'unknown API key');
  const c = await callerClaims(req, env);
  if (c.role !== 'service_role') {
    throw new HttpError(403, 'forbidden', 'service role only');
  }
}

/** A signed-in user's id, from a session JWT (ES256 by the JWKS, or legacy HS256). */
export async function requireUser(req: Request, env: Env): Promise<string> {
  const c = await callerClaims(req, env);
  if (c.role !== 'authenticated' || !c.sub) {
    throw new HttpError(401, 'not_signed_in', 'a signed-in user is required');
  }
  return c.sub;
}
