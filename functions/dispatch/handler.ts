// The dispatcher: claims due outbound messages (SQL decides what is due and allowed), renders
// templates, sends each through its channel's adapter and records the result through SQL.
// Invoked by the database (pg_notify / pg_net kick, pg_cron safety net) with the service role.
//
// Round trips are batched so that the provider call dominates: one claim, one context query,
// one statement picking senders and writing the attempt rows for the whole batch (before any
// request leaves), and results written back in small groups.
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
}

const emptyStats = (): DispatchStats => ({
  claimed: 0,
  sent: 0,
  retried: 0,
  failed: 0,
  unknown: 0,
  reconciled: 0,
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

/**
 * Writes results in groups, in one transaction per group: accepted sends set-based
 * (private.record_sends_succeeded), errors and reconciled sends through record_send_result (its
 * retry/backoff/opt-out rules), each settling its attempt rows. Callers await their own row.
 */
function resultWriter(sql: postgres.Sql) {
  let pending: { r: Result; done: () => void; fail: (e: unknown) => void }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  async function flush() {
    clearTimeout(timer);
    timer = undefined;
    const group = pending;
    pending = [];
    if (!group.length) return;
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
               where a.message_id = r.id and a.outcome in ('pending', 'unknown')
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
      for (const g of group) g.fail(e);
    }
  }
  return {
    write(r: Result): Promise<void> {
      return new Promise((done, fail) => {
        pending.push({ r, done, fail });
        if (pending.length >= 64) void flush();
        else timer ??= setTimeout(() => void flush(), 5);
      });
    },
    flush,
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

  /** One claim + send round. */
  async function runOnce(batch = env.DISPATCH_BATCH): Promise<DispatchStats> {
    const stats = emptyStats();
    const rows = await claim(batch);
    stats.claimed = rows.length;
    const twilioReady: { m: Claimed; tw: TwilioClient; to: string }[] = [];
    const mails: Claimed[] = [];
    const creds = new Map<string, Promise<TwilioCreds | null>>();

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
        if (!c) creds.set(m.tenant_id, c = tenantCreds(sql, env, m.tenant_id));
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
    await pool(sends, async (send) => {
      try {
        writes.push(record(stats, await send()).catch(logFailure));
      } catch (e) {
        logFailure(e);
      }
    });
    await writer.flush();
    await Promise.all(writes);
    return stats;
  }

  /** Rounds until nothing is due or the time budget is spent. */
  async function drain(maxMillis = 20_000, batch = env.DISPATCH_BATCH): Promise<DispatchStats> {
    const total = emptyStats();
    const deadline = Date.now() + maxMillis;
    // Two rounds in flight overlap one batch's claim with another's sends (SKIP LOCKED keeps
    // them apart).
    const loop = async () => {
      while (Date.now() < deadline) {
        const s = await runOnce(batch);
        for (const k of Object.keys(total) as (keyof DispatchStats)[]) total[k] += s[k];
        // The claim may return fewer than asked while more is due (rate limits, rows another
        // claim holds): stop only when a round found nothing.
        if (s.claimed === 0) break;
      }
    };
    // An auto-reply still in its debounce (a burst being collected, ~2 s) is waited for within
    // the time budget instead of being left to the next kick or cron minute.
    for (;;) {
      await Promise.all(Array.from({ length: env.DISPATCH_LOOPS }, loop));
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
