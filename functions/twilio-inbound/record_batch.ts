// Records inbound messages in groups: a webhook arriving while earlier ones are being written
// waits for the next group (private.record_inbound_many), so a burst costs one round trip, one
// plan and one commit per group, while a lone webhook is written at once. Each webhook still gets
// its own outcome, and is answered only after its group committed (nothing acknowledged is lost).
import { z } from 'zod';
import type { Sql } from '../_shared/db.ts';

/**
 * One webhook as record_inbound_many takes it. Its SQL side is the type private.inbound_item
 * (20261122006700_record_inbound_many.sql); dev/tests/functions/twilio_inbound.test.ts checks that
 * both name the same fields.
 */
export const InboundItemSchema = z.object({
  channel: z.enum(['sms', 'whatsapp']),
  from: z.string(),
  to: z.string(),
  body: z.string(),
  provider_sid: z.string(),
  media: z.array(z.object({ url: z.string(), content_type: z.string().nullable() })),
  tenant_id: z.string().uuid(),
});
export type InboundItem = z.infer<typeof InboundItemSchema>;

/** An item the database refused; `code` is its SQLSTATE, as postgres.js errors carry it. */
export class RecordError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

// record_inbound_many keeps groups under the 64 subtransactions a backend caches.
const MAX_GROUP = 50;
// Two groups at once: one being written while the next one is planned, on a 2-core database.
const IN_FLIGHT = 2;

// Deadlock victim, serialization failure, a lock not granted within record_inbound_many's
// lock_timeout: the group committed without the item, which may go again in a later group (the
// other transaction has moved on by then).
const RETRYABLE = new Set(['40P01', '40001', '55P03']);
const MAX_TRIES = 3;

interface Waiting {
  item: InboundItem;
  tries: number;
  resolve: (r: Record<string, unknown>) => void;
  reject: (e: unknown) => void;
}

export function inboundRecorder(sql: Sql) {
  let pending: Waiting[] = [];
  let inFlight = 0;

  // Senders with a message in a group being written.
  const busy = new Set<string>();
  const sender = (w: Waiting) => `${w.item.tenant_id} ${w.item.from}`;

  /**
   * The next group: up to MAX_GROUP waiting webhooks, at most one per sender and none from a
   * sender whose earlier message is still being written. A sender's messages thus commit one
   * after the other in the order they came, each with its own transaction time (created_at
   * orders a thread).
   */
  function nextGroup(): Waiting[] {
    const group: Waiting[] = [];
    const rest: Waiting[] = [];
    const taken = new Set<string>();
    for (const w of pending) {
      const key = sender(w);
      if (group.length < MAX_GROUP && !taken.has(key) && !busy.has(key)) {
        taken.add(key);
        group.push(w);
      } else rest.push(w);
    }
    pending = rest;
    return group;
  }

  function pump() {
    while (inFlight < IN_FLIGHT && pending.length) {
      const group = nextGroup();
      if (!group.length) return; // all waiting senders are busy: pumped again when done
      for (const w of group) busy.add(sender(w));
      inFlight++;
      void write(group).finally(() => {
        for (const w of group) busy.delete(sender(w));
        inFlight--;
        pump();
      });
    }
  }

  async function write(group: Waiting[]): Promise<void> {
    let results: { ok?: Record<string, unknown>; error?: { code: string; message: string } }[];
    try {
      [{ results }] = await sql<{ results: typeof results }[]>`
        select private.record_inbound_many(${
        sql.json(group.map((g) => g.item) as unknown as Parameters<typeof sql.json>[0])
      }) as results`;
    } catch (e) {
      // The call as a whole failed (a lost connection, an error outside any item's
      // subtransaction): each webhook on its own, so that one cause does not fail the others.
      if (group.length === 1) return group[0].reject(e);
      for (const g of group) await write([g]);
      return;
    }
    if (!Array.isArray(results) || results.length !== group.length) {
      // Never expected; settle every webhook rather than leave one unanswered.
      const e = new RecordError('XX000', 'record_inbound_many returned no result per item');
      for (const g of group) g.reject(e);
      return;
    }
    group.forEach((g, i) => {
      const r = results[i];
      if (r?.ok) return g.resolve(r.ok);
      const code = r?.error?.code ?? 'XX000';
      if (RETRYABLE.has(code) && ++g.tries < MAX_TRIES) return void pending.unshift(g);
      g.reject(new RecordError(code, r?.error?.message ?? 'not recorded'));
    });
  }

  return {
    record(item: InboundItem): Promise<Record<string, unknown>> {
      return new Promise((resolve, reject) => {
        pending.push({ item, tries: 0, resolve, reject });
        pump();
      });
    },
  };
}
