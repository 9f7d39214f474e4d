// The dispatcher: claims due outbound messages (SQL decides what is due and allowed), renders
// templates, sends each through its channel's adapter and records the result through SQL.
// Invoked by the database (pg_notify / pg_net kick, pg_cron safety net) with the service role.
//
// Round trips are batched so that the provider call dominates: one claim, one context query,
// one statement picking senders and writing the attempt rows for the whole batch (before any
// request leaves), and results written back in groups, one group at a time.
import type postgres from 'postgres';
import { z } from 'zod';
import { requireServiceRole } from '../_shared/auth.ts';
import { createAutoReplies } from '../_shared/auto_reply.ts';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { tenantCreds } from '../_shared/credentials.ts';
import { EmailError, type EmailSender, emailSender } from '../_shared/email.ts';
import { HttpError, json, wrap } from '../_shared/http.ts';
import { smsSegments } from '../_shared/segments.ts';
import {
  classifyError,
  type TwilioClient,
  twilioClient,
  type TwilioCreds,
  UnknownOutcomeError,
} from '../_shared/twilio.ts';

export interface DispatchOptions {
  /** Replaces the EMAIL_PROVIDER adapter (tests). */
  emailSender?: EmailSender;
  /**
   * Test hook, called after the provider accepted a send and before its result is written: the
   * crash test exits the process here.
   */
  afterProviderAccepted?: (messageId: string, providerSid: string) => void | Promise<void>;
  /**
   * Replaces the AI step (default: functions/_shared/auto_reply.ts) run for a row claimed
   * without a body: composes an auto-reply or enhances a rendered template, writing the text to
   * the row. Returns true when the row must not be sent (SQL has settled it).
   */
  beforeSend?: (row: Claimed, bodyWasEmpty: boolean) => Promise<boolean>;
}

export interface DispatchStats {
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  unknown: number;
  reconciled: number;
  /** Claimed but not sent before the lease ran short (left for a later claim). */
  deferred: number;
}

const emptyStats = (): DispatchStats => ({
  claimed: 0,
  sent: 0,
  retried: 0,
  failed: 0,
  unknown: 0,
  reconciled: 0,
  deferred: 0,
});

export interface Claimed {
  id: string;
  kind: string;
  ai_enhance: boolean | null;
  tenant_id: string;
  conversation_id: string;
  channel: 'sms' | 'whatsapp' | 'email';
  body: string;
  subject: string | null;
  to_address: string | null;
  media: { url?: string }[] | null;
  template_id: string | null;
  variables: Record<string, unknown>;
  email_message_id: string | null;
  in_reply_to: string | null;
  attempts: number;
  phone: string | null;
  email: string | null;
  whatsapp: string | null;
  tenant_name: string;
  email_from: string | null;
  template_body: string | null;
  template_subject: string | null;
  whatsapp_content_sid: string | null;
  conversation_subject: string | null;
  unsettled_since: Date | null;
  unsettled_from: string | null;
  unsettled_to: string | null;
  unsettled_body_sha256: string | null;
}

type AttemptOutcome = 'sent' | 'failed' | 'retry' | 'reconciled';

interface Result {
  id: string;
  attempt: number;
  outcome: AttemptOutcome;
  sid?: string | null;
  code?: string | null;
  message?: string | null;
  permanent?: boolean;
  segments?: number | null;
  from?: string | null;
}

