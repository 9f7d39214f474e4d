// The cron jobs run concurrently from two real sessions (what pgTAP, inside one transaction, cannot
// show): no duplicate re-engagement messages, no row promoted or marked twice (the kick's HTTP
// call is tested in pg_net.test.ts and outbox_http.test.ts). pg_cron itself may run the same jobs in
// the middle of this test, which is exactly the situation under test, so the assertions count
// rows per conversation rather than trusting one call's return value.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { stackEnv } from './_env.ts';

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const CONVERSATIONS = 30;

type Sql = ReturnType<typeof postgres>;
const connect = () => postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });

/** A tenant with CONVERSATIONS idle (8 days) SMS conversations of consenting contacts. */
async function fixture(sql: Sql, label: string): Promise<{ tenant: string; convs: string[] }> {
  const [{ id: tenant }] = await sql`
    insert into public.tenants (name, slug) values (${'Cron ' + label}, ${`cron-${label}-${run}`})
    returning id`;
  const convs = await sql`
    with c as (
      insert into public.contacts (tenant_id, name, phone, promotional_consent)
      select ${tenant}, 'Contact ' || g, '+1555077' || lpad(g::text, 4, '0'), true
      from generate_series(1, ${CONVERSATIONS}) g
      returning id
    )
    insert into public.conversations (tenant_id, contact_id, channel, last_message_at, last_inbound_at)
    select ${tenant}, c.id, 'sms', now() - interval '8 days', now() - interval '8 days' from c
    returning id`;
  return { tenant, convs: convs.map((r) => r.id as string) };
}

async function reengagementCounts(sql: Sql, tenant: string): Promise<number[]> {
  const rows = await sql`
    select count(m.id)::int as n
    from public.conversations c
    left join public.messages m on m.conversation_id = c.id and m.kind = 'reengagement'
    where c.tenant_id = ${tenant}
    group by c.id`;
  return rows.map((r) => r.n as number);
}

Deno.test('reengage_idle from two sessions at once writes one message per conversation', async () => {
  const [a, b, admin] = [connect(), connect(), connect()];
  try {
    const { tenant } = await fixture(admin, 'twice');
    const runs = await Promise.all([
      a`select private.reengage_idle() as n`,
      b`select private.reengage_idle() as n`,
      a`select private.reengage_idle() as n`,
      b`select private.reengage_idle() as n`,
    ]);
    assert.ok(runs.every((r) => typeof r[0].n === 'number'));
    const counts = await reengagementCounts(admin, tenant);
    assert.equal(counts.length, CONVERSATIONS);
    assert.deepEqual(counts, Array(CONVERSATIONS).fill(1), 'exactly one per conversation');
    await admin`delete from public.tenants where id = ${tenant}`;
  } finally {
    await Promise.all([a.end(), b.end(), admin.end()]);
  }
});

Deno.test('reengage_idle skips conversations another session holds, and gets them later', async () => {
  const [a, b, admin] = [connect(), connect(), connect()];
  try {
    const { tenant, convs } = await fixture(admin, 'locked');
    const held = convs.slice(0, 10);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // Session A holds 10 of the conversations, as a run in progress would.
    const holder = a.begin(async (tx) => {
      await tx`select id from public.conversations where id = any(${held}::uuid[]) for update`;
      locked();
      await released;
    });
    await isLocked;
    // B's run must not wait for A (SKIP LOCKED) and must not touch A's rows.
    const started = performance.now();
    await b`select private.reengage_idle()`;
    assert.ok(performance.now() - started < 5000, 'B did not block on A');
    const during = await admin`
      select count(*)::int as n from public.messages
      where conversation_id = any(${held}::uuid[]) and kind = 'reengagement'`;
    assert.equal(during[0].n, 0, 'the held conversations were skipped');
    release();
    await holder;
    await b`select private.reengage_idle()`;
    assert.deepEqual(await reengagementCounts(admin, tenant), Array(CONVERSATIONS).fill(1));
    await admin`delete from public.tenants where id = ${tenant}`;
  } finally {
    await Promise.all([a.end(), b.end(), admin.end()]);
  }
});

Deno.test('promote_scheduled and mark_dormant from two sessions at once', async () => {
  const [a, b, admin] = [connect(), connect(), connect()];
  try {
    const { tenant, convs } = await fixture(admin, 'promote');
    await admin`
      insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
        body, status, scheduled_for)
      select c.tenant_id, c.id, c.contact_id, 'outbound', 'sms', 'manual', 'due', 'scheduled',
        now() - interval '1 second'
      from public.conversations c where c.tenant_id = ${tenant}`;
    const promoted = await Promise.all([
      a`select private.promote_scheduled() as n`,
      b`select private.promote_scheduled() as n`,
    ]);
    // Each row is promoted by exactly one of the two sessions: their counts add up to the rows.
    // (The stack's dispatcher may already be sending the promoted rows, so their status is not
    // read here, only that none is still waiting.)
    assert.equal(promoted[0][0].n + promoted[1][0].n, CONVERSATIONS, 'promoted once each');
    const waiting = await admin`
      select count(*)::int as n from public.messages
      where tenant_id = ${tenant} and body = 'due' and status = 'scheduled'`;
    assert.equal(waiting[0].n, 0, 'no due row is left scheduled');

    await admin`
      update public.conversations set last_message_at = now() - interval '15 days',
        reengage_checked_at = now() where tenant_id = ${tenant}`;
    const dormant = await Promise.all([
      a`select private.mark_dormant() as n`,
      b`select private.mark_dormant() as n`,
    ]);
    assert.equal(dormant[0][0].n + dormant[1][0].n, CONVERSATIONS, 'marked dormant once each');
    const rows = await admin`
      select status, count(*)::int as n from public.conversations
      where id = any(${convs}::uuid[]) group by status`;
    assert.deepEqual(rows.map((r) => [r.status, r.n]), [['dormant', CONVERSATIONS]]);
    await admin`delete from public.tenants where id = ${tenant}`;
  } finally {
    await Promise.all([a.end(), b.end(), admin.end()]);
  }
});
