// `deno task bench dispatch`: 20,000 queued SMS across 100 tenants drained through the HTTP path
// a deployed project uses: private.kick_dispatch() -> pg_net (the stack's emulation) -> the
// gateway -> /functions/v1/dispatch (the functions server's dispatch worker -> claim_sends, Twilio
// SDK send to the loopback fake, record_send_results). The first kick fans out to
// BENCH_INVOCATIONS concurrent invocations, each bounded; an invocation whose budget ends with
// work left kicks its successor through pg_net. At 0 ms and 50 ms added provider latency. The same workload
// through pg-boss on the same Postgres in the same run is the peer (fetch, the same Twilio SDK
// call, complete). Reports messages/s, queue-to-sent p50/p99, CPU ms and database round trips
// per message for both, checks nothing was lost or sent twice, and replaces this bench's section
// of dev/bench/RESULTS.md.
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import { twilioClient } from '../../functions/_shared/twilio.ts';
import { throwawayCluster } from '../stack/cluster.ts';
import { FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN } from '../tests/fakes/twilio.ts';
import { cpuPer, measureCpu, postgresPids, withChildren } from './_cpu.ts';
import { pct, writeResults } from './_results.ts';
import { startStack } from '../stack/stack.ts';
import {
  resetStatements,
  statementCalls,
  STATEMENTS,
  statementSettings,
  topStatements,
} from './_statements.ts';

const TOTAL = Number(Deno.env.get('BENCH_MESSAGES') ?? 20_000);
const TENANTS = 100;
const CONCURRENCY = Number(Deno.env.get('BENCH_CONCURRENCY') ?? 64);
// Per invocation: the deployed defaults (DISPATCH_LOOPS 2, DISPATCH_CONCURRENCY 64).
const LOOPS = Number(Deno.env.get('BENCH_LOOPS') ?? 2);
const BATCH = Number(Deno.env.get('BENCH_BATCH') ?? 500);
const LATENCIES = (Deno.env.get('BENCH_LATENCIES') ?? '0,50').split(',').map(Number);
// Repetitions per latency and peer; the median run is reported (single drains vary by ±15%).
const REPS = Number(Deno.env.get('BENCH_REPS') ?? 3);
// Dispatch invocations in flight at once (pg_net fans kicks out to a few).
const INVOCATIONS = Number(Deno.env.get('BENCH_INVOCATIONS') ?? 4);

console.log('preparing a throwaway cluster…');
// pg_stat_statements always: its call counts are the round trips per message of both peers.
const db = await throwawayCluster({
  seed: false,
  settings: STATEMENTS ? statementSettings : {
    shared_preload_libraries: 'pg_cron,pg_stat_statements',
    'pg_stat_statements.track': 'top',
  },
});
const url = db.cluster.url();
const sql = postgres(url, { max: 24, onnotice: () => {} });
// The provider fake runs in its own process, as Twilio would be remote.
const fakeProc = new Deno.Command(Deno.execPath(), {
  args: ['run', '-A', new URL('./_fake_twilio.ts', import.meta.url).pathname],
  stdout: 'piped',
  stderr: 'inherit',
}).spawn();
const fakeUrl = await (async () => {
  const reader = fakeProc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  while (!buf.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error('fake Twilio did not start');
    buf += value;
  }
  reader.releaseLock();
  return buf.split('\n')[0].trim();
})();
const fake = {
  url: fakeUrl,
  setLatency: async (ms: number) =>
    void await (await fetch(`${fakeUrl}/_sim/latency?ms=${ms}`)).body?.cancel(),
  stats: async () =>
    await (await fetch(`${fakeUrl}/_sim/stats`)).json() as { creates: number; messages: number },
  close: async () => {
    fakeProc.kill('SIGTERM');
    await fakeProc.status;
  },
};
const stack = await startStack({
  cluster: db.cluster,
  mode: 'test',
  functionsEnv: {
    TWILIO_API_URL: fake.url,
    TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: FAKE_AUTH_TOKEN,
    DISPATCH_BATCH: String(BATCH),
    DISPATCH_CONCURRENCY: String(CONCURRENCY),
    DISPATCH_LOOPS: String(LOOPS),
  },
});
const functionsPid = stack.children.find((c) => c.name === 'functions')!.pid;
// Interrupted: the stack, the fake and the throwaway cluster go too.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  Deno.addSignalListener(sig, async () => {
    await stack.stop().catch(() => {});
    fakeProc.kill('SIGTERM');
    await db.dispose();
    Deno.exit(130);
  });
}
interface Counts {
  /** Dispatch invocations pg_net made (its net._http_response rows) and those not answered 200. */
  invocations: number;
  failed: number;
}
const lines: string[] = [];
const cpuLines: string[] = [];
// Where the CPU went during each drain: this process (the gateway for ours; the pg-boss client
// with the Twilio SDK for the peer), the functions server (the dispatcher), the cluster's
// Postgres processes, and the provider fake.
// Realtime's WAL decoding (wal2json in a backend of the stack) is counted apart: it decodes the
// WAL of both peers' writes and is not the dispatcher's work.
const cluster = postgresPids(db.cluster.dir);
const capture = async () =>
  (await sql<{ pid: number }[]>`
    select pid from pg_stat_activity where application_name = 'switchboard realtime capture'`)
    .map((r) => r.pid);
