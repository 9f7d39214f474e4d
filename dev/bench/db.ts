// `deno task bench db`: the database at production-like volume on a throwaway cluster.
//
// Loads 1,000 tenants, 200,000 contacts (and one conversation each), 2,000,000 messages and
// 500,000 appointments with set-based SQL, ANALYZEs, then times (median of RUNS) and EXPLAINs:
//   * one cron tick (private.cron_tick(): every job, with a minute's worth of due work),
//   * private.claim_due_messages(100),
//   * the inbox query (50 latest conversations of one tenant, as its member, through RLS),
//   * public.analytics(tenant, 30), as its member, through RLS.
// Each cron tick and claim runs inside a transaction that is rolled back, so every run sees the
// same due work. The figures and plans are printed and replace the db section of dev/bench/RESULTS.md.
//
// Loading: the tenants are inserted normally (their default templates and automations come from
// the trigger); the bulk rows are loaded with session_replication_role = replica, which skips
// triggers (including foreign-key checks) for the loading session only. The generator keeps the
// rows consistent itself (tenant of contact = tenant of conversation = tenant of message,
// conversation last_* columns match their messages). Nothing is dropped or disabled: every index,
// policy and trigger of the migrations is in place while we measure.
import postgres from 'postgres';
import { throwawayCluster } from '../stack/cluster.ts';
import { writeResults } from './_results.ts';

/** Thrown to roll a transaction back while returning a value from it. */
class Rollback extends Error {
  constructor(public ms: number, public value?: unknown) {
    super('rollback');
  }
}

const RUNS = 20;
const TENANTS = 1_000;
const CONTACTS = 200_000;
const MESSAGES = 2_000_000;
const APPOINTMENTS = 500_000;
// Of the messages: upcoming reminders (scheduled) and the send queue; the rest is history.
const SCHEDULED = 50_000;
const QUEUED = 5_000;
const HISTORY = MESSAGES - SCHEDULED - QUEUED;
// Due work for the cron tick. On average this data set makes about 1.2 reminders due and 0.8
// conversations cross the 7- or 14-day line per minute (50,000 reminders over 30 days, 200,000
// conversations over 180 days). A typical minute is taken as 10-20x that, for appointments
// bunching on the hour; a peak minute as 400x (every tenant's reminders at once), reported for
// scale. Both are set up committed; each measured tick rolls back, so every run has the same work.
interface Work {
  scheduled: number;
  idle7: number;
  idle14: number;
}
const TYPICAL: Work = { scheduled: 20, idle7: 10, idle14: 10 };
const PEAK: Work = { scheduled: 500, idle7: 200, idle14: 200 };

const TARGETS: Record<string, number | undefined> = {
  'cron tick (typical minute)': 100,
  'cron tick (peak minute)': undefined,
  'claim_due_messages(100)': 10,
  'inbox (50 latest, RLS)': 10,
  'analytics 30 days (RLS)': 50,
};

const log = (s: string) => console.log(s);
const t0 = performance.now();
// PostgreSQL's default of 128 MB is a toy setting; 512 MB is the usual 25 % of a 2 GB instance.
const SHARED_BUFFERS = '512MB';
const db = await throwawayCluster({
  seed: false,
  log,
  settings: { shared_buffers: SHARED_BUFFERS },
});
const sql = postgres(db.cluster.url(), { max: 1, onnotice: () => {} });

