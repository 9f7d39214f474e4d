// The Twilio side of `deno task bench webhook`, in its own process (as Twilio is remote): signs
// BENCH_INPUT.total inbound webhooks (5% repeat an earlier MessageSid, as Twilio's retries do),
// posts them with `concurrency` in flight, and prints one JSON line: rate, latencies and the
// MessageSids it expects to be stored once each. Prints {phase: 'start'} just before the measured
// load so that the parent can sample CPU around it.
import { signForm } from '../../functions/_shared/twilio.ts';
import { newSid } from '../stack/twilio_simulator.ts';
import { pct } from './_results.ts';

const input = JSON.parse(Deno.env.get('BENCH_INPUT')!) as {
  url: string;
  authToken: string;
  accountSid: string;
  numbers: string[];
  total: number;
  warmup: number;
  concurrency: number;
};

function requests(n: number) {
  const sids: string[] = [];
  const sent: { body: string; signature: string }[] = [];
  const list = Array.from({ length: n }, (_, i) => {
    // Every 20th request repeats an earlier one exactly, as Twilio's retries do.
    if (i > 100 && i % 20 === 0) return sent[Math.floor(Math.random() * sent.length)];
    const sid = newSid('SM');
    sids.push(sid);
    const params = {
      MessageSid: sid,
      AccountSid: input.accountSid,
      From: `+1628${String(1000000 + (i % 5000))}`,
      To: input.numbers[i % input.numbers.length],
      Body: `Bench inbound ${sid}`,
      NumMedia: '0',
    };
    const r = {
      body: new URLSearchParams(params).toString(),
      signature: signForm(input.authToken, input.url, params),
    };
    sent.push(r);
    return r;
  });
  return { list, sids };
}

async function post(url: string, r: { body: string; signature: string }) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': r.signature,
    },
    body: r.body,
  });
  const text = await res.text();
  if (res.status !== 200 && !firstError) firstError = `${res.status} ${text.slice(0, 300)}`;
  return res.status;
}

/** The first non-200 answer, to say why in the output. */
let firstError = '';

/** `concurrency` loops, each posting its next request as soon as the last one answered. */
async function load(url: string, list: { body: string; signature: string }[]) {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: input.concurrency }, async () => {
    while (next < list.length) {
      const r = list[next++];
      const s = performance.now();
      const status = await post(url, r);
      latencies.push(performance.now() - s);
      if (status !== 200) errors++;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rate: list.length / secs,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    errors,
    firstError,
  };
}

const warm = requests(input.warmup);
const measured = requests(input.total);
// Warm-up (module loading, connection pools, JIT), not measured; its rows are counted apart.
await load(input.url, warm.list);
console.log(JSON.stringify({ phase: 'start' }));
const result = await load(input.url, measured.list);
console.log(JSON.stringify({ phase: 'done', ...result, sids: measured.sids, warm: warm.sids }));
