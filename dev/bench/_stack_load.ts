// The client side of `deno task bench stack`, in its own process: HTTP load against the gateway
// and straight against PostgREST, then 50 realtime subscribers and paced inserts. Reads the stack
// env and BENCH_INPUT; prints one JSON line of results.
import postgres from 'postgres';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';

const WORKERS = 16;
const ROUND_MS = 3000;
const ROUNDS = 3;
const INSERTS = 100;

const env = Deno.env.toObject();
const input = JSON.parse(env.BENCH_INPUT) as {
  tenantId: string;
  conversationId: string;
  contactId: string;
  token: string;
  tokens: string[];
};
const SUBSCRIBERS = input.tokens.length;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

interface Load {
  ok: number;
  failed: number;
  ms: number;
  latencies: number[];
}

/** WORKERS concurrent loops of fetch for ms milliseconds. */
async function load(url: string, headers: HeadersInit, ms: number): Promise<Load> {
  const latencies: number[] = [];
  let failed = 0;
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const res = await fetch(url, { headers });
        const body = await res.json();
        if (res.ok && Array.isArray(body) && body.length === 50) {
          latencies.push(performance.now() - s);
        } else failed++;
      }
    }),
  );
  return { ok: latencies.length, failed, ms: performance.now() - t0, latencies };
}

const summary = (name: string, ls: Load[]) => {
  const lat = ls.flatMap((l) => l.latencies);
  const ms = ls.reduce((a, l) => a + l.ms, 0);
  return {
    name,
    requests: lat.length,
    failed: ls.reduce((a, l) => a + l.failed, 0),
    rps: lat.length / (ms / 1000),
    p50: pct(lat, 50),
    p99: pct(lat, 99),
  };
};

// ---- 1. gateway vs PostgREST, alternating rounds ------------------------------------------------
const query = `/messages?select=*&tenant_id=eq.${input.tenantId}&order=created_at.desc&limit=50`;
const viaGateway = {
  url: `${env.SUPABASE_URL}/rest/v1${query}`,
  headers: { apikey: env.SUPABASE_ANON_KEY, authorization: `Bearer ${input.token}` },
};
const direct = {
  url: `${env.POSTGREST_URL}${query}`,
  headers: { authorization: `Bearer ${input.token}` },
};
await load(viaGateway.url, viaGateway.headers, 500);
await load(direct.url, direct.headers, 500);
const runs: Record<'gateway' | 'postgrest', Load[]> = { gateway: [], postgrest: [] };
for (let r = 0; r < ROUNDS; r++) {
  runs.gateway.push(await load(viaGateway.url, viaGateway.headers, ROUND_MS));
  runs.postgrest.push(await load(direct.url, direct.headers, ROUND_MS));
}
const g = summary('gateway /rest/v1', runs.gateway);
const p = summary('PostgREST direct', runs.postgrest);

// ---- 2. realtime insert-to-delivery ---------------------------------------------------------------
const sql = postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
const clients: SupabaseClient[] = [];
const sentAt = new Map<string, number>();
const delivered = new Map<string, number[]>();
await Promise.all(input.tokens.map(async (tok, i) => {
  const c = createClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  clients.push(c);
  await c.realtime.setAuth(tok);
  await new Promise<void>((resolve, reject) => {
    c.channel(`bench-${i}`)
      .on('postgres_changes', {
        event: 'INSERT',
        schema: 'public',
        table: 'messages',
        filter: `tenant_id=eq.${input.tenantId}`,
      }, (payload) => {
        const body = (payload.new as { body: string }).body;
        const t = sentAt.get(body);
        if (t !== undefined) delivered.get(body)!.push(performance.now() - t);
      })
      .subscribe((status, err) => {
        if (status === 'SUBSCRIBED') resolve();
        else if (status !== 'CLOSED') reject(err ?? new Error(status));
      });
  });
}));
let missing = 0;
for (let i = 0; i < INSERTS; i++) {
  const body = `realtime bench ${i}`;
  delivered.set(body, []);
  sentAt.set(body, performance.now());
  await sql`insert into public.messages
    (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
    values (${input.tenantId}, ${input.conversationId}, ${input.contactId}, 'inbound', 'sms',
      'inbound', ${body}, 'received')`;
  const deadline = performance.now() + 5000;
  while (delivered.get(body)!.length < SUBSCRIBERS && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
  }
  missing += SUBSCRIBERS - delivered.get(body)!.length;
  // Paced, not back to back: each insert meets an idle poller, as a dashboard's would.
  await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
}
await Promise.all(clients.map((c) => c.removeAllChannels()));
await sql.end({ timeout: 1 });

console.log(JSON.stringify({
  g,
  p,
  ratio: g.rps / p.rps,
  rt: [...delivered.values()].flat(),
  missing,
  workers: WORKERS,
  rounds: ROUNDS,
  roundMs: ROUND_MS,
  inserts: INSERTS,
}));
Deno.exit(0);
