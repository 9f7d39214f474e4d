// `deno task bench dispatch`: 20,000 queued SMS across 100 tenants drained by the dispatcher
// (functions/dispatch: claim_due_messages, Twilio SDK send to the loopback fake, record_send_result)
// with 0 ms and 50 ms added provider latency; the same workload through pg-boss on the same
// Postgres in the same run as the peer (fetch, the same Twilio SDK call, complete). Reports
// messages/s and queue-to-sent p50/p99, checks nothing was lost or sent twice, and appends the
// figures to bench/RESULTS.md.
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import { createDispatcher } from '../functions/dispatch/handler.ts';
import { parseEnv } from '../functions/_shared/env.ts';
import { twilioClient } from '../functions/_shared/twilio.ts';
import { throwawayCluster } from '../stack/cluster.ts';
import { DEV_CREDENTIALS_KEY } from '../stack/functions.ts';
import { FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN } from '../tests/fakes/twilio.ts';
import { appendResults, pct } from './_results.ts';

const TOTAL = Number(Deno.env.get('BENCH_MESSAGES') ?? 20_000);
const TENANTS = 100;
const CONCURRENCY = Number(Deno.env.get('BENCH_CONCURRENCY') ?? 64);
const LOOPS = Number(Deno.env.get('BENCH_LOOPS') ?? 4);
const BATCH = Number(Deno.env.get('BENCH_BATCH') ?? 500);
const LATENCIES = (Deno.env.get('BENCH_LATENCIES') ?? '0,50').split(',').map(Number);

