// `deno task bench ai`: the AI auto-reply path's own overhead, end to end through the local stack:
// a signed Twilio inbound webhook (gateway -> functions server -> twilio-inbound ->
// record_inbound -> the auto-reply trigger) -> kick_dispatch -> pg_net -> dispatch -> claim ->
// private.auto_reply_context -> the provider SDK against a 0 ms loopback fake (Anthropic, then
// Gemini) -> auto_reply_apply -> the Twilio send, timed when the fake Twilio receives it.
//
// The deliberate debounce (private.settings auto_reply_debounce_ms, default 2000 ms, which lets a
// burst of messages get one reply) is set to 0 for the overhead figures, and measured separately
// on a smaller sample at its default to show what a customer actually waits.
// Target: p99 < 300 ms overhead. Writes its figures to its section of dev/bench/RESULTS.md.
import postgres from 'postgres';
import { signForm } from '../../functions/_shared/twilio.ts';
import { throwawayCluster } from '../stack/cluster.ts';
import { startStack } from '../stack/stack.ts';
import { newSid } from '../stack/twilio_simulator.ts';
import { startFakeAnthropic } from '../tests/fakes/anthropic.ts';
import { startFakeGemini } from '../tests/fakes/gemini.ts';
import { FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, startFakeTwilio } from '../tests/fakes/twilio.ts';
import { pct, writeResults } from './_results.ts';

const CONVERSATIONS = Number(Deno.env.get('BENCH_CONVERSATIONS') ?? 200);
const CONCURRENCY = Number(Deno.env.get('BENCH_CONCURRENCY') ?? 4);
const DEBOUNCE_SAMPLE = Number(Deno.env.get('BENCH_DEBOUNCE_SAMPLE') ?? 20);

console.log('preparing a throwaway cluster, the fakes and the stack…');
const twilio = startFakeTwilio();
const reply = { json: { action: 'reply', text: 'Yes, we are open on Saturday from 9 to 5.' } };
const anthropic = startFakeAnthropic({ record: false, respond: () => reply });
const gemini = startFakeGemini({ record: false, respond: () => reply });
const db = await throwawayCluster({ seed: false });
const stack = await startStack({
  cluster: db.cluster,
  mode: 'test',
  functionsEnv: {
    TWILIO_API_URL: twilio.url,
    TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: FAKE_AUTH_TOKEN,
    TWILIO_PHONE_NUMBER: '+15005550006',
    ANTHROPIC_API_KEY: 'bench-key',
    ANTHROPIC_BASE_URL: anthropic.url,
    GEMINI_API_KEY: 'bench-key',
    GEMINI_BASE_URL: gemini.url,
  },
});
const sql = postgres(db.cluster.url(), { max: 4, onnotice: () => {} });
const webhookUrl = `${stack.url}/functions/v1/twilio-inbound`;
const lines: string[] = [];

interface Run {
  latencies: number[];
  webhook: number[];
  missing: number;
  duplicates: number;
}

let runs = 0;

/** CONVERSATIONS new customers each text once; time webhook -> reply at the fake Twilio. */
async function run(provider: 'anthropic' | 'gemini', n: number, slug: string): Promise<Run> {
  const [t] = await sql`
    insert into public.tenants (name, slug, auto_reply_enabled, auto_reply_provider,
      send_rate_per_minute, auto_reply_cap_per_hour, services)
    values (${`Bench ${slug}`}, ${slug}, true, ${provider}, 100000, 100, 'Haircuts')
    returning id`;
  const number = `+1415${String(3000000 + Math.floor(Math.random() * 999999)).slice(0, 7)}`;
  await sql`insert into public.phone_numbers (tenant_id, e164) values (${t.id}, ${number})`;
  // New customers for every run (the fake Twilio keeps every earlier run's sends).
  const first = 4_000_000 + 10_000 * runs++;
  const customers = Array.from({ length: n }, (_, i) => `+1628${String(first + i)}`);
  const sentAt = new Map<string, number>();
  const webhook: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < customers.length) {
      const from = customers[next++];
      const params = {
        MessageSid: newSid('SM'),
        AccountSid: FAKE_ACCOUNT_SID,
        From: from,
        To: number,
        Body: `Hello, are you open on Saturday? (${from})`,
        NumMedia: '0',
      };
      const t0 = Date.now();
      const p0 = performance.now();
      const res = await fetch(webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signForm(FAKE_AUTH_TOKEN, webhookUrl, params),
        },
        body: new URLSearchParams(params),
      });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      webhook.push(performance.now() - p0);
      sentAt.set(from, t0);
      // Keep CONCURRENCY conversations in flight: wait for this one's reply.
      const deadline = Date.now() + 30_000;
      while (!twilio.creates().some((r) => r.form.To === from) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const latencies: number[] = [];
  let missing = 0;
  let duplicates = 0;
  for (const c of customers) {
    const got = twilio.creates().filter((r) => r.form.To === c);
    if (!got.length) missing++;
    else latencies.push(got[0].at - sentAt.get(c)!);
    duplicates += Math.max(0, got.length - 1);
  }
  latencies.sort((a, b) => a - b);
  webhook.sort((a, b) => a - b);
  return { latencies, webhook, missing, duplicates };
}

