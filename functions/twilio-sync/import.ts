// The three imports of a Twilio sync, each from the business's own account and scoped to it:
// numbers (a number another business owns is a conflict, left alone), message history (stored by
// private.import_twilio_message, which decides what is this business's and new) and calls to or
// from its numbers. Each is idempotent, so a second sync adds nothing.
import type { Sql } from '../_shared/db.ts';
import type { TwilioClient } from '../_shared/twilio.ts';

export interface SyncReport {
  numbers: { imported: number; updated: number; conflicts: number };
  messages: { imported: number; skipped: number };
  calls: { imported: number; skipped: number };
}

export async function importNumbers(
  sql: Sql,
  tw: TwilioClient,
  tenantId: string,
  report: SyncReport,
) {
  for (const n of await tw.incomingPhoneNumbers.list({ limit: 1000 })) {
    const caps = n.capabilities ?? { sms: false, mms: false, voice: false };
    const [row] = await sql<{ tenant_id: string; inserted: boolean }[]>`
      insert into public.phone_numbers
        (tenant_id, e164, twilio_sid, friendly_name, sms, mms, voice)
      values (${tenantId}::uuid, ${n.phoneNumber}, ${n.sid}, ${n.friendlyName},
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
    if (row.tenant_id !== tenantId) report.numbers.conflicts++;
    else if (row.inserted) report.numbers.imported++;
    else report.numbers.updated++;
  }
}

export async function importMessages(
  sql: Sql,
  tw: TwilioClient,
  tenantId: string,
  limit: number,
  report: SyncReport,
) {
  for (const m of await tw.messages.list({ limit })) {
    const item = {
      sid: m.sid,
      direction: m.direction,
      from: m.from,
      to: m.to,
      body: m.body,
      status: m.status,
      num_segments: m.numSegments,
      date_created: m.dateCreated?.toISOString() ?? null,
      date_sent: m.dateSent?.toISOString() ?? null,
      error_code: m.errorCode ? String(m.errorCode) : null,
    };
    const [r] = await sql<{ conversation: string | null }[]>`
      select private.import_twilio_message(${tenantId}::uuid, ${sql.json(item)}) as conversation`;
    if (r.conversation) report.messages.imported++;
    else report.messages.skipped++;
  }
}

export async function importCalls(
  sql: Sql,
  tw: TwilioClient,
  tenantId: string,
  limit: number,
  report: SyncReport,
) {
  const ours = new Set(
    (await sql<{ e164: string }[]>`
      select e164 from public.phone_numbers where tenant_id = ${tenantId}::uuid`)
      .map((r) => r.e164),
  );
  for (const c of await tw.calls.list({ limit })) {
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
      values (${tenantId}::uuid,
        (select id from public.contacts where tenant_id = ${tenantId}::uuid
           and phone = ${other ?? ''}),
        ${c.sid}, ${c.direction ?? 'unknown'}, ${c.from}, ${c.to}, ${c.status},
        ${Number(c.duration) || null}, ${c.startTime ?? null})
      on conflict (tenant_id, provider_sid) do nothing
      returning id`;
    if (r) report.calls.imported++;
    else report.calls.skipped++;
  }
}
