// The dispatcher's loop alone (functions/dispatch/worker.ts), with its SQL and senders replaced by
// in-memory parts: budgets and the continuation kick, an empty claim while rows are still due,
// held jobs (AI step, reconcile), the lease guard, and grouped result writes.
import assert from 'node:assert/strict';
import type { ClaimedJob, HeldJob, Result, SendJob } from '../../../functions/dispatch/types.ts';
import { createWorker, type WorkerParts } from '../../../functions/dispatch/worker.ts';

const job = (n: number): SendJob => ({
  ready: true,
  id: `m${n}`,
  attempt: 1,
  tenant_id: 't',
  channel: 'sms',
  body: `hello ${n}`,
  variables: null,
  content_sid: null,
  media: [],
  to: `+1415000${String(n).padStart(4, '0')}`,
  from: '+15005550006',
  mss: null,
  subject: null,
  message_id: null,
  in_reply_to: null,
});

const held = (n: number, over: Partial<HeldJob>): HeldJob => ({
  ready: false,
  id: `m${n}`,
  attempt: 2,
  channel: 'sms',
  kind: 'manual',
  body: '',
  tenant_id: 't',
  conversation_id: 'c',
  template_id: null,
  template_body: null,
  variables: null,
  ai_enhance: null,
  whatsapp_content_sid: null,
  ai_step: null,
  unsettled: null,
  ...over,
});

/** An in-memory outbox: `due` jobs handed out in claim order, every call recorded. */
function parts(due: ClaimedJob[], over: Partial<WorkerParts> = {}) {
  const queue = [...due];
  const sent: string[] = [];
  const groups: Result[][] = [];
  const kicks: string[] = [];
  const prepared: string[] = [];
  const p: WorkerParts = {
    claim: (n) => Promise.resolve(queue.splice(0, n)),
    prepare: (items) => {
      prepared.push(...items.map((i) => i.id));
      return Promise.resolve(items.map((i) => ({ ...job(Number(i.id.slice(1))), ...i })));
    },
    recordResults: (rs) => {
      groups.push(rs);
      return Promise.resolve();
    },
    kick: (reason) => {
      kicks.push(reason);
      return Promise.resolve();
    },
    anyDue: () => Promise.resolve(queue.length > 0),
    senders: () => ({
      send: (j) => {
        sent.push(j.id);
        return Promise.resolve({ id: j.id, attempt: j.attempt, outcome: 'sent', sid: `SM${j.id}` });
      },
      reconcile: () => Promise.resolve(null),
    }),
    beforeSend: () => Promise.resolve(false),
    debounceWaitMs: () => Promise.resolve(null),
    config: { batch: 10, concurrency: 4, loops: 2, leaseSeconds: 60, providerTimeoutMs: 1000 },
    ...over,
  };
  return { p, queue, sent, groups, kicks, prepared };
}

Deno.test('a message cap ends the invocation and kicks one continuation', async () => {
  const o = parts(Array.from({ length: 50 }, (_, i) => job(i)));
  const stats = await createWorker(o.p).drain({ maxMillis: 5_000, maxMessages: 25 });
  assert.equal(stats.claimed, 25);
  assert.equal(stats.sent, 25);
  assert.equal(stats.continued, true);
  assert.deepEqual(o.kicks, ['continue']);
  assert.equal(o.queue.length, 25, 'the rest stays due for the next invocation');
  // Results are written in groups, not one call per message.
  assert.ok(o.groups.length < 25, `${o.groups.length} writes for 25 results`);
});

Deno.test('nothing left: no continuation', async () => {
  const o = parts(Array.from({ length: 7 }, (_, i) => job(i)));
  const stats = await createWorker(o.p).drain({ maxMillis: 5_000, maxMessages: 100 });
  assert.equal(stats.sent, 7);
  assert.equal(stats.continued, false);
  assert.deepEqual(o.kicks, []);
});

Deno.test('an empty claim while rows are due claims again instead of stopping', async () => {
  let empties = 2;
  const o = parts([job(1), job(2)]);
  const claim = o.p.claim;
  o.p.claim = (n, l) => empties-- > 0 ? Promise.resolve([]) : claim(n, l);
  const stats = await createWorker(o.p).drain({ maxMillis: 5_000, maxMessages: 100 });
  assert.equal(stats.sent, 2, 'sent after the other claims let go');
  assert.equal(stats.continued, false);
});

Deno.test('held jobs: a settled AI step is not sent; a found copy is recorded, not sent', async () => {
  const found: Result = { id: 'm2', attempt: 2, outcome: 'reconciled', sid: 'SMfound' };
  const o = parts([
    held(1, { kind: 'auto_reply', ai_step: 'compose' }),
    held(2, {
      unsettled: { since: new Date().toISOString(), from: null, to: null, body_sha256: null },
    }),
    held(3, {
      unsettled: { since: new Date().toISOString(), from: null, to: null, body_sha256: null },
    }),
  ]);
  o.p.beforeSend = (j) => Promise.resolve(j.id === 'm1');
  const senders = o.p.senders();
  o.p.senders = () => ({
    ...senders,
    reconcile: (j) => Promise.resolve(j.id === 'm2' ? found : null),
  });
  const stats = await createWorker(o.p).drain({ maxMillis: 5_000, maxMessages: 100 });
  assert.deepEqual(o.prepared, ['m3'], 'only the row whose copy was not found is prepared');
  assert.deepEqual(o.sent, ['m3']);
  assert.equal(stats.reconciled, 1);
  assert.ok(o.groups.flat().some((r) => r.id === 'm2' && r.outcome === 'reconciled'));
});

Deno.test('the lease guard: a send that could outlast the lease is not started', async () => {
  const o = parts([job(1)]);
  o.p.config = { ...o.p.config, leaseSeconds: 6, providerTimeoutMs: 2_000 };
  const stats = await createWorker(o.p).drain({ maxMillis: 5_000, maxMessages: 100 });
  assert.equal(stats.deferred, 1);
  assert.deepEqual(o.sent, []);
  assert.deepEqual(o.groups, [], 'nothing is reported: the row stays under its lease');
});
