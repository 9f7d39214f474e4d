// postgres.js clients keyed by URL: functions run SQL (private.* dispatcher functions, which
// PostgREST does not expose) over SUPABASE_DB_URL, with a small pool per process.
import postgres from 'postgres';

export type Sql = postgres.Sql;

const pools = new Map<string, Sql>();

export function db(url: string, max = 10): Sql {
  let sql = pools.get(url);
  if (!sql) {
    sql = postgres(url, {
      max,
      idle_timeout: 20,
      onnotice: () => {},
      // Functions only ever read uuids/text/json; keep jsonb as parsed objects.
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
