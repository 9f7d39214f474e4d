// What a handler needs from the outside: the parsed environment and a SQL client. Handlers are
// built by `createHandler(deps)` so tests can point them at fakes; the exported `handler` builds
// itself from the process environment on first use.
import { db, type Sql } from './db.ts';
import { type Env, env } from './env.ts';

export interface Deps {
  env: Env;
  sql: Sql;
}

export type Handler = (req: Request) => Promise<Response>;

export function defaultDeps(): Deps {
  const e = env();
  return { env: e, sql: db(e.SUPABASE_DB_URL) };
}

export function lazyHandler(make: (deps: Deps) => Handler): Handler {
  let h: Handler | undefined;
  return (req) => (h ??= make(defaultDeps()))(req);
}
