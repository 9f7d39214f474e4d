// Every SQL statement of the dispatcher, one named function each and nothing else (as pg-boss's
// src/plans.ts keeps its queries). The rules and all writes are private.* functions
// (migrations/20261122002200, 002300, 006300, 006400, 20261202200000); this file only calls them.
import type { Sql } from '../_shared/db.ts';
import type { ClaimedJob, Result, SendJob } from './types.ts';

export interface SenderDefaults {
  /** The platform number when a tenant has none (TWILIO_PHONE_NUMBER). */
  platformNumber: string | null;
  /** The From of email when the tenant sets none (EMAIL_FROM). */
  emailFrom: string;
}

export function plans(sql: Sql, d: SenderDefaults) {
  return {
    /** Claims up to `batch` due messages; each comes prepared (ready) or held for a step. */
    async claim(batch: number, leaseSeconds: number): Promise<ClaimedJob[]> {
      const rows = await sql<{ j: ClaimedJob }[]>`
        select j from private.claim_sends(${batch}, ${leaseSeconds}, ${d.platformNumber},
          ${d.emailFrom}) j`;
      return rows.map((r) => r.j);
    },

    /** Prepares held rows once their step ran; a row that moved on meanwhile is left out. */
    async prepare(items: { id: string; attempt: number }[]): Promise<SendJob[]> {
      const rows = await sql<{ j: Omit<SendJob, 'ready'> }[]>`
        select j from private.prepare_sends(${sql.json(items)}, ${d.platformNumber},
          ${d.emailFrom}) j`;
      return rows.map((r) => ({ ...r.j, ready: true }));
    },

    /** Writes a group of results in one transaction. */
    async recordResults(results: Result[]): Promise<void> {
      await sql`select private.record_send_results(${
        sql.json(results as unknown as Parameters<Sql['json']>[0])
      })`;
    },

    /** Which of these provider sids already belong to one of our messages. */
    async knownSids(sids: string[]): Promise<Set<string>> {
      if (!sids.length) return new Set();
      const rows = await sql<{ provider_sid: string }[]>`
        select provider_sid from public.messages where provider_sid = any(${sids}::text[])`;
      return new Set(rows.map((r) => r.provider_sid));
    },

    /**
     * Whether any message is due now. A claim can come back empty while rows are due: their
     * tenants' rate counters are held by claims running side by side (SKIP LOCKED).
     */
    async anyDue(): Promise<boolean> {
      const [r] = await sql<{ due: boolean }[]>`
        select exists (select 1 from public.messages
                        where status = 'queued' and next_attempt_at <= now()) as due`;
      return r.due;
    },

    /** Asks SQL for another invocation (private.kick_dispatch posts it through pg_net). */
    async kick(reason: string): Promise<void> {
      await sql`select private.kick_dispatch(${reason})`;
    },
  };
}

export type Plans = ReturnType<typeof plans>;
