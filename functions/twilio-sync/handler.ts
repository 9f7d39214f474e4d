// Imports a tenant's own Twilio account (owners only): its phone numbers with capabilities, recent
// messages and recent calls, into phone_numbers, messages and calls. Only the business's own
// verified account (never the platform's: that would hand every unclaimed platform number and
// call to whoever signs up), and only what belongs to its numbers: messages and calls to or from
// one of them. Idempotent: numbers by e164/twilio_sid, messages and calls by (tenant, provider_sid),
// so running it twice adds nothing and another business's copy never blocks this one's. A number
// another tenant already owns is reported as a conflict and left alone.
import { z } from 'zod';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { ownCreds } from '../_shared/credentials.ts';
import { CORS, HttpError, json, readJson, wrap } from '../_shared/http.ts';
import { requireOwner } from '../_shared/owner.ts';
import { NotSentError, twilioClient, UnknownOutcomeError } from '../_shared/twilio.ts';

const SyncSchema = z.object({
  tenant_id: z.string().uuid(),
  limit: z.number().int().min(1).max(1000).default(200),
}).strict();

// Twilio message states -> ours (inbound rows are always 'received').
const OUTBOUND_STATUS: Record<string, string> = {
  accepted: 'sent',
  scheduled: 'sent',
  queued: 'sent',
  sending: 'sent',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'canceled',
};

