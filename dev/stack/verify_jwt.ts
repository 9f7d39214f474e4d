// JWT verification against a JWKS, the way Supabase's services do it during the move to JWT signing
// keys: HS256 (legacy) tokens against the symmetric `oct` key, ES256/RS256 tokens against the
// asymmetric keys by `kid` (supabase/cli apps/cli-go/internal/functions/serve/templates/main.ts:
// verifyHybridJWT; supabase/auth internal/api/auth.go parseJWTClaims). The key set is the one
// `supabase start` hands every verifier (dev/stack/keys.ts verificationJwks). Used by the auth server,
// Realtime and the functions server's verify_jwt; PostgREST verifies with the same set itself.
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyOptions,
} from 'jose';
import type { Jwks } from './keys.ts';

export type VerifyJwt = (token: string, options?: JWTVerifyOptions) => Promise<JWTPayload>;

function fromBase64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(b64 + '='.repeat((4 - b64.length % 4) % 4)), (c) => c.charCodeAt(0));
}

/** Parses SUPABASE_JWKS as @supabase/server accepts it: `{"keys":[...]}` or a bare array. */
export function parseJwks(text: string | undefined): Jwks | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text);
    const keys = Array.isArray(v) ? v : v?.keys;
    return Array.isArray(keys) ? { keys } : null;
  } catch {
    return null;
  }
}

/** A verifier over `jwks`; throws jose's errors (JWSSignatureVerificationFailed, JWTExpired, …). */
export function jwtVerifier(jwks: Jwks): VerifyJwt {
  const oct = jwks.keys.find((k) => k.kty === 'oct' && typeof k.k === 'string');
  const hmac = oct ? fromBase64url(oct.k as string) : null;
  const asymmetric = jwks.keys.filter((k) => k.kty !== 'oct');
  const keySet = createLocalJWKSet({ keys: asymmetric } as JSONWebKeySet);
  return async (token, options = {}) => {
    const { alg } = decodeProtectedHeader(token);
    if (alg?.startsWith('HS')) {
      if (!hmac) throw new errors.JOSEAlgNotAllowed(`no symmetric key for "${alg}"`);
      return (await jwtVerify(token, hmac, { algorithms: ['HS256'], ...options })).payload;
    }
    return (await jwtVerify(token, keySet, { algorithms: ['ES256', 'RS256'], ...options }))
      .payload;
  };
}

/**
 * The functions runtime's verify_jwt: `Authorization: Bearer <JWT>` valid for SUPABASE_JWKS (or,
 * without it, SUPABASE_JWT_SECRET), else 401 before the function runs. API keys are no JWTs and
 * fail it (supabase.com/docs/guides/functions/auth-headers; the CLI's templates/main.ts answers
 * `{msg: "Invalid JWT"}`, we keep the `{code, message}` shape our clients already read).
 */
export function functionsJwtCheck(
  env: Record<string, string | undefined>,
): (req: Request) => Promise<Response | null> {
  const jwks = parseJwks(env.SUPABASE_JWKS) ??
    { keys: [{ kty: 'oct', k: toBase64url(env.SUPABASE_JWT_SECRET ?? '') }] };
  const verify = jwtVerifier(jwks);
  const deny = (message: string) => Response.json({ code: 401, message }, { status: 401 });
  return async (req) => {
    const auth = req.headers.get('authorization');
    if (!auth) return deny('Missing authorization header');
    const m = auth.match(/^Bearer\s+(\S+)$/i);
    if (!m) return deny('Invalid JWT');
    try {
      await verify(m[1]);
      return null;
    } catch {
      return deny('Invalid JWT');
    }
  };
}

function toBase64url(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, '-')
    .replace(/\//g, '_').replace(/=+$/, '');
}
