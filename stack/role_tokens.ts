// Short-lived role JWTs the gateway puts in `Authorization` when a request carries only an opaque
// API key (`sb_publishable_…` → anon, `sb_secret_…` → service_role): the upstreams (PostgREST,
// auth) authorize by a JWT's `role` claim and cannot read opaque keys. `supabase start`'s Kong does
// the same swap with the long-lived legacy anon/service_role JWTs (supabase/cli
// apps/cli-go/internal/start/start.go: BearerToken); hosted projects can revoke the legacy secret,
// so there the token must come from the current signing key. We sign with the stack's signing key
// (kid in the header) and a short expiry, so nothing downstream depends on the legacy secret.
import { SignJWT } from 'jose';
import { importSigningKey, type SigningJwk } from './keys.ts';

export type KeyRole = 'anon' | 'service_role';

const LIFETIME_SECONDS = 300;
/** A cached token is reused while it has at least this long left. */
const MIN_LEFT_SECONDS = 60;

export function roleTokens(signingKey: SigningJwk) {
  const key = importSigningKey(signingKey);
  const cache = new Map<KeyRole, { token: string; exp: number }>();
  return async (role: KeyRole): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const hit = cache.get(role);
    if (hit && hit.exp - now >= MIN_LEFT_SECONDS) return hit.token;
    const exp = now + LIFETIME_SECONDS;
    const token = await new SignJWT({ iss: 'supabase', role })
      .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(await key);
    cache.set(role, { token, exp });
    return token;
  };
}
