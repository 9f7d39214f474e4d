// Realtime postgres_changes through the real @supabase/supabase-js against the local stack: RLS per
// subscriber (a member sees their tenant's rows, another tenant's member and an anonymous socket see
// nothing), filters, UPDATE/DELETE, token refresh and expiry, both serializer versions, and garbage
// frames. "Receives nothing" is proven by ordering: each socket later receives a row it may see,
// and changes reach a socket in commit order, so the earlier row was withheld, not late.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { SignJWT } from 'jose';
import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import { stackEnv } from './_env.ts';

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const db = postgres(env.SUPABASE_DB_URL, { max: 2, onnotice: () => {} });
const secret = new TextEncoder().encode(env.SUPABASE_JWT_SECRET);
const wsUrl = `${env.SUPABASE_URL.replace(/^http/, 'ws')}/realtime/v1/websocket`;
const opts = { auth: { persistSession: false, autoRefreshToken: false } };
const T = { sanitizeOps: false, sanitizeResources: false };

interface Member {
  userId: string;
  email: string;
  tenantId: string;
  contactId: string;
  conversationId: string;
}

async function token(m: Member | null, expiresIn = 3600): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  if (!m) return env.SUPABASE_ANON_KEY;
  return await new SignJWT({
    role: 'authenticated',
    email: m.email,
    session_id: crypto.randomUUID(),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(m.userId)
    .setAudience('authenticated')
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn)
    .sign(secret);
}

async function member(label: string): Promise<Member> {
  const userId = crypto.randomUUID();
  const email = `rt-${label}-${run}@example.test`;
  await db`insert into auth.users (id, aud, role, email, created_at, updated_at)
    values (${userId}, 'authenticated', 'authenticated', ${email}, now(), now())`;
  const [t] = await db`insert into public.tenants (name, slug) values (${`RT ${label} ${run}`},
    ${`rt-${label}-${run}`}) returning id`;
  await db`insert into public.tenant_members (tenant_id, user_id, role) values (${t.id}, ${userId}, 'owner')`;
  const ids = await conversation(
    t.id,
    '+1415555' + String(Math.floor(Math.random() * 9000) + 1000),
  );
  return { userId, email, tenantId: t.id, ...ids };
}

async function conversation(tenantId: string, phone: string) {
  const [c] = await db`insert into public.contacts (tenant_id, name, phone)
    values (${tenantId}, 'Realtime contact', ${phone}) returning id`;
  const [v] = await db`insert into public.conversations (tenant_id, contact_id, channel)
    values (${tenantId}, ${c.id}, 'sms') returning id`;
  return { contactId: c.id as string, conversationId: v.id as string };
}

async function insertMessage(
  m: { tenantId: string; contactId: string; conversationId: string },
  body: string,
): Promise<string> {
  const [row] = await db`insert into public.messages
    (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
    values (${m.tenantId}, ${m.conversationId}, ${m.contactId}, 'inbound', 'sms', 'inbound', ${body}, 'received')
    returning id`;
  return row.id;
}

async function client(m: Member | null, vsn?: '1.0.0' | '2.0.0'): Promise<SupabaseClient> {
  const c = createClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, {
    ...opts,
    realtime: vsn ? { vsn } : {},
  });
  if (m) await c.realtime.setAuth(await token(m));
  return c;
}

// deno-lint-ignore no-explicit-any
type Change = { eventType: string; new: any; old: any; table: string; commit_timestamp: string };

interface Sub {
  channel: RealtimeChannel;
  events: Change[];
  system: { status: string; message: string; extension: string }[];
  statuses: string[];
}

/** Subscribes and resolves once the server confirmed the join (SUBSCRIBED). */
async function subscribe(
  c: SupabaseClient,
  filters: { event?: '*' | 'INSERT' | 'UPDATE' | 'DELETE'; table: string; filter?: string }[],
): Promise<Sub> {
  const sub: Sub = {
    channel: c.channel(`rt-${crypto.randomUUID()}`),
    events: [],
    system: [],
    statuses: [],
  };
  for (const f of filters) {
    sub.channel.on(
      'postgres_changes',
      { event: f.event ?? '*', schema: 'public', table: f.table, filter: f.filter },
      (p: Change) => sub.events.push(p),
    );
  }
  sub.channel.on('system', {}, (p) => sub.system.push(p));
  await new Promise<void>((resolve, reject) => {
    sub.channel.subscribe((status, err) => {
      sub.statuses.push(status);
      if (status === 'SUBSCRIBED') resolve();
      else if (status !== 'CLOSED') reject(err ?? new Error(status));
    });
  });
  return sub;
}

