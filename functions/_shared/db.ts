// postgres.js clients keyed by URL: functions run SQL (private.* dispatcher functions, which
// PostgREST does not expose) over SUPABASE_DB_URL, with a small pool per isolate.
//
// Sized for hosted limits: SUPABASE_DB_URL is a direct connection and Nano/Micro instances allow
// 60 of them, shared with PostgREST, auth, realtime and every warm isolate of every function, so
// each isolate keeps at most DB_POOL_MAX (default 3). DB_POOL_URL, when set, is a Supavisor
// pooler URL in transaction mode (port 6543) used instead: it does not keep prepared statements
// across transactions, so postgres.js runs with `prepare: false` there.
// Both variables are documented in supabase/functions/.env.example.
import postgres from 'postgres';

export type Sql = postgres.Sql;

export const DEFAULT_POOL_MAX = 3;
/** The most a single isolate may hold; deploy:check keeps the default well under it. */
export const HOSTED_POOL_CEILING = 10;

export interface PoolConfig {
  url: string;
  max: number;
  prepare: boolean;
}

/** Where and how big the pool is, from SUPABASE_DB_URL and the DB_POOL_* variables. */
export function poolConfig(
  url: string,
  vars: Record<string, string | undefined> = Deno.env.toObject(),
): PoolConfig {
  const raw = vars.DB_POOL_MAX;
  const max = raw ? Number(raw) : DEFAULT_POOL_MAX;
  if (!Number.isInteger(max) || max < 1 || max > HOSTED_POOL_CEILING) {
    throw new Error(`DB_POOL_MAX must be an integer from 1 to ${HOSTED_POOL_CEILING}, got ${raw}`);
  }
  const pooler = vars.DB_POOL_URL;
  return pooler ? { url: pooler, max, prepare: false } : { url, max, prepare: true };
}

const pools = new Map<string, Sql>();

export function db(url: string): Sql {
  let sql = pools.get(url);
  if (!sql) {
    const cfg = poolConfig(url);
    sql = postgres(cfg.url, {
      max: cfg.max,
      prepare: cfg.prepare,
      idle_timeout: 20,
      onnotice: () => {},
      connection: { application_name: 'switchboard-functions' },
    });
    pools.set(url, sql);
  }
  return sql;
}

/** Closes every pool (tests and the functions server on shutdown). */
export async function closeAll() {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((s) => s.end({ timeout: 2 })));
}