async function step(label: string, query: string) {
  const start = performance.now();
  await sql.unsafe(query);
  log(`  ${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

// Deterministic ids: tenant i, contact (and its conversation) j, user i.
const uuidOf = (prefix: string, expr: string) =>
  `('${prefix}-0000-4000-8000-' || lpad(to_hex(${expr}), 12, '0'))::uuid`;
const tenantId = (e: string) => uuidOf('7e000000', e);
const contactId = (e: string) => uuidOf('c0000000', e);
const convId = (e: string) => uuidOf('c0ffee00', e);
const userId = (e: string) => uuidOf('05e40000', e);
// Contact j belongs to tenant ((j - 1) / 200) + 1; its conversation's last message was this many
// minutes ago (spread over 180 days), and its channel is fixed by j.
const PER_TENANT = CONTACTS / TENANTS;
const tenantOf = (j: string) => `((${j} - 1) / ${PER_TENANT} + 1)`;
const idleMinutes = (j: string) => `((${j}::bigint * 7919) % 259200)`;
const channelOf = (j: string) =>
  `(case ${j} % 10 when 0 then 'whatsapp' when 1 then 'email' else 'sms' end)`;

try {
  log(
    `loading ${TENANTS} tenants, ${CONTACTS} contacts, ${MESSAGES} messages, ` +
      `${APPOINTMENTS} appointments…`,
  );
  await step(
    'users and members',
    `
    insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data,
      raw_user_meta_data, created_at, updated_at)
    select ${userId('i')}, 'authenticated', 'authenticated', 'owner' || i || '@bench.local', now(),
      '{"provider":"email","providers":["email"]}', '{}', now(), now()
    from generate_series(1, ${TENANTS}) i;
    insert into public.tenants (id, name, slug, timezone)
    select ${tenantId('i')}, 'Bench tenant ' || i, 'bench-' || i,
      (array['America/New_York', 'Europe/Berlin', 'UTC', 'America/Los_Angeles'])[1 + i % 4]
    from generate_series(1, ${TENANTS}) i;
    insert into public.tenant_members (tenant_id, user_id, role)
    select ${tenantId('i')}, ${userId('i')}, 'owner' from generate_series(1, ${TENANTS}) i;
  `,
  );

  await sql.unsafe(`set session_replication_role = replica; set maintenance_work_mem = '512MB'`);
  await step(
    'contacts',
    `
    insert into public.contacts (id, tenant_id, name, phone, email, whatsapp, preferred_channel,
      reminder_consent, promotional_consent, opted_out_channels, tags, attributes, created_at)
    select ${contactId('j')}, ${tenantId(tenantOf('j'))}, 'Contact ' || j,
      '+1555' || lpad(j::text, 7, '0'),
      case when j % 10 in (1, 3, 5) then 'contact' || j || '@example.com' end,
      case when j % 10 = 0 then '+1555' || lpad(j::text, 7, '0') end,
      ${channelOf('j')},
      j % 10 <> 4, j % 3 <> 0,
      case when j % 50 = 7 then '{sms}'::text[] else '{}' end,
      array_remove(array[case when j % 5 = 0 then 'vip' end, case when j % 3 = 0 then 'color' end,
        case when j % 7 = 0 then 'new' end], null),
      jsonb_build_object('city', (array['Austin', 'Berlin', 'Lyon', 'Osaka'])[1 + j % 4]),
      now() - interval '200 days'
    from generate_series(1, ${CONTACTS}) j;
  `,
  );
  // Steady state: idle 14+ days is dormant, idle 7+ days has had its re-engagement decision.
  await step(
    'conversations',
    `
    insert into public.conversations (id, tenant_id, contact_id, channel, status, unread_count,
      last_inbound_at, last_outbound_at, last_message_at, last_message_preview,
      reengage_checked_at, last_reengaged_at, created_at)
    select ${convId('j')}, ${tenantId(tenantOf('j'))}, ${contactId('j')}, ${channelOf('j')},
      case when lm < now() - interval '14 days' then 'dormant' else 'open' end,
      1, lm, lm - interval '1 hour', lm, 'Message ' || j,
      case when lm < now() - interval '7 days' then lm end,
      case when lm < now() - interval '7 days' and j % 3 <> 0 then lm end,
      now() - interval '200 days'
    from (
      select j, now() - make_interval(mins => ${idleMinutes('j')}::integer) as lm
      from generate_series(1, ${CONTACTS}) j
    ) s;
  `,
  );
  // History: about 10 messages per conversation, alternating inbound/outbound backwards from the
  // conversation's last message (which is inbound), with a realistic status mix.
  await step(
    'messages (history)',
    `
    insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
      body, status, provider_sid, attempts, segments, created_at, sent_at, delivered_at, read_at,
      failed_at, error_code)
    select ${tenantId(tenantOf('j'))}, ${convId('j')}, ${contactId('j')},
      case when k % 2 = 0 then 'inbound' else 'outbound' end, ${channelOf('j')},
      case when k % 2 = 0 then 'inbound'
        else (array['manual', 'manual', 'auto_reply', 'transactional', 'reminder', 'bulk'])[1 + (m % 6)] end,
      'Message body number ' || m,
      case when k % 2 = 0 then 'received'
        else (array['delivered', 'delivered', 'delivered', 'read', 'sent', 'failed', 'undelivered',
          'delivered', 'delivered', 'read'])[1 + (m / 7) % 10] end,
      'SMbench' || m, case when k % 2 = 0 then 0 else 1 end, 1,
      at, at, at + interval '3 seconds', null, null, null
    from (
      select m, j, k,
        now() - make_interval(mins => ${idleMinutes('j')}::integer)
          - make_interval(hours => (k * ((j % 48) + 1))::integer) as at
      from (
        select m, (m - 1) % ${CONTACTS} + 1 as j, (m - 1) / ${CONTACTS} as k
        from generate_series(1, ${HISTORY}) m
      ) ids
    ) s;
  `,
  );
  await step(
    'messages (scheduled reminders, send queue)',
    `
    insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
      body, status, scheduled_for, created_at)
    select ${tenantId(tenantOf('j'))}, ${convId('j')}, ${contactId('j')}, 'outbound',
      ${channelOf('j')}, 'reminder', 'Reminder ' || n, 'scheduled',
      now() + make_interval(mins => (60 + (n * 37) % 43200)::integer), now() - interval '1 day'
    from (select n, (n * 13) % ${CONTACTS} + 1 as j from generate_series(1, ${SCHEDULED}) n) s;
    insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
      body, status, next_attempt_at, created_at)
    select ${tenantId(tenantOf('j'))}, ${convId('j')}, ${contactId('j')}, 'outbound',
      ${channelOf('j')}, 'manual', 'Queued ' || n, 'queued',
      now() - make_interval(secs => n % 600), now() - interval '10 minutes'
    from (select n, (n * 31) % ${CONTACTS} + 1 as j from generate_series(1, ${QUEUED}) n) s;
  `,
  );
  await step(
    'appointments',
    `
    insert into public.appointments (tenant_id, contact_id, service, starts_at, duration_minutes,
      status, created_at)
    select ${tenantId(tenantOf('j'))}, ${contactId('j')},
      (array['Haircut', 'Color', 'Balayage', 'Consultation', 'Massage'])[1 + a % 5], at,
      45, case when at < now() then (case when a % 20 = 0 then 'no_show' else 'completed' end)
        when a % 15 = 0 then 'canceled' when a % 2 = 0 then 'confirmed' else 'booked' end,
      at - interval '10 days'
    from (
      select a, (a - 1) % ${CONTACTS} + 1 as j,
        now() + make_interval(mins => ((a::bigint * 7877) % 302400)::integer - 259200) as at
      from generate_series(1, ${APPOINTMENTS}) a
    ) s;
  `,
  );
  await sql.unsafe(`set session_replication_role = origin`);
  await step('vacuum analyze', 'vacuum analyze');
  const counts = await sql.unsafe(`
    select (select count(*) from public.tenants) as tenants,
      (select count(*) from public.contacts) as contacts,
      (select count(*) from public.conversations) as conversations,
      (select count(*) from public.messages) as messages,
      (select count(*) from public.appointments) as appointments,
      pg_size_pretty(pg_database_size(current_database())) as size`);
  log(`  loaded: ${JSON.stringify(counts[0])}`);

  // Due work for the tick (see TYPICAL/PEAK), committed; `done` is what earlier calls set up.
  const addDueWork = async (w: Work, done: Work) => {
    await sql.unsafe(`
      update public.messages set scheduled_for = now() - interval '30 seconds'
      where id in (select id from public.messages where status = 'scheduled'
        order by scheduled_for limit ${w.scheduled});
      update public.conversations set status = 'open',
        last_message_at = now() - interval '7 days 30 seconds',
        reengage_checked_at = null, last_reengaged_at = null
      where id in (select id from public.conversations where status = 'dormant'
        order by id limit ${w.idle7 - done.idle7});
      update public.conversations set status = 'open',
        last_message_at = now() - interval '14 days 30 seconds',
        reengage_checked_at = now() - interval '14 days 30 seconds'
      where id in (select id from public.conversations where status = 'dormant'
        order by id desc limit ${w.idle14 - done.idle14});
      analyze public.conversations; analyze public.messages;
    `);
  };
  await addDueWork(TYPICAL, { scheduled: 0, idle7: 0, idle14: 0 });

  const benchTenant = await sql.unsafe(`select ${tenantId('1')} as id, ${userId('1')} as user_id`);
  const tenant = benchTenant[0].id as string;
  const claims = JSON.stringify({
    sub: benchTenant[0].user_id,
    role: 'authenticated',
    email: 'owner1@bench.local',
  });
  const asMember = `set local role authenticated; set local request.jwt.claims = '${claims}';`;
  const inboxQuery = `
    select c.id, c.channel, c.status, c.unread_count, c.last_message_at, c.last_message_preview,
      c.needs_human, ct.name as contact_name, ct.phone as contact_phone
    from public.conversations c
    join public.contacts ct on ct.id = c.contact_id
    where c.tenant_id = '${tenant}'
    order by c.last_message_at desc nulls last
    limit 50`;

  interface Case {
    name: string;
    /** Statements run before (untimed) and after (untimed) the timed one, same transaction. */
    before?: string;
    query: string;
    rollback: boolean;
    /** How to get the plan: EXPLAIN the query itself, or auto_explain of nested statements. */
    explain: 'direct' | 'nested';
    /** Committed before the runs. */
    setup?: () => Promise<void>;
  }
  const cases: Case[] = [
    {
      name: 'cron tick (typical minute)',
      query: 'select private.cron_tick()',
      rollback: true,
      explain: 'nested',
    },
    {
      name: 'claim_due_messages(100)',
      query: 'select count(*) from private.claim_due_messages(100)',
      rollback: true,
      explain: 'nested',
    },
    {
      name: 'inbox (50 latest, RLS)',
      before: asMember,
      query: inboxQuery,
      rollback: false,
      explain: 'direct',
    },
    {
      name: 'analytics 30 days (RLS)',
      before: asMember,
      query: `select public.analytics('${tenant}', 30)`,
      rollback: false,
      explain: 'nested',
    },
    {
      name: 'cron tick (peak minute)',
      query: 'select private.cron_tick()',
      rollback: true,
      explain: 'nested',
      setup: () => addDueWork(PEAK, TYPICAL),
    },
  ];

  // The plan of one more run: EXPLAIN (ANALYZE, BUFFERS) of the statement, or, for functions,
  // auto_explain's plans of every statement inside them (sent to this client as notices).
  const explain = async (c: Case): Promise<string> => {
    const notices: string[] = [];
    const conn = postgres(db.cluster.url(), {
      max: 1,
      onnotice: (n) => notices.push(String(n.message)),
    });
    try {
      return await conn.begin(async (tx) => {
        if (c.explain === 'nested') {
          await tx.unsafe(`load 'auto_explain';
            set local auto_explain.log_min_duration = 0;
            set local auto_explain.log_analyze = on;
            set local auto_explain.log_buffers = on;
            set local auto_explain.log_timing = on;
            set local auto_explain.log_nested_statements = on;
            set local auto_explain.log_level = notice;
            set local client_min_messages = notice;`);
        }
        if (c.before) await tx.unsafe(c.before);
        let text: string;
        if (c.explain === 'direct') {
          const rows = await tx.unsafe(`explain (analyze, buffers) ${c.query}`);
          text = rows.map((r) => r['QUERY PLAN']).join('\n');
        } else {
          await tx.unsafe(c.query);
          // Every nested statement is logged (triggers included): keep the ones that matter.
          const ms = (n: string) => Number(n.match(/duration: ([\d.]+) ms/)?.[1] ?? 0);
          const kept = notices.filter((n) => ms(n) >= 1).slice(0, 12);
          text = `(auto_explain of the nested statements taking >= 1 ms, ${kept.length} of ` +
            `${notices.length}; timings inflated by auto_explain itself)\n\n` + kept.join('\n\n');
        }
        throw new Rollback(0, text);
      }).catch((e) => {
        if (e instanceof Rollback) return String(e.value);
        throw e;
      });
    } finally {
      await conn.end();
    }
  };

  const results: { name: string; median: number; min: number; max: number; plan: string }[] = [];
  const ticks: Record<string, unknown> = {};
  for (const c of cases) {
    if (c.setup) await c.setup();
    const times: number[] = [];
    for (let r = 0; r < RUNS + 1; r++) {
      const ms = await sql.begin(async (tx) => {
        if (c.before) await tx.unsafe(c.before);
        const start = performance.now();
        await tx.unsafe(c.query);
        const elapsed = performance.now() - start;
        if (c.rollback) throw new Rollback(elapsed);
        return elapsed;
      }).catch((e) => {
        if (e instanceof Rollback) return e.ms;
        throw e;
      });
      if (r > 0) times.push(ms); // the first run warms the caches
    }
    times.sort((a, b) => a - b);
    const median = (times[(RUNS - 1) >> 1] + times[RUNS >> 1]) / 2;
    const plan = await explain(c);
    results.push({ name: c.name, median, min: times[0], max: times[times.length - 1], plan });
    const target = TARGETS[c.name];
    log(
      `  ${c.name}: median ${median.toFixed(2)} ms (min ${times[0].toFixed(2)}, max ${
        times[times.length - 1].toFixed(2)
      }) ${target ? `target < ${target} ms` : 'no target'}`,
    );
    if (c.query === 'select private.cron_tick()') {
      // What one of those ticks did (once more, rolled back).
      ticks[c.name] = await sql.begin(async (tx) => {
        const r = await tx.unsafe('select private.cron_tick() as r');
        throw new Rollback(0, r[0].r);
      }).catch((e) => (e as Rollback).value);
      log(`    it did: ${JSON.stringify(ticks[c.name])}`);
    }
  }

  await saveResults(results, counts[0], ticks);
  log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const missed = results.filter((r) => r.median >= (TARGETS[r.name] ?? Infinity));
  if (missed.length) {
    log(`targets missed: ${missed.map((m) => m.name).join(', ')}`);
  }
  if (Deno.env.get('BENCH_KEEP')) {
    // For profiling by hand: keep the loaded cluster until Ctrl-C.
    log(`keeping the cluster: ${db.cluster.url()} (Ctrl-C to remove it)`);
    await new Promise<void>((resolve) => Deno.addSignalListener('SIGINT', () => resolve()));
  }
} finally {
  await sql.end({ timeout: 5 }).catch(() => {});
  await db.dispose();
}

async function saveResults(
  results: { name: string; median: number; min: number; max: number; plan: string }[],
  counts: Record<string, unknown>,
  ticks: Record<string, unknown>,
) {
  const cpus = (await Deno.readTextFile('/proc/cpuinfo')).match(/^processor/gm)?.length ?? '?';
  const lines = [
    '`npx -y deno@2.9.6 task bench db` (dev/bench/db.ts) on a throwaway PostgreSQL 15 cluster, ' +
    `${cpus} CPUs. Data: ${counts.tenants} tenants, ${counts.contacts} contacts, ` +
    `${counts.conversations} conversations, ${counts.messages} messages, ` +
    `${counts.appointments} appointments (${counts.size}). Bulk rows loaded with ` +
    'session_replication_role = replica (triggers skipped for the load only); every index, ' +
    'policy and trigger in place while measuring. Median of ' + RUNS + ' runs after one warm-up; ' +
    'the cron tick and the claim run in rolled-back transactions so every run has the same work. ' +
    `Typical minute: ${TYPICAL.scheduled} due scheduled rows, ${TYPICAL.idle7} conversations ` +
    `newly idle 7 days, ${TYPICAL.idle14} newly idle 14 days (10-20x this data's average rate); ` +
    `peak minute: ${PEAK.scheduled} / ${PEAK.idle7} / ${PEAK.idle14}. ${QUEUED} queued rows due ` +
    'for the claim. shared_buffers = ' + SHARED_BUFFERS + '.',
    '',
    '| query | median ms | min | max | target |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...results.map((r) =>
      `| ${r.name} | ${r.median.toFixed(2)} | ${r.min.toFixed(2)} | ${r.max.toFixed(2)} | ${
        TARGETS[r.name] === undefined
          ? '—'
          : `< ${TARGETS[r.name]} ${r.median < TARGETS[r.name]! ? 'ok' : '**missed**'}`
      } |`
    ),
    '',
    ...Object.entries(ticks).map(([name, did]) => `${name} did: \`${JSON.stringify(did)}\`  `),
    '',
    ...results.flatMap((r) => [
      `<details><summary>${r.name}: EXPLAIN (ANALYZE, BUFFERS)</summary>`,
      '',
      '```',
      r.plan.trim(),
      '```',
      '',
      '</details>',
      '',
    ]),
  ];
  await writeResults('db', 'db (dev/bench/db.ts)', lines);
  log('wrote the db section of dev/bench/RESULTS.md');
}
