// pg_cron really runs the project's jobs on the stack's cluster (not only schedules them).
// pg_cron 1.4 schedules by the minute, so this polls for up to 75 s for the first run.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { stackEnv } from './_env.ts';

const env = stackEnv();

Deno.test({
  name: 'pg_cron: the switchboard jobs run and succeed within a minute',
  sanitizeResources: false,
  async fn() {
    const sql = postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
    try {
      const jobs = await sql<{ jobname: string }[]>`
        select jobname from cron.job where jobname like 'switchboard-%' order by jobname`;
      assert.ok(jobs.length >= 4, `switchboard jobs are scheduled: ${jobs.map((j) => j.jobname)}`);
      const deadline = Date.now() + 75_000;
      let runs: { jobname: string; status: string; return_message: string }[] = [];
      while (Date.now() < deadline) {
        runs = await sql`
          select j.jobname, d.status, d.return_message
          from cron.job_run_details d join cron.job j on j.jobid = d.jobid
          where j.jobname like 'switchboard-%' and d.status in ('succeeded', 'failed')`;
        if (runs.length >= jobs.length) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(runs.length > 0, 'no switchboard job has finished a run within 75 s');
      const failed = runs.filter((r) => r.status !== 'succeeded');
      assert.deepEqual(failed, [], 'every finished run succeeded');
    } finally {
      await sql.end();
    }
  },
});