console.log('preparing a throwaway cluster…');
const db = await throwawayCluster({ seed: false });
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
const lines: string[] = [];

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
  const env = parseEnv({
    SUPABASE_URL: 'http://127.0.0.1:1',
    SUPABASE_ANON_KEY: 'x',
    SUPABASE_SERVICE_ROLE_KEY: 'x',
    SUPABASE_DB_URL: url,
    CREDENTIALS_KEY: DEV_CREDENTIALS_KEY,
    TWILIO_API_URL: fake.url,
    TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: FAKE_AUTH_TOKEN,
    DISPATCH_BATCH: String(BATCH),
    DISPATCH_CONCURRENCY: String(CONCURRENCY),
    DISPATCH_LOOPS: String(LOOPS),
  });
  const tw = twilioClient({ accountSid: FAKE_ACCOUNT_SID, authToken: FAKE_AUTH_TOKEN }, fake.url);

  for (const latency of LATENCIES) {
    await fake.setLatency(latency);

    // --- Switchboard's dispatcher ------------------------------------------------------------
    const before = (await fake.stats()).creates;
    await sql`insert into public.messages (tenant_id, conversation_id, contact_id, direction,
                channel, kind, body, status)
              select cv.tenant_id, cv.id, cv.contact_id, 'outbound', 'sms', 'transactional',
                'Bench message ' || cv.id, 'queued'
                from public.conversations cv
               limit ${TOTAL}`;
    const t0 = performance.now();
    const d = createDispatcher({ env, sql });
    let sent = 0;
    for (;;) {
      // drain() runs DISPATCH_LOOPS rounds side by side, as the deployed function does.
      const s = await d.drain(600_000, BATCH);
      sent += s.sent;
      if (s.claimed === 0) break;
    }
    const secs = (performance.now() - t0) / 1000;
    const [q] = await sql`
      select count(*) filter (where status = 'sent')::int as sent,
             count(*) filter (where status <> 'sent')::int as other,
             count(distinct provider_sid)::int as sids,
             percentile_cont(0.5) within group (order by extract(epoch from sent_at - created_at)) as p50,
             percentile_cont(0.99) within group (order by extract(epoch from sent_at - created_at)) as p99
        from public.messages where body like 'Bench message %'`;
    const posts = (await fake.stats()).creates - before;
    const ours = {
      rate: q.sent / secs,
      p50: q.p50 * 1000,
      p99: q.p99 * 1000,
      lost: TOTAL - q.sent,
      dup: posts - q.sids,
    };
    console.log(
      `dispatcher @${latency} ms: ${JSON.stringify(ours)} (${sent} sent in ${secs.toFixed(1)} s)`,
    );
    await sql`delete from public.messages where body like 'Bench message %'`;

    // --- pg-boss peer: same rows' worth of jobs, same Twilio call ----------------------------
    if (Deno.env.get('BENCH_NO_PEER')) continue;
    const boss = new PgBoss({ connectionString: url, schema: 'pgboss_bench', max: 24 });
    boss.on('error', (e) => console.error('pg-boss:', e.message));
    await boss.start();
    const queue = `sms-${latency}`;
    await boss.createQueue(queue);
    const targets = await sql<{ phone: string; from: string }[]>`
      select c.phone, n.e164 as from from public.contacts c
        join public.phone_numbers n on n.tenant_id = c.tenant_id limit ${TOTAL}`;
    const latencies: number[] = [];
    let done = 0;
    const enqueuedAt = Date.now();
    for (let i = 0; i < targets.length; i += 1000) {
      await boss.insert(
        queue,
        targets.slice(i, i + 1000).map((t) => ({
          name: queue,
          data: { to: t.phone, from: t.from },
        })),
      );
    }
    const b0 = performance.now();
    // The peer drains with pg-boss's own claim (fetch: SKIP LOCKED) and complete, in as many
    // loops of 64 as give the dispatcher's in-flight limit (loops x concurrency), with no
    // polling delay between batches.
    const loops = Math.max(1, Math.round((CONCURRENCY * LOOPS) / 64));
    await Promise.all(Array.from({ length: loops }, async () => {
      for (;;) {
        const jobs = await boss.fetch<{ to: string; from: string }>(queue, { batchSize: 64 });
        if (!jobs.length) break;
        await Promise.all(
          jobs.map((j) =>
            tw.messages.create({ to: j.data.to, from: j.data.from, body: 'Bench message' })
          ),
        );
        await boss.complete(queue, jobs.map((j) => j.id));
        const now = Date.now();
        for (let k = 0; k < jobs.length; k++) latencies.push(now - enqueuedAt);
        done += jobs.length;
      }
    }));
    const bsecs = (performance.now() - b0) / 1000;
    const [{ completed }] = await sql`
      select count(*)::int as completed from pgboss_bench.job
       where name = ${queue} and state = 'completed'`;
    await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    latencies.sort((a, b) => a - b);
    const peer = {
      rate: completed / bsecs,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      lost: targets.length - completed,
      handled: done,
    };
    console.log(`pg-boss    @${latency} ms: ${JSON.stringify(peer)}`);
    lines.push(
      `| ${latency} ms | ${ours.rate.toFixed(0)} msg/s | ${ours.p50.toFixed(0)} / ${
        ours.p99.toFixed(0)
      } ms | ${ours.lost} / ${ours.dup} | ${peer.rate.toFixed(0)} msg/s | ${
        peer.p50.toFixed(0)
      } / ${peer.p99.toFixed(0)} ms | ${(ours.rate / peer.rate).toFixed(2)}× |`,
    );
  }
  if (!Deno.env.get('BENCH_DRY')) {
    await appendResults(`Dispatch: ${TOTAL} SMS across ${TENANTS} tenants (bench/dispatch.ts)`, [
      `Fake Twilio on loopback (its own process), dispatcher ${LOOPS} rounds in flight x ${CONCURRENCY} sends, batch ${BATCH};`,
      `pg-boss 11 (fetch/complete loops, same in-flight limit, no polling gaps) with the same Twilio SDK call. Queue-to-sent latency`,
      `counts from the moment all rows/jobs were enqueued (a drain, so p99 ≈ the drain time).`,
      '',
      '| added latency | dispatcher | p50 / p99 queue→sent | lost / duplicated | pg-boss | pg-boss p50 / p99 | ratio |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...lines,
    ]);
  }
} finally {
  await fake.close();
  await sql.end({ timeout: 2 });
  await db.dispose();
}
