// `deno task bench webhook`: signed Twilio inbound webhooks through the whole local stack
// (gateway -> functions server -> twilio-inbound -> record_inbound) at 200 concurrent requests:
// webhooks/s, p50/p99 latency, and a check that no row was lost or duplicated (5% of the
// requests are Twilio-style retries of an earlier MessageSid). Appends to bench/RESULTS.md.
import postgres from 'postgres';
import { signForm } from '../functions/_shared/twilio.ts';
import { throwawayCluster } from '../stack/cluster.ts';
import { startStack } from '../stack/stack.ts';
import { newSid, SIM_ACCOUNT_SID, SIM_AUTH_TOKEN } from '../stack/twilio_simulator.ts';
import { appendResults, pct } from './_results.ts';

const TOTAL = Number(Deno.env.get('BENCH_WEBHOOKS') ?? 10_000);
const CONCURRENCY = 200;
const NUMBERS = 20;

console.log('preparing a throwaway cluster and stack…');
const db = await throwawayCluster({ seed: false });
const stack = await startStack({ cluster: db.cluster, mode: 'test' });
const sql = postgres(db.cluster.url(), { max: 4, onnotice: () => {} });
try {
  const [t] =
    await sql`insert into public.tenants (name, slug) values ('Webhook bench', 'webhook-bench')
                        returning id`;
  const numbers = Array.from({ length: NUMBERS }, (_, i) => `+1415${String(2000000 + i)}`);
  for (const n of numbers) {
    await sql`insert into public.phone_numbers (tenant_id, e164) values (${t.id}, ${n})`;
  }
  const url = `${stack.url}/functions/v1/twilio-inbound`;
  const sids: string[] = [];
  const requests = Array.from({ length: TOTAL }, (_, i) => {
    // Every 20th request repeats an earlier MessageSid, as Twilio's retries do.
    const retry = i > 100 && i % 20 === 0;
    const sid = retry ? sids[Math.floor(Math.random() * sids.length)] : newSid('SM');
    if (!retry) sids.push(sid);
    const params = {
      MessageSid: sid,
      AccountSid: SIM_ACCOUNT_SID,
      From: `+1628${String(1000000 + (i % 5000))}`,
      To: numbers[i % NUMBERS],
      Body: `Bench inbound ${sid}`,
      NumMedia: '0',
    };
    return { params, signature: signForm(SIM_AUTH_TOKEN, url, params) };
  });

  const post = async (r: (typeof requests)[number]) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': r.signature,
      },
      body: new URLSearchParams(r.params),
    });
    await res.body?.cancel();
    return res.status;
  };

  // Warm-up (module loading, connection pools), not measured.
  await Promise.all(requests.slice(0, 50).map(post));

  const latencies: number[] = [];
  let errors = 0;
  let next = 50;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests.length) {
      const r = requests[next++];
      const s = performance.now();
      const status = await post(r);
      latencies.push(performance.now() - s);
      if (status !== 200) errors++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const [{ rows, distinct }] = await sql`
    select count(*)::int as rows, count(distinct provider_sid)::int as distinct
      from public.messages where tenant_id = ${t.id} and direction = 'inbound'`;
  const lost = sids.length - distinct;
  const duplicated = rows - distinct;
  const result = {
    rate: (requests.length - 50) / secs,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    errors,
    lost,
    duplicated,
  };
  console.log(JSON.stringify(result));
  if (!Deno.env.get('BENCH_DRY')) {
    await appendResults(`Inbound webhooks (bench/webhook.ts)`, [
      `${TOTAL} signed Twilio webhooks (5% retries of an earlier MessageSid) through gateway ->`,
      `functions server -> twilio-inbound -> record_inbound, ${CONCURRENCY} concurrent, ${NUMBERS}`,
      `numbers of one tenant. Target p99 < 50 ms, nothing lost or duplicated.`,
      '',
      '| webhooks/s | p50 | p99 | non-200 | lost rows | duplicated rows |',
      '| --- | --- | --- | --- | --- | --- |',
      `| ${result.rate.toFixed(0)} | ${result.p50.toFixed(1)} ms | ${
        result.p99.toFixed(1)
      } ms | ${errors} | ${lost} | ${duplicated} |`,
    ]);
  }
} finally {
  await sql.end({ timeout: 2 });
  await stack.stop();
  await db.dispose();
}
