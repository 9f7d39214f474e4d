// Access-token checks with Supabase Realtime's rules and messages
// (RealtimeWeb.ChannelsAuthorization / JwtVerification): HS256 with the stack's secret or ES256 /
// RS256 by the JWKS (Realtime gets the same key set as API_JWT_JWKS from `supabase start`,
// supabase/cli apps/cli-go/internal/start/start.go), `role` and `exp` required, and the same error texts so clients see what hosted
// Realtime would say.
import { decodeJwt, decodeProtectedHeader, errors } from 'jose';
import type { VerifyJwt } from '../verify_jwt.ts';

export type Claims = Record<string, unknown> & { role: string; exp: number; sub?: string };

/** Roles a token may switch to; anything else in `role` is refused rather than `set role`d. */
export const API_ROLES = new Set(['anon', 'authenticated', 'service_role']);

export type TokenResult =
  | { ok: true; claims: Claims }
  | { ok: false; code: string; message: string };

const fail = (code: string, message: string): TokenResult => ({ ok: false, code, message });

export async function verifyToken(token: unknown, verify: VerifyJwt): Promise<TokenResult> {
  if (typeof token !== 'string' || token.length === 0) {
    return fail('MalformedJWT', 'The token provided is not a valid JWT');
  }
  const clean = token.replace(/\s/g, '');
  try {
    decodeProtectedHeader(clean);
    decodeJwt(clean);
  } catch {
    return fail('MalformedJWT', 'The token provided is not a valid JWT');
  }
  let claims: Record<string, unknown>;
  try {
    // exp is checked below so the message can say how long ago it expired, as Realtime does.
    claims = await verify(clean, {
      algorithms: ['HS256', 'HS384', 'HS512', 'ES256', 'RS256'],
      currentDate: new Date(0),
    });
  } catch (e) {
    if (
      e instanceof errors.JWSSignatureVerificationFailed || e instanceof errors.JOSEAlgNotAllowed ||
      e instanceof errors.JWKSNoMatchingKey
    ) {
      return fail('JwtSignatureError', 'Failed to validate JWT signature');
    }
    return fail('MalformedJWT', 'The token provided is not a valid JWT');
  }
  if (typeof claims.role !== 'string' || typeof claims.exp !== 'number') {
    return fail('InvalidJWTToken', 'Fields `role` and `exp` are required in JWT');
  }
  const now = Math.floor(Date.now() / 1000);
  const exp = Math.round(claims.exp);
  if (exp <= now) return fail('InvalidJWTToken', `Token has expired ${now - exp} seconds ago`);
  if (!API_ROLES.has(claims.role)) {
    return fail('Unauthorized', `Role "${claims.role}" is not allowed by the local stack`);
  }
  return { ok: true, claims: { ...claims, exp } as Claims };
}
