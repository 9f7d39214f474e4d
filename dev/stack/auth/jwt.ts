// Access tokens as supabase/auth signs them (internal/tokens/service.go): with the signing key
// (the JWK whose key_ops has "sign", its kid in the header; internal/conf/jwk.go GetSigningJwk)
// when one is configured, as `supabase start` configures GoTrue (GOTRUE_JWT_KEYS with the CLI's
// ES256 key), else HS256 with the JWT secret. Bearer tokens of either kind verify (ES256 by kid,
// HS256 with the secret), with golang-jwt's error texts, which GoTrue returns verbatim after
// "invalid JWT: unable to parse or verify signature, ".
import { errors as joseErrors, type JWTPayload, SignJWT } from 'jose';
import {
  importSigningKey,
  type Jwks,
  publicJwk,
  type SigningJwk,
  verificationJwks,
} from '../keys.ts';
import { jwtVerifier, type VerifyJwt } from '../verify_jwt.ts';
import { AuthError, forbidden } from './errors.ts';

export interface AccessClaims extends JWTPayload {
  email?: string;
  phone?: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  role?: string;
  aal?: string;
  amr?: { method: string; timestamp: number }[];
  session_id?: string;
  is_anonymous?: boolean;
}

export interface TokenUser {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  phone: string | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  is_anonymous: boolean;
}

export class Jwt {
  private hmac: Uint8Array;
  private signing: Promise<CryptoKey> | null;
  private verifier: VerifyJwt;

  constructor(
    secret: string,
    readonly expirySeconds: number,
    private signingKey: SigningJwk | null = null,
  ) {
    this.hmac = new TextEncoder().encode(secret);
    this.signing = signingKey ? importSigningKey(signingKey) : null;
    const jwks = verificationJwks(secret);
    if (!signingKey) jwks.keys = jwks.keys.filter((k) => k.kty === 'oct');
    this.verifier = jwtVerifier(jwks);
  }

  /** GET /.well-known/jwks.json: the public signing key, never the symmetric secret. */
  publishedJwks(): Jwks {
    return { keys: this.signingKey ? [publicJwk(this.signingKey)] : [] };
  }

  /** Signs an access token; returns it with its `exp` (seconds since the epoch). */
  async sign(
    user: TokenUser,
    sessionId: string,
    amr: { method: string; timestamp: number }[],
    issuer: string,
  ): Promise<{ token: string; expiresAt: number }> {
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + this.expirySeconds;
    // Field order as GoTrue's AccessTokenClaims struct (registered claims first).
    const claims: AccessClaims = {
      iss: issuer,
      sub: user.id,
      aud: user.aud ?? '',
      exp,
      iat,
      email: user.email ?? '',
      phone: user.phone ?? '',
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: user.role ?? '',
      aal: 'aal1',
      amr,
      session_id: sessionId,
      is_anonymous: user.is_anonymous,
    };
    const jwt = new SignJWT(claims);
    const token = this.signing && this.signingKey
      ? await jwt.setProtectedHeader({
        alg: this.signingKey.alg,
        kid: this.signingKey.kid,
        typ: 'JWT',
      })
        .sign(await this.signing)
      : await jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.hmac);
    return { token, expiresAt: exp };
  }

  /** Verifies a bearer token as GoTrue's parseJWTClaims does; errors are 403 bad_jwt. */
  async verify(token: string): Promise<AccessClaims> {
    const bad = (detail: string) =>
      forbidden('bad_jwt', `invalid JWT: unable to parse or verify signature, ${detail}`);
    if (token.split('.').length !== 3) {
      throw bad('token is malformed: token contains an invalid number of segments');
    }
    try {
      return await this.verifier(token) as AccessClaims;
    } catch (e) {
      if (e instanceof AuthError) throw e;
      if (e instanceof joseErrors.JWTExpired) {
        throw bad('token has invalid claims: token is expired');
      }
      if (e instanceof joseErrors.JWSSignatureVerificationFailed) {
        throw bad('token signature is invalid: signature is invalid');
      }
      if (e instanceof joseErrors.JOSEAlgNotAllowed || e instanceof joseErrors.JWKSNoMatchingKey) {
        throw bad('token is unverifiable: error while executing keyfunc: unrecognized JWT kid');
      }
      if (e instanceof joseErrors.JWTClaimValidationFailed) {
        throw bad(`token has invalid claims: ${e.message}`);
      }
      throw bad(`token is malformed: ${(e as Error).message}`);
    }
  }
}

const BEARER = /^(?:B|b)earer (\S+$)/;

/** The bearer token of a request, or GoTrue's 401 no_authorization. */
export function bearerToken(req: Request): string {
  const m = (req.headers.get('authorization') ?? '').match(BEARER);
  if (!m) {
    throw new AuthError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
  }
  return m[1];
}