async function sha256(s: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

const bare = (a: string | null | undefined) => (a ?? '').replace(/^whatsapp:/, '');

const GROUP_MAX = 500;
/** Time a send needs after its start to settle within the lease, beyond the provider timeout. */
const LEASE_MARGIN_MS = 5_000;

/**
 * At most `size` sends at once across all rounds of a drain; the rest wait in order. `room(n)`
 * resolves once fewer than `n` sends are waiting: the moment to claim the next batch, so that
 * senders never run dry between rounds while claimed rows stay under their lease in the database
 * rather than queueing here. One claimer at a time gets room, and the batch it is about to add
 * counts as waiting until it calls the release it was given (after handing its sends over).
 */
export function sendSlots(size: number) {
  let active = 0;
  let reserved = 0;
  const waiting: (() => void)[] = [];
  const claimers: { n: number; resolve: (release: () => void) => void }[] = [];
  const wakeClaimer = () => {
    const c = claimers[0];
    if (!c || waiting.length + reserved >= c.n) return;
    claimers.shift();
    reserved += c.n;
    let released = false;
    c.resolve(() => {
      if (released) return;
      released = true;
      reserved -= c.n;
      wakeClaimer();
    });
  };
  return {
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active < size) active++;
      else await new Promise<void>((r) => waiting.push(r));
      try {
        return await fn();
      } finally {
        // The slot passes straight to the next waiting send.
        const next = waiting.shift();
        if (next) next();
        else active--;
        wakeClaimer();
      }
    },
    room(n: number): Promise<() => void> {
      return new Promise((resolve) => {
        claimers.push({ n, resolve });
        wakeClaimer();
      });
    },
  };
}
type SendSlots = ReturnType<typeof sendSlots>;

/**
 * Writes results in groups, in one transaction per group: accepted sends set-based
 * (private.record_sends_succeeded), errors and reconciled sends through record_send_result (its
 * retry/backoff/opt-out rules), each settling its attempt rows. Callers await their own row.
 */
function resultWriter(sql: postgres.Sql) {
  let pending: { r: Result; done: () => void; fail: (e: unknown) => void }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing = false;
  // One group is written at a time and the next one collects meanwhile, so groups grow with the
  // load (fewer calls, plans and commits per row) while an idle writer starts within 5 ms.
  function schedule() {
    if (writing || !pending.length) return;
    if (pending.length >= GROUP_MAX) void writeGroup();
    else timer ??= setTimeout(() => void writeGroup(), 5);
  }
  async function writeGroup() {
    clearTimeout(timer);
    timer = undefined;
    if (writing) return;
    const group = pending.slice(0, GROUP_MAX);
    pending = pending.slice(group.length);
    if (!group.length) return;
    writing = true;
    try {
      await writeResults(group);
    } finally {
      writing = false;
      // What arrived meanwhile has waited long enough.
      if (pending.length) void writeGroup();
    }
  }
  async function writeResults(
    group: { r: Result; done: () => void; fail: (e: unknown) => void }[],
  ) {
    const ok = group.filter((g) => g.r.outcome === 'sent').map((g) => g.r);
    const other = group.filter((g) => g.r.outcome !== 'sent').map((g) => ({
      permanent: false,
      ...g.r,
    }));
    try {
      await sql.begin(async (tx) => {
        if (ok.length) {
          await tx`select private.record_sends_succeeded(${
            tx.json(ok.map((r) => ({ id: r.id, sid: r.sid, segments: r.segments, from: r.from })))
          })`;
        }
        if (other.length) {
          await tx`
            with r as (
              select * from jsonb_to_recordset(${tx.json(other as unknown as postgres.JSONValue)})
                as r(id uuid, attempt int, outcome text, sid text, code text, message text,
                     permanent boolean, segments int, "from" text)
            ), settled as (
              update private.send_attempts a
                 set outcome = r.outcome, provider_sid = r.sid, finished_at = now()
                from r
               -- The ids as an array let the planner look attempts up by key (see
               -- 20261122006500_settle_attempts_by_key.sql).
               where a.message_id = any(${other.map((r) => r.id)}::uuid[])
                 and a.message_id = r.id and a.outcome in ('pending', 'unknown')
              returning 1
            )
            select (private.record_send_result(
                     p_message_id => r.id, p_provider_sid => r.sid, p_error_code => r.code,
                     p_error_message => r.message, p_permanent => r.permanent,
                     p_segments => r.segments, p_from_address => r."from",
                     p_attempt => r.attempt)).status,
                   (select count(*) from settled) as settled
              from r order by r.id`;
        }
      });
      for (const g of group) g.done();
    } catch (e) {
      // One bad row must not cost the others their write (they would wait out their lease and
      // be reconciled one Twilio lookup each): write them one by one.
      if (group.length === 1) return group[0].fail(e);
      for (const g of group) await writeResults([g]);
    }
  }
  return {
    write(r: Result): Promise<void> {
      return new Promise((done, fail) => {
        pending.push({ r, done, fail });
        schedule();
      });
    },
    /** Starts writing what is pending now instead of after the timer (callers await their rows). */
    flush: () => void writeGroup(),
  };
}

