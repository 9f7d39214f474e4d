// Caller identity inside functions. The runtime (Supabase's edge runtime, or our functions server)
// has already verified the JWT when verify_jwt = true; we verify again when the secret is at hand
// and read the claims.
import { decodeJwt, jwtVerify } from 'jose';
import type { Env } from './env.ts';
import { HttpError } from './http.ts';

export interface Claims {
  sub?: string;
  role?: string;
}

export async function callerClaims(req: Request, env: Env): Promise<Claims> {
  const m = (req.headers.get('authorization') ?? '').match(/^Bearer\s+(.+)$/i);
  if (!m) throw new HttpError(401, 'missing_authorization', 'Authorization: Bearer <jwt> required');
  try {
    if (env.SUPABASE_JWT_SECRET) {
      const { payload } = await jwtVerify(
        m[1],
        new TextEncoder().encode(env.SUPABASE_JWT_SECRET),
        { algorithms: ['HS256'] },
      );
      return payload as Claims;
    }
    return decodeJwt(m[1]) as Claims;
  } catch {
    throw new HttpError(401, 'invalid_jwt', 'invalid JWT');
  }
}

export async function requireServiceRole(req: Request, env: Env): Promise<void> {
  const c = await callerClaims(req, env);
  if (c.role !== 'service_role') {
    throw new HttpError(403, 'forbidden', 'service role only');
  }
}

export async function requireUser(req: Request, env: Env): Promise<string> {
  const c = await callerClaims(req, env);
  if (c.role !== 'authenticated' || !c.sub) {
    throw new HttpError(401, 'not_signed_in', 'a signed-in user is required');
  }
  return c.sub;
}
