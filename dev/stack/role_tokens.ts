// Short-lived role JWTs for requests that carry only an opaque API key (`sb_publishable_…` →
// anon, `sb_secret_…` → service_role): the upstreams (PostgREST, auth, Realtime) authorize by a
// JWT's `role` claim and cannot read opaque keys. The hosted API Gateway "mints a temporary,
// short-lived JWT that is then forwarded down to your project's servers" (supabase/supabase
// apps/docs/content/guides/api/api-keys.mdx); its lifetime is not published, we use 5 minutes for
// HTTP. `supabase start`'s Kong swaps in the long-lived legacy JWTs instead (supabase/cli
// apps/cli-go/internal/start/start.go: BearerToken), which a project that revoked its legacy
// secret could not verify; ours are signed with the signing key (kid in the header).
import { SignJWT } from 'jose';
import { importSigningKey, type SigningJwk } from './keys.ts';

export type KeyRole = 'anon' | 'service_role';

const LIFETIME_SECONDS = 300;
/** A cached token is reused while it has at least this long left. */
const MIN_LEFT_SECONDS = 60;

/** Mints (and caches, while it has a minute left) one token per role. */
export function roleTokens(signingKey: SigningJwk) {
  const key = importSigningKey(signingKey);
  const cache = new Map<KeyRole, { token: string; exp: number }>();
  return async (role: KeyRole): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const hit = cache.get(role);
    if (hit && hit.exp - now >= MIN_LEFT_SECONDS) return hit.token;
    const exp = now + LIFETIME_SECONDS;
    const token = await signRoleToken(await key, signingKey, role, now, exp);
    cache.set(role, { token, exp });
    return token;
  };
}

/** A fresh token per call, living `seconds` (Realtime: one per connection). */
export function roleTokenMinter(signingKey: SigningJwk, seconds: number) {
  const key = importSigningKey(signingKey);
  return async (role: KeyRole): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return await signRoleToken(await key, signingKey, role, now, now + seconds);
  };
}

function signRoleToken(key: CryptoKey, jwk: SigningJwk, role: KeyRole, iat: number, exp: number) {
  return new SignJWT({ iss: 'supabase', role })
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
}
