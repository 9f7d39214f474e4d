// `deno task bench stack`: the local stack's overhead and realtime latency on a throwaway cluster.
// 1. An authenticated 50-row select of messages, through the gateway and straight to PostgREST in
//    the same run (alternating rounds, same concurrency): requests/s, p50/p99 and the throughput
//    ratio (target: the gateway keeps >= 80% of PostgREST's).
// 2. Realtime insert-to-delivery with 50 subscribers (50 members of one tenant, each with their own
//    token, so RLS is checked for 50 claim sets per change): p50/p99 (target p99 < 250 ms).
// Loopback only. Figures are printed and replace its section of dev/bench/RESULTS.md.
import postgres from 'postgres';
import { SignJWT } from 'jose';
import { throwawayCluster } from '../stack/cluster.ts';
import { ROOT } from '../stack/database.ts';
import { startStack } from '../stack/stack.ts';
import { pct, writeResults } from './_results.ts';

const SUBSCRIBERS = 50;

const log = (s: string) => console.log(s);

const db = await throwawayCluster({ seed: false, log });
const stack = await startStack({ cluster: db.cluster, mode: 'test' });
const env = stack.env;
const sql = postgres(env.SUPABASE_DB_URL, { max: 4, onnotice: () => {} });
const secret = new TextEncoder().encode(env.SUPABASE_JWT_SECRET);

async function userToken(userId: string, email: string) {
  return await new SignJWT({ role: 'authenticated', email })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(secret);
}

interface Summary {
  name: string;
  requests: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
}

try {
  // ---- data: one tenant, 51 members, 60 messages --------------------------------------------
  const [tenant] = await sql`insert into public.tenants (name, slug) values ('Bench', 'bench-stack')
    returning id`;
  const members: { id: string; email: string }[] = [];
  for (let i = 0; i <= SUBSCRIBERS; i++) {
    const id = crypto.randomUUID();
    const email = `bench-${i}@example.test`;
    await sql`insert into auth.users (id, aud, role, email, created_at, updated_at)
      values (${id}, 'authenticated', 'authenticated', ${email}, now(), now())`;
    await sql`insert into public.tenant_members (tenant_id, user_id, role)
      values (${tenant.id}, ${id}, ${i === 0 ? 'owner' : 'agent'})`;
    members.push({ id, email });
  }
  const [contact] = await sql`insert into public.contacts (tenant_id, name, phone)
    values (${tenant.id}, 'Bench contact', '+14155550100') returning id`;
  const [conv] = await sql`insert into public.conversations (tenant_id, contact_id, channel)
    values (${tenant.id}, ${contact.id}, 'sms') returning id`;
  const insertMessage = (body: string) =>
    sql`insert into public.messages
      (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
      values (${tenant.id}, ${conv.id}, ${contact.id}, 'inbound', 'sms', 'inbound', ${body}, 'received')`;
  for (let i = 0; i < 60; i++) await insertMessage(`seed message ${i}`);

  // The load and the 50 realtime clients run in their own process, as the browser and the
  // dashboard would: in this process they would compete with the gateway for its event loop.
  const token = await userToken(members[0].id, members[0].email);
  const tokens = await Promise.all(members.slice(1).map((m) => userToken(m.id, m.email)));
  const child = await new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', `${ROOT}/dev/bench/_stack_load.ts`],
    cwd: ROOT,
    env: {
      ...env,
      BENCH_INPUT: JSON.stringify({
        tenantId: tenant.id,
        conversationId: conv.id,
        contactId: contact.id,
        token,
        tokens,
      }),
    },
    stderr: 'inherit',
  }).output();
  if (!child.success) throw new Error('dev/bench/_stack_load.ts failed');
  const out = new TextDecoder().decode(child.stdout).trim().split('\n').pop()!;
  const { g, p, ratio, rt: rtRaw, missing, workers, rounds, roundMs, inserts } = JSON.parse(
    out,
  ) as {
    g: Summary;
    p: Summary;
    ratio: number;
    rt: number[];
    missing: number;
    workers: number;
    rounds: number;
    roundMs: number;
    inserts: number;
  };
  const rt = [...rtRaw].sort((a, b) => a - b);

  // ---- report --------------------------------------------------------------------------------
  const f = (n: number) => n.toFixed(1);
  const lines = [
    '`npx -y deno@2.9.6 task bench stack` — throwaway cluster and stack on loopback; authenticated ' +
    `50-row select of messages (RLS), ${workers} concurrent workers, ${rounds} alternating rounds ` +
    `of ${roundMs / 1000} s per target; load and clients in a separate process.`,
    '',
    '| target | requests | failed | req/s | p50 ms | p99 ms |',
    '|---|---|---|---|---|---|',
    ...[g, p].map((s) =>
      `| ${s.name} | ${s.requests} | ${s.failed} | ${f(s.rps)} | ${f(s.p50)} | ${f(s.p99)} |`
    ),
    '',
    `Gateway keeps ${(ratio * 100).toFixed(1)}% of PostgREST's throughput (target >= 80%: ${
      ratio >= 0.8 ? 'met' : 'MISSED'
    }).`,
    '',
    `Realtime: ${SUBSCRIBERS} subscribers (distinct members, RLS per subscriber) x ${inserts} ` +
    `inserts: ${rt.length} deliveries, ${missing} missing, insert-to-delivery p50 ${
      f(pct(rt, 50))
    } ms, ` +
    `p99 ${f(pct(rt, 99))} ms, max ${f(Math.max(...rt))} ms (target p99 < 250 ms: ${
      pct(rt, 99) < 250 && missing === 0 ? 'met' : 'MISSED'
    }).`,
  ];
  console.log('\n' + lines.join('\n'));
  await writeResults('stack', 'stack (dev/bench/stack.ts)', lines);
} finally {
  await sql.end({ timeout: 2 }).catch(() => {});
  await stack.stop();
  await db.dispose();
}
