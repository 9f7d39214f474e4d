// The stack's keys, the same fixed development values `supabase start` uses, so keys printed here
// work the same way as a local Supabase's:
// - the legacy JWT secret and the HS256 `anon` / `service_role` API keys signed with it
//   (supabase/cli apps/cli-go/pkg/config/apikeys.go: defaultJwtSecret, generateJWT);
// - the opaque publishable and secret API keys (same file: defaultPublishableKey,
//   defaultSecretKey), which replace the legacy ones;
// - the ES256 signing key user access tokens are signed with (supabase/cli
//   apps/cli-go/pkg/config/config.go: the default `Auth.SigningKeys`), published as a JWKS.
//
// DEVELOPMENT ONLY: every value here is public (it is in the Supabase CLI's source). A hosted
// project has its own keys; nothing outside the local stack and its tests may use these.
import { importJWK, SignJWT } from 'jose';

export const JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
export const JWT_EXPIRY_SECONDS = 3600;
const EXP_2032 = 1983812996;

export const PUBLISHABLE_KEY = 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH';
export const SECRET_KEY = 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz';

/** A private JWK as supabase/auth reads it from GOTRUE_JWT_KEYS (`key_ops` has "sign"). */
export interface SigningJwk {
  kty: 'EC';
  kid: string;
  use: 'sig';
  key_ops: string[];
  alg: 'ES256';
  ext: boolean;
  crv: 'P-256';
  x: string;
  y: string;
  d: string;
}

/** The CLI's default local signing key (dev only; its private part is public). */
export const SIGNING_KEY: SigningJwk = {
  kty: 'EC',
  kid: 'b81269f1-21d8-4f2e-b719-c2240a840d90',
  use: 'sig',
  key_ops: ['sign', 'verify'],
  alg: 'ES256',
  ext: true,
  crv: 'P-256',
  x: 'M5Sjqn5zwC9Kl1zVfUUGvv9boQjCGd45G8sdopBExB4',
  y: 'P6IXMvA2WYXSHSOMTBH2jsw_9rrzGy89FjPf6oOsIxQ',
  d: 'dIhR8wywJlqlua4y_yMq2SLhlFXDZJBCvFrY1DCHyVU',
};

export type Jwk = Record<string, unknown> & { kty: string };
export interface Jwks {
  keys: Jwk[];
}

/** The public half, as the CLI's JWK.ToPublicJWK writes it (only "verify" in key_ops). */
export function publicJwk(k: SigningJwk = SIGNING_KEY): Jwk {
  return {
    kty: k.kty,
    kid: k.kid,
    use: k.use,
    key_ops: k.key_ops.filter((op) => op === 'verify'),
    alg: k.alg,
    ext: k.ext,
    crv: k.crv,
    x: k.x,
    y: k.y,
  };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * What `supabase start` gives PostgREST (PGRST_JWT_SECRET), Realtime and the functions
 * (SUPABASE_JWKS): the public signing keys plus the legacy secret as an `oct` key without kid, so
 * HS256 tokens keep verifying (supabase/cli apps/cli-go/pkg/config/config.go: ResolveJWKS).
 */
export function verificationJwks(secret = JWT_SECRET): Jwks {
  return {
    keys: [publicJwk(), { kty: 'oct', k: base64url(new TextEncoder().encode(secret)) }],
  };
}

/**
 * What the auth server publishes at /auth/v1/.well-known/jwks.json: public keys only, never the
 * symmetric one (supabase/auth internal/api/jwks.go: "don't expose hmac jwk in endpoint").
 */
export function publishedJwks(): Jwks {
  return { keys: [publicJwk()] };
}

/** The private key for signing. WebCrypto refuses "verify" on a private key, so key_ops go. */
export async function importSigningKey(k: SigningJwk = SIGNING_KEY): Promise<CryptoKey> {
  const { key_ops: _ops, ...jwk } = k;
  return await importJWK(jwk, k.alg) as CryptoKey;
}

export function secretKey(secret = JWT_SECRET): Uint8Array {
  return new TextEncoder().encode(secret);
}

async function roleKey(role: 'anon' | 'service_role', secret: string): Promise<string> {
  return await new SignJWT({ iss: 'supabase-demo', role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(EXP_2032)
    .sign(secretKey(secret));
}

export interface ApiKeys {
  jwtSecret: string;
  /** Legacy HS256 API keys. */
  anonKey: string;
  serviceRoleKey: string;
  /** Opaque API keys: publishable acts as `anon`, secret as `service_role`. */
  publishableKey: string;
  secretKey: string;
  signingKey: SigningJwk;
  /** Verification key set (signing key's public half + legacy secret). */
  jwks: Jwks;
}

export async function apiKeys(secret = JWT_SECRET): Promise<ApiKeys> {
  return {
    jwtSecret: secret,
    anonKey: await roleKey('anon', secret),
    serviceRoleKey: await roleKey('service_role', secret),
    publishableKey: PUBLISHABLE_KEY,
    secretKey: SECRET_KEY,
    signingKey: SIGNING_KEY,
    jwks: verificationJwks(secret),
  };
}
