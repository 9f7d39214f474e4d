// twilio-status: signed callbacks move messages forward only, keep the first error, set
// delivered_at/read_at; duplicates and out-of-order callbacks change nothing; a callback for a
// send the dispatcher never recorded attaches the sid through ?mid=; a callback that comes before
// the send's result is written is kept and applied when the result lands (another account's early
// callback: security.test.ts).
import assert from 'node:assert/strict';
import { createHandler } from '../../../functions/twilio-status/handler.ts';
import { FAKE_ACCOUNT_SID } from '../fakes/twilio.ts';
import {
  deps,
  makeContact,
  makeTenant,
  message,
  queue,
  sid,
  sql,
  test,
  twilioRequest,
  until,
} from './_env.ts';

const handler = createHandler(deps());

async function sentMessage(): Promise<{ id: string; sid: string }> {
  const t = await makeTenant();
  const c = await makeContact(t.id);
  const id = await queue(t.id, c.id, { next_attempt_at: new Date(Date.now() + 3600_000) });
  const providerSid = sid();
  // As the dispatcher would: claimed (sending), then the provider's sid recorded.
  await sql()`update public.messages set status = 'sending', attempts = 1,
                lease_until = now() + interval '1 minute' where id = ${id}`;
  await sql()`select private.record_send_result(${id}::uuid, ${providerSid})`;
  return { id, sid: providerSid };
}

function callback(
  providerSid: string,
  status: string,
  extra: Record<string, string> = {},
  query = '',
) {
  return twilioRequest('twilio-status', {
    AccountSid: FAKE_ACCOUNT_SID,
    MessageSid: providerSid,
    MessageStatus: status,
    SmsSid: providerSid,
    SmsStatus: status,
    To: '+14155550100',
    From: '+15005550006',
    ApiVersion: '2010-04-01',
    ...extra,
  }, { query });
}

async function post(req: Request) {
  const res = await handler(req);
  const body = await res.json();
  return { status: res.status, body };
}

test('sent -> delivered -> read sets the timestamps; duplicates change nothing', async () => {
  const m = await sentMessage();
  assert.equal((await post(callback(m.sid, 'delivered'))).status, 200);
  let row = await message(m.id);
  assert.equal(row.status, 'delivered');
  assert.ok(row.delivered_at);
  const deliveredAt = row.delivered_at.getTime();
  assert.equal((await post(callback(m.sid, 'delivered'))).status, 200);
  row = await message(m.id);
  assert.equal(row.delivered_at.getTime(), deliveredAt);
  await post(callback(m.sid, 'read'));
  row = await message(m.id);
  assert.equal(row.status, 'read');
  assert.ok(row.read_at);
});

test('out of order: a late "sent" or "failed" after "delivered" does not move it back', async () => {
  const m = await sentMessage();
  await post(callback(m.sid, 'delivered'));
  await post(callback(m.sid, 'sent'));
  await post(callback(m.sid, 'queued'));
  await post(callback(m.sid, 'failed', { ErrorCode: '30003' }));
  const row = await message(m.id);
  assert.equal(row.status, 'delivered');
  assert.equal(row.error_code, null);
});

test('the first error code is kept', async () => {
  const m = await sentMessage();
  await post(callback(m.sid, 'undelivered', { ErrorCode: '30005', ErrorMessage: 'Unknown' }));
  await post(callback(m.sid, 'failed', { ErrorCode: '30008' }));
  const row = await message(m.id);
  assert.equal(row.status, 'undelivered');
  assert.equal(row.error_code, '30005');
  assert.ok(row.failed_at);
});

test('unsigned, badly signed or malformed callbacks: 403 / 400, nothing changes', async () => {
  const m = await sentMessage();
  const unsigned = twilioRequest('twilio-status', {
    AccountSid: FAKE_ACCOUNT_SID,
    MessageSid: m.sid,
    MessageStatus: 'delivered',
  }, { signature: null });
  assert.equal((await post(unsigned)).status, 403);
  const wrongToken = twilioRequest('twilio-status', {
    AccountSid: FAKE_ACCOUNT_SID,
    MessageSid: m.sid,
    MessageStatus: 'delivered',
  }, { token: 'someone-else' });
  assert.equal((await post(wrongToken)).status, 403);
  const unknownAccount = twilioRequest('twilio-status', {
    AccountSid: 'AC' + 'f'.repeat(32),
    MessageSid: m.sid,
    MessageStatus: 'delivered',
  });
  assert.equal((await post(unknownAccount)).status, 403);
  const bad = await post(callback(m.sid, 'exploded'));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_body');
  assert.equal((await message(m.id)).status, 'sent');
});

