// `deno task bench webhook`: signed Twilio inbound webhooks through the whole local stack
// (gateway -> functions server -> twilio-inbound -> record_inbound) at 200 concurrent requests:
// webhooks/s, p50/p99 latency, and a check that no row was lost or duplicated (5% of the
// requests are Twilio-style retries of an earlier MessageSid). The load runs in its own process
// (dev/bench/_webhook_load.ts). In the same run, the same load against a server that does nothing but
// answer empty TwiML, directly and behind the gateway's proxy (dev/bench/_twiml_floor.ts): the floor
// this machine puts under any webhook. CPU ms per webhook by process group tells where the time
// goes. Writes its section of dev/bench/RESULTS.md (replacing the previous run).
import postgres from 'postgres';
import { throwawayCluster } from '../stack/cluster.ts';
import { ROOT } from '../stack/database.ts';
import { freePort } from '../stack/ports.ts';
import { logTail } from '../stack/service.ts';
import { startStack } from '../stack/stack.ts';
import { SIM_ACCOUNT_SID, SIM_AUTH_TOKEN } from '../stack/twilio_simulator.ts';
import {
  cpuBetween,
  cpuPer,
  cpuSnapshot,
  type Groups,
  postgresPids,
  withChildren,
} from './_cpu.ts';
import { writeResults } from './_results.ts';
import { resetStatements, statementSettings, topStatements } from './_statements.ts';

const TOTAL = Number(Deno.env.get('BENCH_WEBHOOKS') ?? 10_000);
const CONCURRENCY = Number(Deno.env.get('BENCH_CONCURRENCY') ?? 200);
const WARMUP = 500;
const NUMBERS = 20;

interface LoadResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  firstError: string;
  sids: string[];
  warm: string[];
  cpu: Record<string, number>;
}

/** Runs dev/bench/_webhook_load.ts against `url`, sampling CPU of `groups` around its measured part. */
async function runLoad(url: string, numbers: string[], groups: Groups): Promise<LoadResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', `${ROOT}/dev/bench/_webhook_load.ts`],
    cwd: ROOT,
    env: {
      BENCH_INPUT: JSON.stringify({
        url,
        authToken: SIM_AUTH_TOKEN,
        accountSid: SIM_ACCOUNT_SID,
        numbers,
        total: TOTAL,
        warmup: WARMUP,
        concurrency: CONCURRENCY,
      }),
    },
    stdin: 'null',
    stdout: 'piped',
    stderr: 'inherit',
  }).spawn();
  const all = { ...groups, load: () => [child.pid] };
  let before: Record<string, number> = {};
  let after: Record<string, number> = {};
  let done: Omit<LoadResult, 'cpu'> | undefined;
  let buf = '';
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const msg = JSON.parse(line);
      if (msg.phase === 'start') before = cpuSnapshot(all);
      if (msg.phase === 'done') {
        after = cpuSnapshot(all);
        done = msg;
      }
    }
  }
  if (!(await child.status).success || !done) throw new Error('dev/bench/_webhook_load.ts failed');
  return { ...done, cpu: cpuBetween(before, after) };
}