const fmt = (r: Run) =>
  `${pct(r.latencies, 50).toFixed(0)} ms | ${pct(r.latencies, 99).toFixed(0)} ms | ${
    pct(r.webhook, 50).toFixed(1)
  } ms | ${r.missing} | ${r.duplicates}`;

try {
  await sql`insert into private.settings (key, value) values ('auto_reply_debounce_ms', '0')
            on conflict (key) do update set value = '0'`;
  // Warm-up: module loading in the functions server, SDK clients, connection pools.
  await run('anthropic', 10, 'ai-bench-warm-a');
  await run('gemini', 10, 'ai-bench-warm-g');
  const a = await run('anthropic', CONVERSATIONS, 'ai-bench-anthropic');
  console.log(
    'anthropic',
    JSON.stringify({
      p50: pct(a.latencies, 50),
      p99: pct(a.latencies, 99),
      missing: a.missing,
      duplicates: a.duplicates,
    }),
  );
  const g = await run('gemini', CONVERSATIONS, 'ai-bench-gemini');
  console.log(
    'gemini',
    JSON.stringify({
      p50: pct(g.latencies, 50),
      p99: pct(g.latencies, 99),
      missing: g.missing,
      duplicates: g.duplicates,
    }),
  );
  await sql`delete from private.settings where key = 'auto_reply_debounce_ms'`;
  const deb = await run('anthropic', DEBOUNCE_SAMPLE, 'ai-bench-debounce');
  console.log(
    'debounce 2000 ms',
    JSON.stringify({ p50: pct(deb.latencies, 50), p99: pct(deb.latencies, 99) }),
  );
  const [calls] = await sql`
    select count(*)::int as n, percentile_disc(0.5) within group (order by latency_ms) as p50
      from public.ai_calls`;

  lines.push(
    `Signed Twilio webhook -> reply's send call at the fake Twilio, through the local stack`,
    `(gateway, functions server, twilio-inbound, record_inbound + auto-reply trigger, pg_net ->`,
    `dispatcher, auto_reply_context, provider SDK -> 0 ms loopback fake, auto_reply_apply, Twilio`,
    `SDK send). ${CONVERSATIONS} new conversations per provider, ${CONCURRENCY} in flight.`,
    `Debounce set to 0 for the overhead rows (private.settings auto_reply_debounce_ms); the last`,
    `row keeps the default 2000 ms debounce (what a customer waits; ${DEBOUNCE_SAMPLE} conversations;`,
    `the local stack's dispatcher runs 500 ms rounds, so a debounced reply waits for its next 3 s tick;`,
    `a dispatch call with a longer budget, as pg_net's kick, waits for the debounce itself).`,
    `Target p99 < 300 ms overhead. Recorded AI calls: ${calls.n}, provider call p50 ${calls.p50} ms.`,
    '',
    '| path | p50 | p99 | webhook p50 | no reply | sent twice |',
    '| --- | --- | --- | --- | --- | --- |',
    `| anthropic (@anthropic-ai/sdk), debounce 0 | ${fmt(a)} |`,
    `| gemini (@google/genai), debounce 0 | ${fmt(g)} |`,
    `| anthropic, default debounce 2000 ms | ${fmt(deb)} |`,
  );
  console.log(lines.join('\n'));
  if (!Deno.env.get('BENCH_DRY')) {
    await writeResults('ai', 'AI auto-replies (dev/bench/ai.ts)', lines);
  }
} finally {
  await sql.end({ timeout: 2 });
  await stack.stop();
  await db.dispose();
  await Promise.all([twilio.close(), anthropic.close(), gemini.close()]);
}
