// BENCH_STATEMENTS=1: a benchmark's cluster loads pg_stat_statements (nested statements too) and
// prints the statements that took the most Postgres time in each measured part. Off by default:
// tracking costs a little on every statement.
import type postgres from 'postgres';

export const STATEMENTS = !!Deno.env.get('BENCH_STATEMENTS');

/** Settings for throwawayCluster() (undefined when off). */
export const statementSettings = STATEMENTS
  ? { shared_preload_libraries: 'pg_cron,pg_stat_statements', 'pg_stat_statements.track': 'all' }
  : undefined;

export async function resetStatements(sql: postgres.Sql) {
  if (!STATEMENTS) return;
  await sql`create extension if not exists pg_stat_statements schema extensions`;
  await sql`select extensions.pg_stat_statements_reset()`;
}

/** Prints the top statements since the last call (or reset) and resets the counters. */
export async function topStatements(sql: postgres.Sql, label: string) {
  if (!STATEMENTS) return;
  const rows = await sql`
    select round(total_exec_time)::int as ms, calls,
           left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as q
      from extensions.pg_stat_statements order by total_exec_time desc limit 12`;
  console.log(`  top statements (${label}):`);
  for (const r of rows) {
    console.log(`  ${String(r.ms).padStart(7)} ms ${String(r.calls).padStart(7)}x  ${r.q}`);
  }
  await sql`select extensions.pg_stat_statements_reset()`;
}

/** Statements executed so far (pg_stat_statements, top level): round trips between two calls. */
export async function statementCalls(sql: postgres.Sql): Promise<number> {
  await sql`create extension if not exists pg_stat_statements schema extensions`;
  const [r] = await sql<{ n: number }[]>`
    select coalesce(sum(calls), 0)::float8 as n from extensions.pg_stat_statements
     where query not like '%pg_stat_statements%'`;
  return r.n;
}