let capturePids: number[] = [];
const cpuGroups = {
  bench: () => [Deno.pid],
  functions: withChildren(functionsPid),
  postgres: () => cluster().filter((pid) => !capturePids.includes(pid)),
  'realtime decoding': () => capturePids,
  fake: () => [fakeProc.pid],
};

try {
  // 100 tenants, one number each, TOTAL/100 contacts each, unlimited send rate.
  await sql`
    with t as (
      insert into public.tenants (name, slug, send_rate_per_minute)
      select 'Bench ' || g, 'bench-' || g, 100000 from generate_series(1, ${TENANTS}) g
      returning id, slug
    ), n as (
      insert into public.phone_numbers (tenant_id, e164)
      select id, '+1415' || lpad(split_part(slug, '-', 2), 7, '0') from t returning tenant_id
    )
    insert into public.contacts (tenant_id, name, phone)
    select t.id, 'Contact ' || g, '+1628' || lpad(((row_number() over ()) )::text, 7, '0')
      from t, generate_series(1, ${Math.ceil(TOTAL / TENANTS)}) g`;
  await sql`insert into public.conversations (tenant_id, contact_id, channel)
            select c.tenant_id, c.id, 'sms' from public.contacts c`;
  capturePids = await capture();
  const statusCallback = `${stack.env.SUPABASE_URL}/functions/v1/twilio-status`;
  const tw = twilioClient({ accountSid: FAKE_ACCOUNT_SID, authToken: FAKE_AUTH_TOKEN }, fake.url);
  // pg_net fans the first kick out to INVOCATIONS requests; each invocation whose budget ends with
  // work left kicks one successor ('continue'), so INVOCATIONS stay in flight until the end.
  await sql`insert into private.settings (key, value) values ('dispatch_parallel', ${INVOCATIONS})
            on conflict (key) do update set value = excluded.value`;

  /** The Vault entry the kicks use; removed while rows are queued, so the drain starts at t0. */
  const serviceKey = (await sql<{ value: string }[]>`
    select decrypted_secret as value from vault.decrypted_secrets where name = 'service_key'`)[0]
    .value;
  const pauseKicks = () => sql`delete from vault.secrets where name = 'service_key'`;
  const resumeKicks = () => sql`select vault.create_secret(${serviceKey}, 'service_key')`;

  /**
   * Drives the drain the way a deployed project does: one private.kick_dispatch() (as the insert
   * trigger or the cron minute would) -> pg_net -> gateway -> dispatch, and from then on only the
   * invocations' own continuation kicks. Done when no bench row is queued or sending any more.
   */
  const invoke = async (counts: Counts) => {
    const [{ since }] = await sql`select clock_timestamp() as since`;
    await resumeKicks();
    await sql`select private.kick_dispatch('bench')`;
    const deadline = Date.now() + 600_000;
    for (;;) {
      // Two probes of the partial indexes on queued and sending rows (only bench rows exist
      // here): a count over the table every 50 ms would cost Postgres more than the claims.
      const [{ open }] = await sql`
        select exists (select 1 from public.messages where status = 'queued')
            or exists (select 1 from public.messages where status = 'sending') as open`;
      if (!open) break;
      if (Date.now() > deadline) throw new Error('bench rows still open after 10 min');
      await new Promise((r) => setTimeout(r, 50));
    }
    await pauseKicks();
    // Every invocation has answered once its response row is there (pg_net writes it then).
    for (;;) {
      const [{ pending }] = await sql`select count(*)::int as pending from net.http_request_queue`;
      if (!pending) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const [r] = await sql`
      select count(*)::int as invocations,
             count(*) filter (where status_code is distinct from 200)::int as failed
        from net._http_response where created >= ${since}`;
    counts.invocations += r.invocations;
    counts.failed += r.failed;
  };

  /** Queues `n` SMS and drains them through the gateway; checks the rows and the fake's posts. */
  const runOurs = async (n: number) => {
    const before = (await fake.stats()).creates;
    await pauseKicks();
    await sql`insert into public.messages (tenant_id, conversation_id, contact_id, direction,
                channel, kind, body, status)
              select cv.tenant_id, cv.id, cv.contact_id, 'outbound', 'sms', 'transactional',
                'Bench message ' || cv.id, 'queued'
                from public.conversations cv
               limit ${n}`;
    // As autovacuum would soon after a bulk insert: both peers get fresh statistics.
    await sql`analyze public.messages`;
    const counts: Counts = { invocations: 0, failed: 0 };
    const calls0 = await statementCalls(sql);
    const t0 = performance.now();
    const { cpu } = await measureCpu(cpuGroups, async () => {
      // Invocations side by side, each bounded (DISPATCH_BUDGET_MS / DISPATCH_MAX_MESSAGES).
      await invoke(counts);
    });
    const secs = (performance.now() - t0) / 1000;
    const trips = (await statementCalls(sql)) - calls0;
    // Sends whose answer did not come within TWILIO_TIMEOUT_MS (a loaded machine) stay 'sending'
    // with an unknown outcome, as they should. Settle them the way production does (lease expiry,
    // then a claim that reconciles against Twilio's list), unmeasured, so that lost / duplicated
    // below are checked on every row.
    const [{ unknown }] = await sql`select count(*)::int as unknown from public.messages
                                     where body like 'Bench message %' and status = 'sending'`;
    if (unknown) {
      await sql`update public.messages set lease_until = now() - interval '1 second'
                 where body like 'Bench message %' and status = 'sending'`;
      await sql`select private.expire_leases()`;
      await invoke(counts);
    }
    const [q] = await sql`
      select count(*) filter (where status = 'sent')::int as sent,
             count(distinct provider_sid)::int as sids,
             percentile_cont(0.5) within group (order by extract(epoch from sent_at - created_at)) as p50,
             percentile_cont(0.99) within group (order by extract(epoch from sent_at - created_at)) as p99
        from public.messages where body like 'Bench message %'`;
    const posts = (await fake.stats()).creates - before;
    await sql`delete from public.messages where body like 'Bench message %'`;
    return {
      rate: q.sent / secs,
      p50: q.p50 * 1000,
      p99: q.p99 * 1000,
      lost: n - q.sent,
      dup: posts - q.sids,
      cpu,
      trips: trips / n,
      unknown,
      invocations: counts.invocations,
      failedInvocations: counts.failed,
      // Average CPU of one invocation in the functions process (they share it, as in one isolate).
      cpuPerInvocation: cpu.functions / counts.invocations,
    };
  };

  // --- pg-boss peer: the same number of jobs, the same Twilio call -----------------------------
  // The same messages as the dispatcher's: body 'Bench message <conversation id>', to the
  // contact from the tenant's number, with a StatusCallback carrying an id (as ours has).
  const targets = await sql<{ phone: string; from: string; conversation: string }[]>`
    select c.phone, n.e164 as from, cv.id as conversation from public.contacts c
      join public.phone_numbers n on n.tenant_id = c.tenant_id
      join public.conversations cv on cv.contact_id = c.id limit ${TOTAL}`;
  let queues = 0;

  const runBoss = async (n: number) => {
    // Started for its own drain only: its supervisor's maintenance must not run during ours.
    const boss = new PgBoss({ connectionString: url, schema: 'pgboss_bench', max: 24 });
    let stopped = false;
    // Once stopped, its leftover pool only reports the cluster going away at the end.
    boss.on('error', (e) => stopped || console.error('pg-boss:', e.message));
    await boss.start();
    const queue = `sms-${++queues}`;
    await boss.createQueue(queue);
    const latencies: number[] = [];
    const enqueuedAt = Date.now();
    for (let i = 0; i < n; i += 1000) {
      await boss.insert(
        queue,
        targets.slice(i, Math.min(n, i + 1000)).map((t) => ({
          name: queue,
          data: { to: t.phone, from: t.from, conversation: t.conversation },
        })),
      );
    }
    await sql`analyze pgboss_bench.job`;
    const calls0 = await statementCalls(sql);
    const b0 = performance.now();
    // The peer drains with pg-boss's own claim (fetch: SKIP LOCKED) and complete, in as many
    // loops of 64 as give the dispatcher's in-flight limit (invocations x loops x concurrency), with no
    // polling delay between batches.
    const loops = Math.max(1, Math.round((INVOCATIONS * CONCURRENCY * LOOPS) / 64));
    const { cpu } = await measureCpu(
      cpuGroups,
      () =>
        Promise.all(Array.from({ length: loops }, async () => {
          for (;;) {
            const jobs = await boss.fetch<{ to: string; from: string; conversation: string }>(
              queue,
              { batchSize: 64 },
            );
            if (!jobs.length) break;
            await Promise.all(
              jobs.map((j) =>
                tw.messages.create({
                  to: j.data.to,
                  from: j.data.from,
                  body: `Bench message ${j.data.conversation}`,
                  statusCallback: `${statusCallback}?mid=${j.id}`,
                })
              ),
            );
            await boss.complete(queue, jobs.map((j) => j.id));
            const now = Date.now();
            for (let k = 0; k < jobs.length; k++) latencies.push(now - enqueuedAt);
          }
        })),
    );
    const bsecs = (performance.now() - b0) / 1000;
    const trips = (await statementCalls(sql)) - calls0;
    const [{ completed }] = await sql`
      select count(*)::int as completed from pgboss_bench.job
       where name = ${queue} and state = 'completed'`;
    await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    stopped = true;
    latencies.sort((a, b) => a - b);
    return {
      rate: completed / bsecs,
      trips: trips / n,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      lost: n - completed,
      cpu,
    };
  };

  await resetStatements(sql);
  // Warm-up of both (JIT, pools, plans), not measured.
  await fake.setLatency(0);
  // A quarter of the workload each: the JIT and the plan caches reach their steady state (shorter
  // warm-ups left the dispatcher's first measured drain ~20% slower than its third).
  const warm = Math.max(1000, Math.floor(TOTAL / 4));
  await runOurs(warm);
  if (!Deno.env.get('BENCH_NO_PEER')) await runBoss(warm);
  await topStatements(sql, 'warm-up');

  type Run = Awaited<ReturnType<typeof runOurs>> | Awaited<ReturnType<typeof runBoss>>;
  // The run whose rate is the median of the repetitions (its latencies and CPU go with it).
  const median = <T extends Run>(runs: T[]): T =>
    [...runs].sort((x, y) => x.rate - y.rate)[Math.floor(runs.length / 2)];
  for (const latency of LATENCIES) {
    await fake.setLatency(latency);
    const oursRuns: Awaited<ReturnType<typeof runOurs>>[] = [];
    const peerRuns: Awaited<ReturnType<typeof runBoss>>[] = [];
    // Alternating repetitions: background work (autovacuum, pg_cron) lands on both sides.
    for (let rep = 0; rep < REPS; rep++) {
      const o = await runOurs(TOTAL);
      oursRuns.push(o);
      console.log(`dispatcher @${latency} ms #${rep + 1}: ${JSON.stringify(o)}`);
      await topStatements(sql, `dispatcher @${latency} ms`);
      if (Deno.env.get('BENCH_NO_PEER')) continue;
      const b = await runBoss(TOTAL);
      peerRuns.push(b);
      console.log(`pg-boss    @${latency} ms #${rep + 1}: ${JSON.stringify(b)}`);
      await topStatements(sql, `pg-boss @${latency} ms`);
    }
    if (!peerRuns.length) continue;
    const ours = median(oursRuns);
    const peer = median(peerRuns);
    const lost = oursRuns.reduce((a, r) => a + r.lost, 0);
    const dup = oursRuns.reduce((a, r) => a + r.dup, 0);
    const unknown = oursRuns.reduce((a, r) => a + r.unknown, 0);
    const rates = (rs: Run[]) => rs.map((r) => r.rate.toFixed(0)).join(', ');
    console.log(
      `@${latency} ms median: dispatcher ${ours.rate.toFixed(0)} msg/s, pg-boss ${
        peer.rate.toFixed(0)
      } msg/s, ratio ${(ours.rate / peer.rate).toFixed(2)}`,
    );
    lines.push(
      `| ${latency} ms | ${ours.rate.toFixed(0)} msg/s (${rates(oursRuns)}) | ${
        ours.p50.toFixed(0)
      } / ${ours.p99.toFixed(0)} ms | ${lost} / ${dup}${
        unknown ? ` (${unknown} timed out, reconciled)` : ''
      } | ${peer.rate.toFixed(0)} msg/s (${rates(peerRuns)}) | ${peer.p50.toFixed(0)} / ${
        peer.p99.toFixed(0)
      } ms | ${(ours.rate / peer.rate).toFixed(2)}× |`,
    );
    cpuLines.push(
      `| ${latency} ms | ${cpuPer(ours.cpu, TOTAL)} | ${cpuPer(peer.cpu, TOTAL)} | ${
        ours.trips.toFixed(3)
      } | ${peer.trips.toFixed(3)} | ${ours.invocations} (${ours.failedInvocations} failed), ${
        ours.cpuPerInvocation.toFixed(0)
      } ms |`,
    );
  }
  if (!Deno.env.get('BENCH_DRY')) {
    await writeResults(
      'dispatch',
      `Dispatch: ${TOTAL} SMS across ${TENANTS} tenants (dev/bench/dispatch.ts)`,
      [
        `Through the deployed path: private.kick_dispatch() -> pg_net (stack emulation) -> gateway -> /functions/v1/dispatch;`,
        `the first kick fans out to ${INVOCATIONS} invocations (dispatch_parallel), each one whose budget ends with work left kicks`,
        `one successor ('continue'). One invocation: ${LOOPS} claim loops x ${CONCURRENCY} sends,`,
        `batch ${BATCH}, bounded by DISPATCH_BUDGET_MS / DISPATCH_MAX_MESSAGES (defaults). Fake Twilio on loopback in its own`,
        `process. pg-boss 11 (fetch/complete loops, ${
          INVOCATIONS * LOOPS * CONCURRENCY
        } in flight, no polling gaps) with the same Twilio SDK call`,
        `from the bench process. Queue-to-sent latency counts from the moment all rows/jobs were enqueued (a drain, so`,
        `p99 ≈ the drain time). ${REPS} alternating repetitions per latency: the median run is shown, every run's rate in`,
        `brackets; lost / duplicated sum all runs.`,
        '',
        '| added latency | dispatcher | p50 / p99 queue→sent | lost / duplicated | pg-boss | pg-boss p50 / p99 | ratio |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        ...lines,
        '',
        'CPU ms per message by process (bench = the gateway and pg_net worker for the dispatcher, the pg-boss client with',
        'the Twilio SDK for pg-boss; functions = the functions server and its dispatch worker), database round trips per message',
        "(pg_stat_statements calls, the stack's own background statements included), and the invocations of the",
        'median run with the functions CPU of one invocation (total / invocations; the hosted limit is 2,000 ms):',
        '',
        '| added latency | dispatcher CPU | pg-boss CPU | dispatcher trips | pg-boss trips | invocations, CPU each |',
        '| --- | --- | --- | --- | --- | --- |',
        ...cpuLines,
      ],
    );
  }
} finally {
  await stack.stop();
  await fake.close();
  await sql.end({ timeout: 2 });
  await db.dispose();
}
