// verify_jwt for the local functions server: the one place that decides whether a caller's
// bearer token is accepted before a function with `verify_jwt = true` runs. As edge-runtime's main
// service (supabase/cli apps/cli-go/internal/functions/serve/templates/main.ts verifyHybridJWT):
// legacy HS256 tokens and signing-key (ES256) tokens from the project's JWKS, both through
// dev/stack/verify_jwt.ts. Answers use hosted Supabase's shapes (401 with code/message).
import { functionsJwtCheck } from './verify_jwt.ts';

export type CallerCheck = (req: Request) => Promise<Response | null>;

export function jwtCheck(env: Record<string, string | undefined>): CallerCheck {
  return functionsJwtCheck(env);
}