console.log('preparing a throwaway cluster and stack…');
const db = await throwawayCluster({ seed: false, settings: statementSettings });
const stack = await startStack({ cluster: db.cluster, mode: 'test' });
const sql = postgres(db.cluster.url(), { max: 4, onnotice: () => {} });
const floorPort = freePort();
const proxyPort = freePort();
const floor = new Deno.Command(Deno.execPath(), {
  args: ['run', '-A', `${ROOT}/dev/bench/_twiml_floor.ts`],
  cwd: ROOT,
  env: { FLOOR_PORT: String(floorPort), PROXY_PORT: String(proxyPort) },
  stdin: 'null',
  stdout: 'piped',
  stderr: 'inherit',
}).spawn();
try {
  await floor.stdout.pipeThrough(new TextDecoderStream()).getReader().read(); // "ready"
  const [t] =
    await sql`insert into public.tenants (name, slug) values ('Webhook bench', 'webhook-bench')
                        returning id`;
  const numbers = Array.from({ length: NUMBERS }, (_, i) => `+1415${String(2000000 + i)}`);
  for (const n of numbers) {
    await sql`insert into public.phone_numbers (tenant_id, e164) values (${t.id}, ${n})`;
  }
  const functions = stack.children.find((c) => c.name === 'functions');
  // Realtime's WAL decoding (wal2json in a Postgres backend) is counted apart from the rest of
  // Postgres: it is the price of live inbox updates, paid for every write.
  const capture = (await sql<{ pid: number }[]>`
    select pid from pg_stat_activity where application_name = 'switchboard realtime capture'`)
    .map((r) => r.pid);
  const cluster = postgresPids(db.cluster.dir);
  const groups: Groups = {
    // This process: the gateway, auth and realtime's server.
    stack: () => [Deno.pid],
    functions: functions ? withChildren(functions.pid) : () => [],
    postgres: () => cluster().filter((pid) => !capture.includes(pid)),
    'realtime decoding': () => capture,
  };

  await resetStatements(sql);
  const real = await runLoad(`${stack.url}/functions/v1/twilio-inbound`, numbers, groups);
  await topStatements(sql, 'webhooks, warm-up included');
  const [{ rows, distinct }] = await sql`
    select count(*)::int as rows, count(distinct provider_sid)::int as distinct
      from public.messages
     where tenant_id = ${t.id} and direction = 'inbound' and provider_sid = any(${real.sids})`;
  const expected = new Set(real.sids).size;
  const lost = expected - distinct;
  const duplicated = rows - distinct;
  const floorGroups: Groups = { floor: () => [floor.pid] };
  const direct = await runLoad(
    `http://127.0.0.1:${floorPort}/twilio-inbound`,
    numbers,
    floorGroups,
  );
  const proxied = await runLoad(
    `http://127.0.0.1:${proxyPort}/twilio-inbound`,
    numbers,
    floorGroups,
  );
  const fmt = (r: LoadResult) => ({
    rate: Math.round(r.rate),
    p50: +r.p50.toFixed(1),
    p99: +r.p99.toFixed(1),
    errors: r.errors,
    ...(r.firstError ? { first_error: r.firstError } : {}),
    cpu_ms_per_request: cpuPer(r.cpu, TOTAL),
  });
  console.log('webhooks:', JSON.stringify({ ...fmt(real), lost, duplicated }));
  if (real.firstError && functions) {
    console.log(`functions server log, last lines:\n${await logTail(functions.logFile, 15)}`);
  }
  console.log('floor, empty TwiML:', JSON.stringify(fmt(direct)));
  console.log('floor, empty TwiML behind the proxy:', JSON.stringify(fmt(proxied)));
  console.log(`webhooks/s over the proxy floor's: ${(real.rate / proxied.rate).toFixed(2)}`);
  if (!Deno.env.get('BENCH_DRY')) {
    const row = (name: string, r: LoadResult, extra: string) =>
      `| ${name} | ${r.rate.toFixed(0)} | ${r.p50.toFixed(1)} ms | ${
        r.p99.toFixed(1)
      } ms | ${r.errors} | ${extra} | ${cpuPer(r.cpu, TOTAL)} |`;
    await writeResults('webhook', `Inbound webhooks (dev/bench/webhook.ts)`, [
      `${TOTAL} signed Twilio webhooks (5% retries of an earlier MessageSid), ${CONCURRENCY} in flight from a`,
      `load process of their own, ${NUMBERS} numbers of one tenant. Target p99 < 50 ms, nothing lost or duplicated.`,
      `The floor rows send the same load to a server that only answers empty TwiML, directly and`,
      `behind the gateway's proxy code: what this machine costs before any webhook work.`,
      '',
      '| path | requests/s | p50 | p99 | non-200 | lost / duplicated rows | CPU ms per request |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      row('gateway -> functions -> record_inbound', real, `${lost} / ${duplicated}`),
      row('floor: empty TwiML', direct, '-'),
      row('floor: proxy -> empty TwiML', proxied, '-'),
      '',
      `Webhooks/s as a share of the proxy floor's requests/s in this run: ${
        (real.rate / proxied.rate).toFixed(2)
      } (the machine's speed varies between runs; this ratio much less).`,
    ]);
  }
} finally {
  floor.kill('SIGTERM');
  await floor.status;
  await sql.end({ timeout: 2 });
  await stack.stop();
  await db.dispose();
}