async function waitFor<X>(what: string, f: () => X | undefined | false, ms = 3000): Promise<X> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

const bodies = (s: Sub) => s.events.map((e) => e.new?.body ?? `${e.eventType}:${e.old?.id}`);

const alpha = await member('alpha');
const bravo = await member('bravo');
const alpha2 = await conversation(
  alpha.tenantId,
  '+14155559' + run.replace(/\D/g, '0').slice(0, 3),
);

Deno.test(
  'realtime: a member receives their tenant INSERT within 1 s, typed as Supabase sends it',
  T,
  async () => {
    const c = await client(alpha);
    try {
      const sub = await subscribe(c, [{ event: 'INSERT', table: 'messages' }]);
      await waitFor('system subscribed', () => sub.system.find((s) => s.status === 'ok'));
      const t0 = performance.now();
      const id = await insertMessage(alpha, `hello ${run}`);
      const got = await waitFor('the insert', () => sub.events.find((e) => e.new.id === id), 1000);
      assert.ok(performance.now() - t0 < 1000);
      assert.equal(got.eventType, 'INSERT');
      assert.equal(got.table, 'messages');
      assert.equal(got.new.body, `hello ${run}`);
      assert.equal(got.new.tenant_id, alpha.tenantId);
      assert.equal(got.new.attempts, 0); // int4 -> number
      assert.deepEqual(got.new.media, []); // jsonb -> JSON
      assert.match(got.new.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      assert.match(got.commit_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(got.old, {});
      assert.deepEqual(sub.system[0], {
        extension: 'postgres_changes',
        status: 'ok',
        message: 'Subscribed to PostgreSQL',
        channel: sub.channel.subTopic,
      });
    } finally {
      await c.removeAllChannels();
    }
  },
);

Deno.test('realtime: another tenant and an anonymous socket receive nothing of it', T, async () => {
  const b = await client(bravo);
  const anon = await client(null);
  const probe = `rt_probe_${run}`;
  await db.unsafe(`create table public.${probe} (id bigint primary key, visible boolean not null);
    alter table public.${probe} enable row level security;
    grant select on public.${probe} to anon, authenticated;
    create policy "Anyone can read visible probe rows" on public.${probe} for select to anon, authenticated using (visible);
    alter table public.${probe} replica identity full;
    alter publication supabase_realtime add table public.${probe};`);
  try {
    // No tenant filter: only RLS stands between bravo/anon and alpha's rows.
    const bs = await subscribe(b, [{ table: 'messages' }]);
    const as = await subscribe(anon, [{ table: 'messages' }, { table: probe }]);
    const secret = await insertMessage(alpha, `alpha only ${run}`);
    await db.unsafe(`insert into public.${probe} values (1, false)`);
    const mine = await insertMessage(bravo, `bravo sees ${run}`);
    await db.unsafe(`insert into public.${probe} values (2, true)`);
    await waitFor('bravo own row', () => bs.events.some((e) => e.new.id === mine));
    await waitFor('anon visible probe row', () => as.events.some((e) => e.new.id === 2));
    assert.deepEqual(bodies(bs), [`bravo sees ${run}`]);
    assert.ok(!bs.events.some((e) => e.new.id === secret));
    assert.deepEqual(as.events.map((e) => [e.table, e.new.id]), [[probe, 2]]);
  } finally {
    await b.removeAllChannels();
    await anon.removeAllChannels();
    await db.unsafe(`drop table if exists public.${probe}`);
  }
});

Deno.test('realtime: eq filter is applied by the server', T, async () => {
  const c = await client(alpha);
  try {
    const sub = await subscribe(c, [{
      event: 'INSERT',
      table: 'messages',
      filter: `conversation_id=eq.${alpha.conversationId}`,
    }]);
    const other = await insertMessage({ ...alpha, ...alpha2 }, `other conversation ${run}`);
    const wanted = await insertMessage(alpha, `this conversation ${run}`);
    await waitFor('the filtered insert', () => sub.events.some((e) => e.new.id === wanted));
    assert.deepEqual(bodies(sub), [`this conversation ${run}`]);
    assert.ok(!sub.events.some((e) => e.new.id === other));
  } finally {
    await c.removeAllChannels();
  }
});

Deno.test('realtime: in, not. and comma-combined filters', T, async () => {
  const c = await client(alpha);
  try {
    const [a, b, x] = ['a', 'b', 'x'].map((k) => `${k}-${run}`);
    const sub = await subscribe(c, [{
      event: 'INSERT',
      table: 'messages',
      filter: `body=in.(${a},${b}),body=not.eq.${b}`,
    }]);
    for (const body of [x, b, a]) await insertMessage(alpha, body);
    await waitFor('the matching insert', () => sub.events.some((e) => e.new.body === a));
    assert.deepEqual(bodies(sub), [a]);
  } finally {
    await c.removeAllChannels();
  }
});

Deno.test('realtime: UPDATE and DELETE events, deletes carry only the primary key', T, async () => {
  const c = await client(alpha);
  const b = await client(bravo);
  try {
    const sub = await subscribe(c, [{
      table: 'messages',
      filter: `tenant_id=eq.${alpha.tenantId}`,
    }]);
    const bs = await subscribe(b, [{ event: 'DELETE', table: 'messages' }, {
      event: 'INSERT',
      table: 'messages',
    }]);
    const id = await insertMessage(alpha, `before ${run}`);
    await db`update public.messages set body = ${`after ${run}`} where id = ${id}`;
    await db`delete from public.messages where id = ${id}`;
    const marker = await insertMessage(bravo, `bravo marker ${run}`);
    const del = await waitFor('the delete', () => sub.events.find((e) => e.eventType === 'DELETE'));
    const types = sub.events.filter((e) => (e.new?.id ?? e.old?.id) === id).map((e) => e.eventType);
    assert.deepEqual(types, ['INSERT', 'UPDATE', 'DELETE']);
    const upd = sub.events.find((e) => e.eventType === 'UPDATE')!;
    assert.equal(upd.new.body, `after ${run}`);
    assert.equal(upd.old.body, `before ${run}`);
    assert.deepEqual(del.old, { id });
    assert.deepEqual(del.new, {});
    // bravo, subscribed to every DELETE on messages, did not get alpha's.
    await waitFor('bravo marker', () => bs.events.some((e) => e.new?.id === marker));
    assert.deepEqual(bs.events.map((e) => e.eventType), ['INSERT']);
  } finally {
    await c.removeAllChannels();
    await b.removeAllChannels();
  }
});

Deno.test(
  'realtime: setAuth with a fresh token keeps the subscription; an expired one closes it',
  T,
  async () => {
    const c = await client(alpha);
    try {
      const sub = await subscribe(c, [{
        event: 'INSERT',
        table: 'messages',
        filter: `tenant_id=eq.${alpha.tenantId}`,
      }]);
      await c.realtime.setAuth(await token(alpha, 7200));
      const id = await insertMessage(alpha, `after refresh ${run}`);
      await waitFor('insert after refresh', () => sub.events.some((e) => e.new.id === id));
      await c.realtime.setAuth(await token(alpha, -5));
      const err = await waitFor('system error', () => sub.system.find((s) => s.status === 'error'));
      assert.equal(err.extension, 'system');
      assert.match(err.message, /^Token has expired \d+ seconds ago$/);
      await waitFor('channel closed', () => sub.statuses.includes('CLOSED'));
    } finally {
      await c.removeAllChannels();
    }
  },
);

Deno.test('realtime: joining with an expired or forged token is refused', T, async () => {
  for (
    const [tok, reason] of [
      [await token(alpha, -10), /^InvalidJWTToken: Token has expired \d+ seconds ago$/],
      [(await token(alpha)).slice(0, -4) + 'AAAA', /^JwtSignatureError: /],
      ['not-a-jwt', /^MalformedJWT: /],
    ] as const
  ) {
    const c = createClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, opts);
    await c.realtime.setAuth(tok);
    const ch = c.channel(`rt-bad-${crypto.randomUUID()}`)
      .on('postgres_changes', { event: '*', schema: 'public', table: 'messages' }, () => {});
    const err = await new Promise<Error | undefined>((resolve) =>
      ch.subscribe((status, e) => status === 'CHANNEL_ERROR' && resolve(e))
    );
    assert.match(err?.message ?? '', reason);
    await c.removeAllChannels();
  }
});

Deno.test('realtime: vsn 1.0.0 clients are served too', T, async () => {
  const c = await client(alpha, '1.0.0');
  try {
    assert.match(c.realtime.endpointURL(), /vsn=1\.0\.0/);
    const sub = await subscribe(c, [{ event: 'INSERT', table: 'messages' }]);
    const id = await insertMessage(alpha, `v1 ${run}`);
    await waitFor('v1 insert', () => sub.events.some((e) => e.new.id === id));
  } finally {
    await c.removeAllChannels();
  }
});

function rawSocket(): Promise<{ ws: WebSocket; frames: unknown[][]; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(`${wsUrl}?apikey=${env.SUPABASE_ANON_KEY}&vsn=2.0.0`);
  const frames: unknown[][] = [];
  const closed = new Promise<CloseEvent>((r) => ws.addEventListener('close', r));
  ws.addEventListener('message', (e) => frames.push(JSON.parse(e.data)));
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve({ ws, frames, closed }));
    ws.addEventListener('error', () => reject(new Error('websocket failed')));
  });
}