test('a callback for a send the dispatcher never recorded attaches the sid (?mid=)', async () => {
  const t = await makeTenant();
  const c = await makeContact(t.id);
  const id = await queue(t.id, c.id, { next_attempt_at: new Date(Date.now() + 3600_000) });
  await sql()`update public.messages set status = 'sending', attempts = 1,
                lease_until = now() + interval '1 minute' where id = ${id}`;
  await sql()`insert into private.send_attempts (message_id, attempt, channel, to_address)
              values (${id}, 1, 'sms', ${c.phone})`;
  const providerSid = sid();
  const r = await post(callback(providerSid, 'sent', {}, `?mid=${id}`));
  assert.equal(r.status, 200);
  const row = await message(id);
  assert.equal(row.provider_sid, providerSid);
  assert.equal(row.status, 'sent');
  const [a] = await sql()`select outcome from private.send_attempts where message_id = ${id}`;
  assert.equal(a.outcome, 'reconciled');
  await post(callback(providerSid, 'delivered', {}, `?mid=${id}`));
  assert.equal((await message(id)).status, 'delivered');
});

// A claimed message mid-send: 'sending' at attempt 1 with its pending attempt row, no sid yet.
async function sendingMessage(): Promise<string> {
  const t = await makeTenant();
  const c = await makeContact(t.id);
  const id = await queue(t.id, c.id, { next_attempt_at: new Date(Date.now() + 3600_000) });
  await sql()`update public.messages set status = 'sending', attempts = 1,
                lease_until = now() + interval '1 minute' where id = ${id}`;
  await sql()`insert into private.send_attempts (message_id, attempt, channel, to_address)
              values (${id}, 1, 'sms', ${c.phone})`;
  return id;
}

// What the dispatcher writes once Twilio has answered (functions/dispatch: record_send_results).
async function dispatcherWrites(id: string, outcome: string, providerSid: string | null) {
  await sql()`select private.record_send_results(${
    sql().json([{ id, attempt: 1, outcome, sid: providerSid, segments: 1 }])
  })`;
}

async function kept(providerSid: string): Promise<number> {
  const [{ n }] = await sql()<{ n: number }[]>`
    select count(*)::int as n from private.early_status_callbacks where provider_sid = ${providerSid}`;
  return n;
}

test('a callback that arrives before the send result is recorded still sets the final status', async () => {
  const id = await sendingMessage();
  const providerSid = sid();
  // Twilio's only callback for this message, posted before the dispatcher's write: 200, kept.
  const r = await post(callback(providerSid, 'delivered'));
  assert.equal(r.status, 200);
  assert.equal((await message(id)).status, 'sending');
  await dispatcherWrites(id, 'sent', providerSid);
  const row = await message(id);
  assert.equal(row.status, 'delivered', 'the early callback is applied when the result lands');
  assert.ok(row.delivered_at);
  assert.equal(row.provider_sid, providerSid);
  assert.equal(await kept(providerSid), 0, 'and it is not kept any longer');
});

test('early callbacks out of order and duplicated: forward only, first error kept', async () => {
  const id = await sendingMessage();
  const providerSid = sid();
  await post(callback(providerSid, 'undelivered', { ErrorCode: '30005' }));
  await post(callback(providerSid, 'undelivered', { ErrorCode: '30005' }));
  await post(callback(providerSid, 'sent'));
  await post(callback(providerSid, 'failed', { ErrorCode: '30008' }));
  await dispatcherWrites(id, 'sent', providerSid);
  const row = await message(id);
  assert.equal(row.status, 'undelivered');
  assert.equal(row.error_code, '30005');
  // Later callbacks still go the ordinary way.
  await post(callback(providerSid, 'delivered'));
  assert.equal((await message(id)).status, 'undelivered');
});

test('an early callback waits out an unknown outcome and applies when reconcile finds the sid', async () => {
  const id = await sendingMessage();
  const providerSid = sid();
  await dispatcherWrites(id, 'unknown', null); // the request timed out after it left
  assert.equal((await post(callback(providerSid, 'delivered'))).status, 200);
  assert.equal((await message(id)).status, 'sending');
  await dispatcherWrites(id, 'reconciled', providerSid); // the next claim's lookup found the copy
  assert.equal((await message(id)).status, 'delivered');
});

// The callback is answered while the dispatcher's transaction that gives the row its sid is still
// open: with ?mid= too, whose record_callback_send then finds the row taken (it has a sid).
for (const query of ['', '?mid=']) {
  test(`a callback arriving while the send result is being written is applied once it commits ${query}`, async () => {
    const id = await sendingMessage();
    const providerSid = sid();
    let answered = false;
    let pending: Promise<{ status: number }> | undefined;
    await sql().begin(async (tx) => {
      // The dispatcher's write, not yet committed: the callback cannot see the sid.
      await tx`select private.record_send_results(${
        tx.json([{ id, attempt: 1, outcome: 'sent', sid: providerSid }])
      })`;
      pending = post(callback(providerSid, 'delivered', {}, query && `?mid=${id}`))
        .finally(() => answered = true);
      // Until the callback waits for a lock this transaction holds (or has already answered).
      await until(async () =>
        answered || (await sql()<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`)[0].n > 0
      );
    });
    assert.equal((await pending!).status, 200);
    assert.equal((await message(id)).status, 'delivered');
    assert.equal(await kept(providerSid), 0);
  });
}
