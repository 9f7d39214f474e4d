// GoTrue-compatible auth subset for the local stack (see stack/README.md). Placeholder until the
// implementation lands: answers 503 so clients get a clear error.
import { json, type RouteHandler } from '../gateway.ts';

export interface AuthOptions {
  /** postgres superuser URL of the cluster (auth.users lives there). */
  dbUrl: string;
  jwtSecret: string;
  jwtExpirySeconds: number;
  siteUrl: string;
}

export interface AuthService {
  /** Handles /auth/v1<subpath>. */
  handler: RouteHandler;
  stop(): Promise<void>;
}

export function startAuth(_opts: AuthOptions): Promise<AuthService> {
  return Promise.resolve({
    handler: () =>
      json(503, { code: 503, error_code: 'not_implemented', msg: 'auth is not implemented yet' }),
    stop: () => Promise.resolve(),
  });
}
