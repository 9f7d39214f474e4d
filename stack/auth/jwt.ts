// Access tokens as supabase/auth signs them (internal/tokens/service.go, HS256 with the project's
// JWT secret), and bearer-token parsing with golang-jwt's error texts, which GoTrue returns
// verbatim after "invalid JWT: unable to parse or verify signature, ".
import { errors as joseErrors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
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
  private key: Uint8Array;

  constructor(secret: string, readonly expirySeconds: number) {
    this.key = new TextEncoder().encode(secret);
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
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(this.key);
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
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      return payload as AccessClaims;
    } catch (e) {
      if (e instanceof AuthError) throw e;
      if (e instanceof joseErrors.JWTExpired) {
        throw bad('token has invalid claims: token is expired');
      }
      if (e instanceof joseErrors.JWSSignatureVerificationFailed) {
        throw bad('token signature is invalid: signature is invalid');
      }
      if (e instanceof joseErrors.JOSEAlgNotAllowed) {
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