export function createHandler(deps: Deps) {
  const { env, sql } = deps;
  return wrap(async (req) => {
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only');
    const p = SyncSchema.parse(await readJson(req));
    await requireOwner(req, deps, p.tenant_id);
    const creds = await ownCreds(sql, env, p.tenant_id);
    if (!creds) {
      throw new HttpError(
        409,
        'no_twilio_credentials',
        'connect your own Twilio account first: sync imports only from it',
      );
    }
    const tw = twilioClient(creds, env.TWILIO_API_URL, env.TWILIO_TIMEOUT_MS);
    const report = {
      numbers: { imported: 0, updated: 0, conflicts: 0 },
      messages: { imported: 0, skipped: 0 },
      calls: { imported: 0, skipped: 0 },
    };
    try {
      const numbers = await tw.incomingPhoneNumbers.list({ limit: 1000 });
      for (const n of numbers) {
        const caps = n.capabilities ?? { sms: false, mms: false, voice: false };
        const [row] = await sql<{ tenant_id: string; inserted: boolean }[]>`
          insert into public.phone_numbers
            (tenant_id, e164, twilio_sid, friendly_name, sms, mms, voice)
          values (${p.tenant_id}::uuid, ${n.phoneNumber}, ${n.sid}, ${n.friendlyName},
            ${!!caps.sms}, ${!!caps.mms}, ${!!caps.voice})
          on conflict (e164) do update set
            twilio_sid = case when phone_numbers.tenant_id = excluded.tenant_id
              then excluded.twilio_sid else phone_numbers.twilio_sid end,
            friendly_name = case when phone_numbers.tenant_id = excluded.tenant_id
              then excluded.friendly_name else phone_numbers.friendly_name end,
            sms = case when phone_numbers.tenant_id = excluded.tenant_id
              then excluded.sms else phone_numbers.sms end,
            mms = case when phone_numbers.tenant_id = excluded.tenant_id
              then excluded.mms else phone_numbers.mms end,
            voice = case when phone_numbers.tenant_id = excluded.tenant_id
              then excluded.voice else phone_numbers.voice end
          returning tenant_id, (xmax = 0) as inserted`;
        if (row.tenant_id !== p.tenant_id) report.numbers.conflicts++;
        else if (row.inserted) report.numbers.imported++;
        else report.numbers.updated++;
      }
      const ours = new Set(
        (await sql<{ e164: string }[]>`
          select e164 from public.phone_numbers where tenant_id = ${p.tenant_id}::uuid`)
          .map((r) => r.e164),
      );

      const importedInto = new Set<string>();
      for (const m of await tw.messages.list({ limit: p.limit })) {
        const inbound = m.direction === 'inbound';
        const ourEnd = (inbound ? m.to : m.from)?.replace(/^whatsapp:/, '');
        const other = (inbound ? m.from : m.to) ?? '';
        const channel = other.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
        if (!ourEnd || !ours.has(ourEnd) || !other) {
          report.messages.skipped++;
          continue;
        }
        const [exists] = await sql`select 1 from public.messages
          where tenant_id = ${p.tenant_id}::uuid and provider_sid = ${m.sid}`;
        if (exists) {
          report.messages.skipped++;
          continue;
        }
        if (inbound) {
          // The same path as a live webhook (contact, conversation, idempotent on the sid), but
          // keywords in old messages must not opt anybody in or out again: STOP/START are
          // stored as auto-submitted history.
          const [rec] = await sql<
            { r: { conversation_id: string } }[]
          >`select public.record_inbound(
            p_channel => ${channel}, p_from => ${other}, p_to => ${ourEnd},
            p_body => ${m.body ?? ''}, p_provider_sid => ${m.sid},
            p_auto_submitted => true, p_tenant_id => ${p.tenant_id}::uuid) as r`;
          importedInto.add(rec.r.conversation_id);
          if (m.dateCreated) {
            await sql`update public.messages set created_at = ${m.dateCreated}
                       where tenant_id = ${p.tenant_id}::uuid and provider_sid = ${m.sid}`;
          }
        } else {
          await sql.begin(async (tx) => {
            const bare = other.replace(/^whatsapp:/, '');
            const column = channel === 'whatsapp' ? 'whatsapp' : 'phone';
            await tx`insert into public.contacts (tenant_id, ${tx(column)}, preferred_channel)
                     values (${p.tenant_id}::uuid, ${bare}, ${channel}) on conflict do nothing`;
            const [c] = await tx<{ id: string }[]>`
              select id from public.contacts where tenant_id = ${p.tenant_id}::uuid
                and ${tx(column)} = private.normalize_phone(${bare})`;
            if (!c) return;
            const [conv] = await tx<{ id: string }[]>`
              select (private.ensure_conversation(${p.tenant_id}::uuid, ${c.id}::uuid, ${channel})).id`;
            const status = OUTBOUND_STATUS[m.status] ?? 'sent';
            await tx`insert into public.messages (tenant_id, conversation_id, contact_id, direction,
                channel, kind, body, status, provider_sid, from_address, to_address, segments,
                created_at, sent_at, error_code)
              values (${p.tenant_id}::uuid, ${conv.id}::uuid, ${c.id}::uuid, 'outbound', ${channel},
                'manual', ${m.body ?? ''}, ${status}, ${m.sid}, ${ourEnd}, ${bare},
                ${Number(m.numSegments) || null}, ${m.dateCreated ?? new Date()},
                ${m.dateSent ?? m.dateCreated ?? new Date()},
                ${m.errorCode ? String(m.errorCode) : null})
              on conflict (tenant_id, provider_sid) do nothing`;
          });
        }
        report.messages.imported++;
      }

      // History is not news: imported inbound messages must not show as unread.
      if (importedInto.size) {
        await sql`update public.conversations set unread_count = 0
                   where id = any(${[...importedInto]}::uuid[])`;
      }

      for (const c of await tw.calls.list({ limit: p.limit })) {
        const inbound = c.direction === 'inbound';
        // Only calls to or from one of this business's numbers.
        const ourEnd = inbound ? c.to : c.from;
        if (!ourEnd || !ours.has(ourEnd)) {
          report.calls.skipped++;
          continue;
        }
        const other = inbound ? c.from : c.to;
        const [r] = await sql<{ id: string }[]>`
          insert into public.calls (tenant_id, contact_id, provider_sid, direction, from_number,
            to_number, status, duration_seconds, started_at)
          values (${p.tenant_id}::uuid,
            (select id from public.contacts where tenant_id = ${p.tenant_id}::uuid
               and phone = ${other ?? ''}),
            ${c.sid}, ${c.direction ?? 'unknown'}, ${c.from}, ${c.to}, ${c.status},
            ${Number(c.duration) || null}, ${c.startTime ?? null})
          on conflict (tenant_id, provider_sid) do nothing
          returning id`;
        if (r) report.calls.imported++;
        else report.calls.skipped++;
      }
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if (e instanceof NotSentError || e instanceof UnknownOutcomeError) {
        throw new HttpError(502, 'twilio_unreachable', (e as Error).message);
      }
      const err = e as { status?: number; code?: number };
      if (typeof err.status === 'number') {
        throw new HttpError(
          502,
          'twilio_error',
          `Twilio answered ${err.status} (${err.code ?? ''})`,
        );
      }
      throw e;
    }
    return json(200, report, CORS);
  });
}

export const handler = lazyHandler(createHandler);