Deno.test(
  'realtime: garbage frames get errors or a close, and everyone else keeps being served',
  T,
  async () => {
    const c = await client(alpha);
    try {
      const sub = await subscribe(c, [{ event: 'INSERT', table: 'messages' }]);
      const s = await rawSocket();
      s.ws.send(JSON.stringify([null, '1', 'phoenix', 'heartbeat', {}]));
      s.ws.send(JSON.stringify([null, '2', 'elsewhere', 'phx_join', {}]));
      s.ws.send(JSON.stringify(['3', '3', 'realtime:', 'phx_join', {}]));
      s.ws.send(JSON.stringify([null, '4', 'realtime:never-joined', 'access_token', {}]));
      s.ws.send(JSON.stringify(['5', '5', 'realtime:bad', 'phx_join', {
        config: {
          postgres_changes: [{
            event: '*',
            schema: 'public',
            table: 'messages',
            filter: 'body=foo.x',
          }],
        },
      }]));
      s.ws.send(JSON.stringify(['6', '6', 'realtime:bad2', 'phx_join', {
        access_token: 'nope',
        config: { postgres_changes: [] },
      }]));
      const reply = (ref: string) =>
        waitFor(
          `reply ${ref}`,
          () => s.frames.find((f) => f[1] === ref && f[3] === 'phx_reply'),
        ) as Promise<
          [string, string, string, string, { status: string; response: { reason?: string } }]
        >;
      assert.deepEqual((await reply('1'))[4], { status: 'ok', response: {} });
      assert.deepEqual((await reply('2'))[4], {
        status: 'error',
        response: { reason: 'unmatched topic' },
      });
      assert.match((await reply('3'))[4].response.reason!, /^TopicNameRequired/);
      assert.equal((await reply('4'))[4].status, 'error');
      assert.equal((await reply('5'))[4].status, 'ok');
      const sys = await waitFor(
        'filter error',
        () => s.frames.find((f) => f[2] === 'realtime:bad' && f[3] === 'system'),
      ) as unknown[];
      assert.match((sys[4] as { message: string }).message, /Error parsing `filter` params/);
      assert.match((await reply('6'))[4].response.reason!, /^MalformedJWT/);

      s.ws.send('this is not json');
      assert.equal((await s.closed).code, 1003);
      const big = await rawSocket();
      big.ws.send('x'.repeat(1024 * 1024 + 1));
      assert.equal((await big.closed).code, 1009);
      const wrongShape = await rawSocket();
      wrongShape.ws.send(JSON.stringify({ topic: 'phoenix' }));
      assert.equal((await wrongShape.closed).code, 1003);

      const id = await insertMessage(alpha, `still served ${run}`);
      await waitFor('insert after garbage', () => sub.events.some((e) => e.new.id === id));
    } finally {
      await c.removeAllChannels();
    }
  },
);

globalThis.addEventListener('unload', () => {
  db.end({ timeout: 1 });
});