export function createDispatcher(deps: Deps, opts: DispatchOptions = {}) {
  const { env, sql } = deps;
  const sendEmail = opts.emailSender ?? emailSender(env);
  // The AI step (issue 6) runs for every row claimed without a body unless a test replaces it.
  const autoReplies = createAutoReplies(deps);
  const beforeSend = opts.beforeSend ?? autoReplies.beforeSend;
  const clients = new Map<string, TwilioClient>();
  const client = (c: TwilioCreds) => {
    const key = `${c.accountSid}:${c.authToken}`;
    let cl = clients.get(key);
    if (!cl) {
      cl = twilioClient(c, env.TWILIO_API_URL, env.TWILIO_TIMEOUT_MS);
      clients.set(key, cl);
    }
    return cl;
  };
  const writer = resultWriter(sql);

  /**
   * Claims (its own statement, committed at once) and then reads what sending needs. Not one
   * statement: claim_due_messages takes fresh snapshots inside, so it can claim a row whose new
   * contact or conversation an outer statement's older snapshot would not see yet.
   */
  async function claim(batch: number): Promise<Claimed[]> {
    const ids = await sql<{ id: string }[]>`
      select id from private.claim_due_messages(
        p_batch => ${batch}, p_lease_seconds => ${env.DISPATCH_LEASE_SECONDS})`;
    if (!ids.length) return [];
    return await sql<Claimed[]>`
      select m.id, m.kind, tpl.ai_enhance, m.tenant_id, m.conversation_id, m.channel, m.body,
             m.subject, m.to_address,
             m.media, m.template_id, m.variables, m.email_message_id, m.in_reply_to, m.attempts,
             c.phone, c.email, c.whatsapp, t.name as tenant_name, t.email_from,
             tpl.body as template_body, tpl.subject as template_subject,
             tpl.whatsapp_content_sid, conv.subject as conversation_subject,
             u.started_at as unsettled_since, u.from_address as unsettled_from,
             u.to_address as unsettled_to, u.body_sha256 as unsettled_body_sha256
        from public.messages m
        join public.contacts c on c.id = m.contact_id
        join public.tenants t on t.id = m.tenant_id
        join public.conversations conv on conv.id = m.conversation_id
        left join public.templates tpl on tpl.id = m.template_id
        left join lateral (
          select a.started_at, a.from_address, a.to_address, a.body_sha256
            from private.send_attempts a
           where a.message_id = m.id and a.outcome in ('pending', 'unknown')
           order by a.attempt limit 1
        ) u on true
       where m.id = any(${ids.map((r) => r.id)}::uuid[])
       order by m.next_attempt_at, m.id`;
  }

  const fail = (m: Claimed, code: string, message: string): Result => ({
    id: m.id,
    attempt: m.attempts,
    outcome: 'failed',
    code,
    message,
    permanent: true,
  });

  async function renderBody(m: Claimed): Promise<void> {
    if (m.body || !m.template_body) return;
    const [r] = await sql<{ body: string }[]>`
      select public.render_template(${m.template_body},
        ${sql.json((m.variables ?? {}) as postgres.JSONValue)}) as body`;
    await sql`update public.messages set body = ${r.body} where id = ${m.id}::uuid`;
    m.body = r.body;
  }

  /**
   * IDEMPOTENCY for Twilio (its Messages API has no idempotency key). Every send has a
   * 'pending' attempt row, committed before the request leaves (prepare() below). If the
   * dispatcher then dies, or the request times out after leaving ('unknown'), the message stays
   * 'sending' until its lease expires and private.expire_leases() requeues it. The next claim
   * sees the unsettled attempt and, before sending anything, lists Twilio's messages To/From
   * those addresses and looks for one created after the attempt started with the same body
   * (SHA-256): found -> record that sid, no send; not found -> the request never reached Twilio,
   * send now. Waiting a full lease (60 s) before looking gives Twilio's list time to show what it
   * accepted. Independently, the StatusCallback URL carries our message id (?mid=), so Twilio's
   * first status callback attaches the sid even before a dispatcher reconciles (twilio-status).
   */
  async function reconcile(m: Claimed, tw: TwilioClient): Promise<Result | null> {
    const since = (m.unsettled_since?.getTime() ?? 0) - 60_000;
    const list = await tw.messages.list({
      to: m.unsettled_to ?? undefined,
      ...(m.unsettled_from ? { from: m.unsettled_from } : {}),
      limit: 50,
    });
    // A message another row of ours already recorded (the same text sent twice to the same
    // number) is not this row's copy.
    const known = new Set(
      list.length
        ? (await sql<{ provider_sid: string }[]>`
            select provider_sid from public.messages
             where provider_sid = any(${list.map((x) => x.sid)}::text[])`).map((r) =>
          r.provider_sid
        )
        : [],
    );
    // Oldest first: of several unknown copies, the first one is this attempt's.
    for (const x of [...list].reverse()) {
      if (known.has(x.sid)) continue;
      if ((x.dateCreated?.getTime() ?? 0) < since) continue;
      if (m.unsettled_body_sha256 && (await sha256(x.body ?? '')) !== m.unsettled_body_sha256) {
        continue;
      }
      return {
        id: m.id,
        attempt: m.attempts,
        outcome: 'reconciled',
        sid: x.sid,
        from: bare(x.from),
        segments: Number(x.numSegments) || null,
      };
    }
    await sql`update private.send_attempts set outcome = 'reconciled', finished_at = now()
               where message_id = ${m.id}::uuid and outcome in ('pending', 'unknown')`;
    return null;
  }

  interface Prepared {
    m: Claimed;
    tw: TwilioClient;
    to: string;
    from: string | null;
    mss: string | null;
  }

  /** Picks senders (sticky / rotation / messaging service) and writes every attempt row. */
  async function prepare(items: { m: Claimed; tw: TwilioClient; to: string }[]) {
    if (!items.length) return [];
    const rows = await sql<{ id: string; from_number: string | null; mss: string | null }[]>`
      with x as (
        select * from jsonb_to_recordset(${
      sql.json(items.map((i, n) => ({
        id: i.m.id,
        attempt: i.m.attempts,
        conversation_id: i.m.conversation_id,
        channel: i.m.channel,
        to_address: i.to,
        body: i.m.body,
        n,
      })))
    })
          as x(id uuid, attempt int, conversation_id uuid, channel text, to_address text,
               body text, n int)
      ), picked as (
        select x.*, s.e164, s.messaging_service_sid
          from x join private.pick_senders(${
      sql.json(items.map((i, n) => ({
        message_id: i.m.id,
        conversation_id: i.m.conversation_id,
        channel: i.m.channel,
        n,
      })))
    }) s on s.message_id = x.id
      ), sender as (
        select p.*, case when p.e164 is null and p.messaging_service_sid is not null then null
                         else coalesce(p.e164, ${env.TWILIO_PHONE_NUMBER ?? null}::text) end as num
          from picked p
      ), ins as (
        insert into private.send_attempts
          (message_id, attempt, channel, to_address, from_address, body_sha256)
        select s.id, s.attempt, s.channel, s.to_address,
               case when s.channel = 'whatsapp' and s.num is not null then 'whatsapp:' || s.num
                    else s.num end,
               encode(sha256(convert_to(s.body, 'UTF8')), 'hex')
          from sender s
         where s.num is not null or s.messaging_service_sid is not null
        on conflict (message_id, attempt) do update
          set started_at = now(), outcome = 'pending', to_address = excluded.to_address,
              from_address = excluded.from_address, body_sha256 = excluded.body_sha256
        returning message_id
      )
      select s.id, s.num as from_number, s.messaging_service_sid as mss from sender s`;
    const byId = new Map(rows.map((r) => [r.id, r]));
    return items.map((i): Prepared => {
      const r = byId.get(i.m.id);
      const num = r?.from_number ?? null;
      return {
        ...i,
        from: num ? (i.m.channel === 'whatsapp' ? `whatsapp:${num}` : num) : null,
        mss: num ? null : r?.mss ?? null,
      };
    });
  }

  async function sendPrepared(p: Prepared, stats: DispatchStats): Promise<Result | null> {
    const { m } = p;
    if (!p.from && !p.mss) {
      return fail(m, 'no_sender', 'no number or messaging service to send from');
    }
    const wa = m.channel === 'whatsapp';
    const media = (m.media ?? []).map((x) => x.url).filter((u): u is string => !!u);
    let sid: string;
    try {
      const res = await p.tw.messages.create({
        to: p.to,
        ...(p.from ? { from: p.from } : { messagingServiceSid: p.mss! }),
        ...(wa && m.whatsapp_content_sid
          ? {
            contentSid: m.whatsapp_content_sid,
            contentVariables: JSON.stringify(m.variables ?? {}),
          }
          : { body: m.body }),
        ...(media.length ? { mediaUrl: media } : {}),
        statusCallback: `${env.PUBLIC_FUNCTIONS_URL}/twilio-status?mid=${m.id}`,
      });
      sid = res.sid;
    } catch (e) {
      if (e instanceof UnknownOutcomeError) {
        // Maybe sent: leave the row 'sending' under its lease; see reconcile() above.
        await sql`update private.send_attempts set outcome = 'unknown', finished_at = now()
                   where message_id = ${m.id}::uuid and attempt = ${m.attempts}`;
        console.warn(`[dispatch] ${m.id}: ${e.message}; will reconcile after the lease`);
        stats.unknown++;
        return null;
      }
      const c = classifyError(e);
      return {
        id: m.id,
        attempt: m.attempts,
        outcome: c.permanent ? 'failed' : 'retry',
        code: c.code,
        message: c.message,
        permanent: c.permanent,
      };
    }
    await opts.afterProviderAccepted?.(m.id, sid);
    return {
      id: m.id,
      attempt: m.attempts,
      outcome: 'sent',
      sid,
      segments: wa ? 1 : smsSegments(m.body),
      from: bare(p.from) || null,
    };
  }

  async function sendMail(m: Claimed): Promise<Result> {
    const to = m.to_address ?? m.email;
    if (!to) return fail(m, 'no_address', 'contact has no email');
    const messageId = m.email_message_id ?? `<${m.id}@switchboard.local>`;
    let inReplyTo = m.in_reply_to;
    if (!inReplyTo) {
      const [last] = await sql<{ email_message_id: string }[]>`
        select email_message_id from public.messages
         where conversation_id = ${m.conversation_id}::uuid and direction = 'inbound'
           and email_message_id is not null
         order by created_at desc limit 1`;
      inReplyTo = last?.email_message_id ?? null;
    }
    await sql`update public.messages set email_message_id = ${messageId},
                in_reply_to = ${inReplyTo} where id = ${m.id}::uuid`;
    const subject = m.subject ?? m.template_subject ??
      (m.conversation_subject
        ? (/^re:/i.test(m.conversation_subject)
          ? m.conversation_subject
          : `Re: ${m.conversation_subject}`)
        : `Message from ${m.tenant_name}`);
    const from = m.email_from ?? env.EMAIL_FROM;
    // Resend dedupes on our idempotency key and SMTP repeats the same Message-ID, so an
    // unsettled earlier attempt needs no provider lookup before sending again.
    await sql`
      insert into private.send_attempts
        (message_id, attempt, channel, to_address, from_address, body_sha256)
      values (${m.id}::uuid, ${m.attempts}, 'email', ${to}, ${from}, ${await sha256(m.body)})
      on conflict (message_id, attempt) do update set started_at = now(), outcome = 'pending'`;
    try {
      const r = await sendEmail({
        id: m.id,
        from,
        to,
        subject,
        text: m.body,
        messageId,
        inReplyTo,
      });
      await opts.afterProviderAccepted?.(m.id, r.providerId);
      return { id: m.id, attempt: m.attempts, outcome: 'sent', sid: r.providerId, from };
    } catch (e) {
      const c = e instanceof EmailError
        ? { code: e.code, message: e.message, permanent: e.permanent }
        : { code: 'email_error', message: (e as Error).message, permanent: false };
      return { id: m.id, attempt: m.attempts, outcome: c.permanent ? 'failed' : 'retry', ...c };
    }
  }

  function count(stats: DispatchStats, r: Result) {
    if (r.outcome === 'sent') stats.sent++;
    else if (r.outcome === 'reconciled') stats.reconciled++;
    else if (r.outcome === 'failed') stats.failed++;
    else stats.retried++;
  }

  /** Runs `fn` over `items` with at most DISPATCH_CONCURRENCY at a time. */
  async function pool<T>(items: T[], fn: (t: T) => Promise<void>) {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await fn(items[next++]);
    };
    await Promise.all(
      Array.from({ length: Math.min(env.DISPATCH_CONCURRENCY, items.length) }, worker),
    );
  }

  /** Records a result; a failure to write leaves the row under its lease (reconciled later). */
  async function record(stats: DispatchStats, r: Result | null) {
    if (!r) return;
    await writer.write(r);
    count(stats, r);
  }

  /**
   * One claim + send round. `creds` caches each tenant's Twilio credentials for one invocation
   * (a drain's rounds share it), so a changed credential applies from the next invocation.
   */
  async function runOnce(
    batch = env.DISPATCH_BATCH,
    creds = new Map<string, Promise<TwilioCreds | null>>(),
  ): Promise<DispatchStats> {
    const round = await startRound(
      batch,
      creds,
      sendSlots(env.DISPATCH_CONCURRENCY),
    );
    await round.settled;
    return round.stats;
  }

  /**
   * Claims a batch, prepares it and hands its sends to `slots`; resolves once they are all
   * handed over, with `settled` resolving when every result is written. `stats` fills up as
   * sends finish.
   */
  async function startRound(
    batch: number,
    creds: Map<string, Promise<TwilioCreds | null>>,
    slots: SendSlots,
  ): Promise<{ stats: DispatchStats; settled: Promise<void> }> {
    const stats = emptyStats();
    // The lease runs from the claim; a send that could still be in flight when it ends is not
    // started (another dispatcher may requeue and reconcile the row by then).
    const sendBy = Date.now() + env.DISPATCH_LEASE_SECONDS * 1000 - env.TWILIO_TIMEOUT_MS -
      LEASE_MARGIN_MS;
    const rows = await claim(batch);
    stats.claimed = rows.length;
    const twilioReady: { m: Claimed; tw: TwilioClient; to: string }[] = [];
    const mails: Claimed[] = [];

    // Per message work that needs its own round trips (rare: reconciles, templates, errors).
    await pool(rows, async (m) => {
      try {
        const bodyWasEmpty = !m.body;
        await renderBody(m);
        if (bodyWasEmpty) {
          if (await beforeSend(m, bodyWasEmpty)) return;
          // The AI step wrote the text (or the enhanced one) to the row.
          const [row] = await sql<{ body: string }[]>`
            select body from public.messages where id = ${m.id}::uuid`;
          m.body = row?.body ?? m.body;
        }
        if (m.channel === 'email') return void mails.push(m);
        let c = creds.get(m.tenant_id);
        if (!c) {
          creds.set(m.tenant_id, c = tenantCreds(sql, env, m.tenant_id));
          // A failed lookup is not remembered: the next round asks again.
          c.catch(() => creds.delete(m.tenant_id));
        }
        const cr = await c;
        if (!cr) {
          return await record(
            stats,
            fail(m, 'no_twilio_credentials', 'no Twilio account for this tenant or platform'),
          );
        }
        const tw = client(cr);
        if (m.unsettled_since) {
          const found = await reconcile(m, tw);
          if (found) return await record(stats, found);
        }
        const wa = m.channel === 'whatsapp';
        const to = bare(m.to_address) || (wa ? (m.whatsapp ?? m.phone) : m.phone) || '';
        if (!to) return await record(stats, fail(m, 'no_address', 'contact has no number'));
        twilioReady.push({ m, tw, to: wa ? `whatsapp:${to}` : to });
      } catch (e) {
        // A bug or a database error: the row stays under its lease; expire_leases requeues it
        // and its attempt row (if any) makes the retry reconcile first.
        console.error(`[dispatch] ${m.id}:`, e);
      }
    });

    let prepared: Prepared[] = [];
    try {
      prepared = await prepare(twilioReady);
    } catch (e) {
      console.error('[dispatch] preparing the batch failed:', e);
    }
    const sends = [
      ...prepared.map((p) => () => sendPrepared(p, stats)),
      ...mails.map((m) => () => sendMail(m)),
    ];
    // A sender moves on to its next message while its result is being written (in groups).
    const writes: Promise<void>[] = [];
    const logFailure = (e: unknown) => console.error('[dispatch] send failed:', e);
    const sent = sends.map((send) =>
      slots.run(async () => {
        if (Date.now() > sendBy) {
          // Left 'sending' under its lease (with its attempt row 'pending', if written): the
          // claim after expire_leases reconciles with the provider first, then sends.
          stats.deferred++;
          return;
        }
        try {
          writes.push(record(stats, await send()).catch(logFailure));
        } catch (e) {
          logFailure(e);
        }
      })
    );
    const settled = Promise.all(sent).then(async () => {
      writer.flush();
      await Promise.all(writes);
    });
    return { stats, settled };
  }

  /** Rounds until nothing is due or the time budget is spent. */
  async function drain(maxMillis = 20_000, batch = env.DISPATCH_BATCH): Promise<DispatchStats> {
    const total = emptyStats();
    const deadline = Date.now() + maxMillis;
    const creds = new Map<string, Promise<TwilioCreds | null>>();
    // DISPATCH_LOOPS rounds claim side by side (SKIP LOCKED keeps them apart) and feed one pool
    // of LOOPS x CONCURRENCY send slots; a loop claims its next batch as soon as fewer than a
    // batch of sends is waiting, so sending never pauses for a claim or for a round's last
    // slow sends.
    const slots = sendSlots(env.DISPATCH_LOOPS * env.DISPATCH_CONCURRENCY);
    const rounds: Promise<void>[] = [];
    const add = (s: DispatchStats) => {
      for (const k of Object.keys(total) as (keyof DispatchStats)[]) total[k] += s[k];
    };
    const loop = async () => {
      while (Date.now() < deadline) {
        const release = await slots.room(batch);
        if (Date.now() >= deadline) return release();
        const round = await startRound(batch, creds, slots).finally(release);
        rounds.push(round.settled.then(() => add(round.stats)));
        // The claim may return fewer than asked while more is due (rate limits, rows another
        // claim holds): stop only when a round found nothing.
        if (round.stats.claimed === 0) break;
      }
    };
    // An auto-reply still in its debounce (a burst being collected, ~2 s) is waited for within
    // the time budget instead of being left to the next kick or cron minute.
    for (;;) {
      const loops = await Promise.allSettled(
        Array.from({ length: env.DISPATCH_LOOPS }, loop),
      );
      // Rounds already sending finish and record their results even when a claim failed.
      await Promise.all(rounds);
      const failed = loops.find((l): l is PromiseRejectedResult => l.status === 'rejected');
      if (failed) throw failed.reason;
      const left = deadline - Date.now();
      const wait = left > 0 ? await autoReplies.debounceWaitMs(left) : null;
      if (wait === null || wait >= left) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    return total;
  }

  return { runOnce, drain };
}

// The body is optional. private.kick_dispatch() (pg_net on hosted Supabase) posts
// {reason, due, at}; those are accepted and only logged.
const RequestSchema = z.object({
  batch: z.number().int().min(1).max(5000).optional(),
  max_millis: z.number().int().min(0).max(120_000).optional(),
  reason: z.string().max(100).optional(),
  due: z.number().int().min(0).optional(),
  at: z.string().max(100).optional(),
}).strict();

export function createHandler(deps: Deps, opts: DispatchOptions = {}) {
  const d = createDispatcher(deps, opts);
  return wrap(async (req) => {
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only');
    await requireServiceRole(req, deps.env);
    const text = await req.text();
    let raw: unknown = {};
    if (text.trim()) {
      try {
        raw = JSON.parse(text);
      } catch {
        throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
      }
    }
    const p = RequestSchema.parse(raw);
    return json(200, await d.drain(p.max_millis, p.batch));
  });
}

export const handler = lazyHandler((deps) => createHandler(deps));
