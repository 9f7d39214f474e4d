// verify_jwt for the local functions server: the one place that decides whether a caller's
// bearer token is accepted before a function with `verify_jwt = true` runs. Today HS256 with the
// stack's SUPABASE_JWT_SECRET (the legacy keys); edge-runtime's main service also accepts
// ES256/RS256 tokens from the project's JWKS (supabase/cli apps/cli-go/internal/functions/serve/
// templates/main.ts verifyHybridJWT). Answers use hosted Supabase's shapes (401 with code/message).
import { jwtVerify } from 'jose';

export type CallerCheck = (req: Request) => Promise<Response | null>;

export function jwtCheck(env: Record<string, string | undefined>): CallerCheck {
  const secret = new TextEncoder().encode(env.SUPABASE_JWT_SECRET ?? '');
  return async (req) => {
    const auth = req.headers.get('authorization');
    if (!auth) {
      return Response.json({ code: 401, message: 'Missing authorization header' }, { status: 401 });
    }
    const m = auth.match(/^Bearer\s+(\S+)$/i);
    try {
      if (!m) throw new Error('not a bearer token');
      await jwtVerify(m[1], secret, { algorithms: ['HS256'] });
      return null;
    } catch {
      return Response.json({ code: 401, message: 'Invalid JWT' }, { status: 401 });
    }
  };
}
