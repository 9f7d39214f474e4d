// dispatch: sends through the Twilio fake (wire format, StatusCallback), sticky sender and
// rotation, every error class, unknown outcomes and a crash between the provider's 2xx and the
// database write (nothing lost, nothing sent twice), STOP, the WhatsApp window, quiet hours,
// templates, and email through Resend and a real SMTP server with threading.
import assert from 'node:assert/strict';
import { createDispatcher, type DispatchOptions } from '../../../functions/dispatch/dispatcher.ts';
import { sendSlots } from '../../../functions/dispatch/slots.ts';
import { createHandler as dispatchHandler } from '../../../functions/dispatch/handler.ts';
import { createHandler as inboundHandler } from '../../../functions/twilio-inbound/handler.ts';
import { type FakeTwilio, startFakeTwilio } from '../fakes/twilio.ts';
import { startFakeResend } from '../fakes/resend.ts';
import { startSmtp } from '../fakes/smtp.ts';
import {
  addNumber,
  conversation,
  deps,
  makeContact,
  makeTenant,
  message,
  pauseDispatchKicks,
  PUBLIC_URL,
  queue,
  sid,
  sql,
  stackEnv,
  test,
  twilioRequest,
  until,
} from './_env.ts';
import { storeDispatchSecrets } from '../../stack/dispatch_secrets.ts';

function dispatcher(
  fake: FakeTwilio,
  opts: DispatchOptions = {},
  env: Record<string, string> = {},
) {
  return createDispatcher(deps({ TWILIO_API_URL: fake.url, ...env }), opts);
}

const createsTo = (fake: FakeTwilio, to: string) => fake.creates().filter((r) => r.form.To === to);

async function withFake(fn: (fake: FakeTwilio) => Promise<void>) {
  const fake = startFakeTwilio();
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

/** Makes the lease of a message run out now and lets SQL requeue it (what pg_cron does). */
async function expireLease(id: string) {
  await sql()`update public.messages set lease_until = now() - interval '1 second'
               where id = ${id} and status = 'sending'`;
  await sql()`select private.expire_leases()`;
}

test('setup: pause the stack dispatcher so these tests own their rows', async () => {
  await pauseDispatchKicks(true);
});

test('an SMS goes out in Twilio wire format and is recorded as sent', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    const n = await addNumber(t.id);
    const c = await makeContact(t.id);
    const id = await queue(t.id, c.id, { body: 'Your table is ready ☺' });
    const stats = await dispatcher(fake).drain(10_000);
    assert.ok(stats.sent >= 1);
    const [req] = createsTo(fake, c.phone!);
    assert.ok(req, 'Twilio received the send');
    assert.equal(req.path, `/2010-04-01/Accounts/${req.username}/Messages.json`);
    assert.equal(req.form.From, n.e164);
    assert.equal(req.form.Body, 'Your table is ready ☺');
    assert.equal(req.form.StatusCallback, `${PUBLIC_URL}/twilio-status?mid=${id}`);
    const row = await message(id);
    assert.equal(row.status, 'sent');
    const sent = fake.messages.find((m) => m.to === c.phone)!;
    assert.equal(row.provider_sid, sent.sid);
    assert.equal(row.from_address, n.e164);
    assert.equal(row.segments, 1);
    const [a] = await sql()`select outcome from private.send_attempts where message_id = ${id}`;
    assert.equal(a.outcome, 'sent');
  });
});

test('sticky sender, least-recently-used rotation, messaging service fallback', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    const n1 = await addNumber(t.id, { last_used_at: new Date(Date.now() - 60_000) });
    const n2 = await addNumber(t.id, { last_used_at: new Date(Date.now() - 120_000) });
    const a = await makeContact(t.id);
    const b = await makeContact(t.id);
    const d = dispatcher(fake);
    await queue(t.id, a.id);
    await d.drain(10_000);
    // n2 was used least recently.
    assert.equal(createsTo(fake, a.phone!)[0].form.From, n2.e164);
    await queue(t.id, b.id);
    await d.drain(10_000);
    assert.equal(createsTo(fake, b.phone!)[0].form.From, n1.e164);
    // a's conversation sticks to n2 even though n2 is now the most recently used.
    await queue(t.id, a.id, { body: 'second' });
    await d.drain(10_000);
    assert.equal(createsTo(fake, a.phone!)[1].form.From, n2.e164);
    // The sticky number leaves the tenant: rotation picks another one.
    await sql()`delete from public.phone_numbers where id = ${n2.id}`;
    await queue(t.id, a.id, { body: 'third' });
    await d.drain(10_000);
    assert.equal(createsTo(fake, a.phone!)[2].form.From, n1.e164);

    // No numbers at all: the tenant's Messaging Service.
    const t2 = await makeTenant({ messaging_service_sid: 'MG' + '1'.repeat(32) });
    const c2 = await makeContact(t2.id);
    await queue(t2.id, c2.id);
    await d.drain(10_000);
    const [req] = createsTo(fake, c2.phone!);
    assert.equal(req.form.MessagingServiceSid, 'MG' + '1'.repeat(32));
    assert.equal(req.form.From, undefined);
  });
});

test('a number another dispatcher is touching does not hold this one up', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    const n = await addNumber(t.id, { last_used_at: new Date(Date.now() - 60_000) });
    const c = await makeContact(t.id);
    await queue(t.id, c.id);
    // Another round's open transaction holds the number's row (as its pick_senders does until it
    // commits). Should the dispatcher wait for it, the guard ends that transaction after 5 s and
    // the timing below fails.
    const other = await sql().reserve();
    const d = dispatcher(fake);
    let guard: ReturnType<typeof setTimeout> | undefined;
    try {
      await other`begin`;
      await other`select 1 from public.phone_numbers where id = ${n.id} for no key update`;
      guard = setTimeout(() => void other`rollback`.catch(() => {}), 5_000);
      const started = performance.now();
      const stats = await d.drain(10_000);
      const took = performance.now() - started;
      assert.equal(stats.sent, 1, 'sent while the number was locked elsewhere');
      assert.ok(took < 3_000, `waited ${took.toFixed(0)} ms for the other transaction`);
      assert.equal(createsTo(fake, c.phone!)[0].form.From, n.e164);
    } finally {
      clearTimeout(guard);
      await other`rollback`.catch(() => {});
      other.release();
    }
  });
});

test('provider errors: permanent fail at once, 21610 opts out, transient retry later', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const cases = [
      { status: 400, code: 21211, expect: 'failed' },
      { status: 400, code: 21610, expect: 'failed' },
      { status: 400, code: 30006, expect: 'failed' },
      { status: 400, code: 63016, expect: 'failed' },
      { status: 429, code: 20429, expect: 'queued' },
      { status: 400, code: 30003, expect: 'queued' },
      { status: 400, code: 30008, expect: 'queued' },
      { status: 500, code: 20500, expect: 'queued' },
      { status: 503, code: 20503, expect: 'queued' },
    ];
    const rows: { id: string; phone: string; contact: string }[] = [];
    for (const cs of cases) {
      const c = await makeContact(t.id);
      fake.inject({ match: (f) => f.To === c.phone, status: cs.status, code: cs.code });
      rows.push({ id: await queue(t.id, c.id), phone: c.phone!, contact: c.id });
    }
    await dispatcher(fake).drain(10_000);
    for (const [i, cs] of cases.entries()) {
      const row = await message(rows[i].id);
      assert.equal(row.status, cs.expect, `${cs.code}`);
      assert.equal(row.error_code, String(cs.code), `${cs.code}`);
      if (cs.expect === 'queued') {
        assert.ok(row.next_attempt_at.getTime() > Date.now() + 10_000, `${cs.code} backs off`);
      }
      assert.equal(fake.messages.filter((m) => m.to === rows[i].phone).length, 0);
    }
    const [c21610] = await sql()`select opted_out_channels from public.contacts
      where id = ${rows[1].contact}`;
    assert.deepEqual(c21610.opted_out_channels, ['sms']);

    // A transient error then success on the retry.
    const retried = rows[4];
    await sql()`update public.messages set next_attempt_at = now() where id = ${retried.id}`;
    await dispatcher(fake).drain(10_000);
    const row = await message(retried.id);
    assert.equal(row.status, 'sent');
    assert.equal(row.attempts, 2);
    assert.equal(row.error_code, null);
  });
});

test('a send that could outlast its lease is not started; the next claim sends it once', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const c = await makeContact(t.id);
    const id = await queue(t.id, c.id);
    // A 6 s lease cannot hold a 2 s provider timeout plus the 5 s margin: nothing may start.
    const short = dispatcher(fake, {}, { DISPATCH_LEASE_SECONDS: '6', TWILIO_TIMEOUT_MS: '2000' });
    const s1 = await short.drain(10_000);
    assert.equal(s1.claimed, 1);
    assert.equal(s1.deferred, 1);
    assert.equal(createsTo(fake, c.phone!).length, 0, 'nothing reached Twilio');
    assert.equal((await message(id)).status, 'sending');

    await expireLease(id);
    const s2 = await dispatcher(fake).drain(10_000);
    assert.equal(s2.sent, 1);
    assert.equal((await message(id)).status, 'sent');
    assert.equal(createsTo(fake, c.phone!).length, 1, 'sent exactly once');
  });
});

test('send slots: never more than their size at once, one claimer at a time', async () => {
  const slots = sendSlots(3);
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const task = () =>
    slots.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
    });
  const tasks = Array.from({ length: 7 }, task);
  await Promise.resolve();
  assert.equal(running, 3, 'three started');
  // 4 sends are waiting: a claimer asking for room below 4 waits, one below 5 gets it.
  let first = false;
  let second = false;
  const releaseFirst = slots.room(5).then((release) => {
    first = true;
    return release;
  });
  const secondRoom = slots.room(5).then((release) => {
    second = true;
    return release;
  });
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(first, true, 'room below 5 with 4 waiting');
  assert.equal(second, false, "the first claimer's batch counts as waiting until released");
  (await releaseFirst)();
  // Still 4 waiting and nothing reserved: the second claimer gets room now.
  (await secondRoom)();
  assert.equal(second, true);
  // Open the gates one by one, letting each finished send hand its slot on (bounded, so a broken
  // hand-over fails the test instead of spinning).
  for (let i = 0; i < 100 && (gates.length || running); i++) {
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  }
  await Promise.all(tasks);
  assert.equal(peak, 3);
});

/** A POST to the dispatch function as SQL makes it (service role; kick_dispatch's body). */
function invocation(body: unknown = { reason: 'test' }, token = stackEnv.serviceKey) {
  return new Request('http://127.0.0.1:9/dispatch', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('several invocations at once never send a message twice', async () => {
  await withFake(async (fake) => {
    fake.setLatency(3);
    const ids: string[] = [];
    const phones: string[] = [];
    for (let k = 0; k < 3; k++) {
      const t = await makeTenant();
      await addNumber(t.id);
      for (let i = 0; i < 80; i++) {
        const c = await makeContact(t.id);
        phones.push(c.phone!);
        ids.push(await queue(t.id, c.id, { body: `Concurrent ${i}` }));
      }
    }
    // Four isolates, each with two claim loops of small batches and a cap of 60 messages per
    // invocation, invoked again while they report work left: claims interleave all the time.
    const env = { TWILIO_API_URL: fake.url, DISPATCH_BATCH: '15', DISPATCH_LOOPS: '2' };
    const handlers = Array.from({ length: 4 }, () => dispatchHandler(deps(env)));
    let invocations = 0;
    await Promise.all(handlers.map(async (h) => {
      for (let round = 0; round < 50; round++) {
        const res = await h(invocation({ reason: 'continue', max_messages: 60 }));
        assert.equal(res.status, 200);
        const stats = await res.json();
        invocations++;
        if (!stats.continued) return;
      }
    }));
    assert.ok(invocations > 4, `the cap split the work (${invocations} invocations)`);
    const rows = await sql()`select status, provider_sid from public.messages
                              where id = any(${ids}::uuid[])`;
    assert.equal(rows.filter((r) => r.status === 'sent').length, ids.length, 'all sent');
    const posted = new Map<string, number>();
    for (const r of fake.creates()) {
      const to = String(r.form.To);
      posted.set(to, (posted.get(to) ?? 0) + 1);
    }
    const twice = phones.filter((p) => (posted.get(p) ?? 0) !== 1);
    assert.deepEqual(twice, [], 'each message reached Twilio exactly once');
    assert.equal(new Set(rows.map((r) => r.provider_sid)).size, ids.length);
  });
});

test('a capped invocation leaves the rest due and asks SQL for another (kick_dispatch)', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await queue(t.id, (await makeContact(t.id)).id));
    // The kick goes where a project's Vault points pg_net: here a recording endpoint, so that the
    // stack's own dispatch does not take the rest of the rows.
    const kicks: string[] = [];
    const recorder = Deno.serve(
      { hostname: '127.0.0.1', port: 0, onListen: () => {} },
      async (r) => {
        kicks.push((await r.json()).reason);
        return Response.json({ claimed: 0 });
      },
    );
    await storeDispatchSecrets(stackEnv.dbUrl, {
      projectUrl: `http://127.0.0.1:${recorder.addr.port}`,
      serviceKey: 'recorder',
    });
    try {
      const d = dispatcher(fake, {}, { DISPATCH_BATCH: '5', DISPATCH_LOOPS: '1' });
      const first = await d.drain(10_000, 5, 5);
      assert.equal(first.claimed, 5);
      assert.equal(first.continued, true);
      await until(() => Promise.resolve(kicks.includes('continue')), 5_000, 'the continue kick');
      const left = await sql()`select count(*)::int as n from public.messages
                                where id = any(${ids}::uuid[]) and status = 'queued'`;
      assert.ok(left[0].n >= 7, 'the rest stays queued for the next invocation');
      const rest = await d.drain(10_000);
      assert.equal(rest.continued, false, 'nothing left: no kick');
      const sent = await sql()`select count(*)::int as n from public.messages
                                where id = any(${ids}::uuid[]) and status = 'sent'`;
      assert.equal(sent[0].n, 12);
    } finally {
      // Back to the paused state this file runs in (no service_key: kicks call nothing).
      await pauseDispatchKicks(true);
      await recorder.shutdown();
    }
  });
});

test('the dispatch endpoint: service role only, bounded budget, clear errors', async () => {
  await withFake(async (fake) => {
    const h = dispatchHandler(deps({ TWILIO_API_URL: fake.url }));
    const anon = await h(invocation({}, stackEnv.anonKey));
    assert.equal(anon.status, 403);
    await anon.body?.cancel();
    const none = await h(new Request('http://127.0.0.1:9/dispatch', { method: 'POST' }));
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const get = await h(new Request('http://127.0.0.1:9/dispatch'));
    assert.equal(get.status, 405);
    await get.body?.cancel();
    const bad = await h(invocation('{not json'));
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, 'invalid_json');
    // A budget past what fits pg_net's 5 s timeout is refused, not silently run.
    const long = await h(invocation({ max_millis: 60_000 }));
    assert.equal(long.status, 400);
    assert.equal((await long.json()).error.code, 'invalid_body');
    const extra = await h(invocation({ reason: 'cron', sql: 'drop table x' }));
    assert.equal(extra.status, 400);
    await extra.body?.cancel();
    const ok = await h(invocation({ reason: 'cron', due: 3, at: new Date().toISOString() }));
    assert.equal(ok.status, 200);
    const stats = await ok.json();
    assert.equal(typeof stats.claimed, 'number');
    assert.equal(typeof stats.continued, 'boolean');
  });
});

test('timeout before Twilio took it: unknown outcome, reconciled as absent, sent once', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const c = await makeContact(t.id);
    fake.inject({ match: (f) => f.To === c.phone, hang: 'before' });
    const id = await queue(t.id, c.id);
    const s1 = await dispatcher(fake).drain(10_000);
    assert.ok(s1.unknown >= 1);
    assert.equal((await message(id)).status, 'sending');
    const [a] = await sql()`select outcome from private.send_attempts where message_id = ${id}`;
    assert.equal(a.outcome, 'unknown');

    await expireLease(id);
    const s2 = await dispatcher(fake).drain(10_000);
    assert.ok(s2.sent >= 1);
    const row = await message(id);
    assert.equal(row.status, 'sent');
    assert.equal(fake.messages.filter((m) => m.to === c.phone).length, 1);
    assert.equal(row.provider_sid, fake.messages.find((m) => m.to === c.phone)!.sid);
    // It looked before sending again.
    assert.ok(fake.requests.some((r) => r.method === 'GET' && r.query.To === c.phone));
  });
});

test('timeout after Twilio took it: reconciled from Twilio, not sent again', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const c = await makeContact(t.id);
    fake.inject({ match: (f) => f.To === c.phone, hang: 'after' });
    const id = await queue(t.id, c.id);
    await dispatcher(fake).drain(10_000);
    assert.equal((await message(id)).status, 'sending');
    await expireLease(id);
    const s2 = await dispatcher(fake).drain(10_000);
    assert.ok(s2.reconciled >= 1);
    const row = await message(id);
    assert.equal(row.status, 'sent');
    assert.equal(createsTo(fake, c.phone!).length, 1);
    assert.equal(row.provider_sid, fake.messages.find((m) => m.to === c.phone)!.sid);
  });
});

test('reconciling never takes the copy of another row with the same text', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const c = await makeContact(t.id);
    // Row A goes out normally.
    const a = await queue(t.id, c.id, { body: 'Same words' });
    await dispatcher(fake).drain(10_000);
    assert.equal((await message(a)).status, 'sent');
    // Row B, same text to the same number, times out before Twilio takes it.
    fake.inject({ match: (f) => f.To === c.phone, hang: 'before' });
    const b = await queue(t.id, c.id, { body: 'Same words' });
    await dispatcher(fake).drain(10_000);
    await expireLease(b);
    await dispatcher(fake).drain(10_000);
    const rowA = await message(a);
    const rowB = await message(b);
    assert.equal(rowB.status, 'sent');
    assert.notEqual(rowB.provider_sid, rowA.provider_sid, "B got its own send, not A's");
    assert.equal(fake.messages.filter((m) => m.to === c.phone).length, 2);
  });
});

test('dispatcher killed between the provider 2xx and the DB write: nothing lost, nothing twice', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const c = await makeContact(t.id);
    const id = await queue(t.id, c.id, { body: 'crash test' });
    const child = new Deno.Command(Deno.execPath(), {
      args: ['run', '-A', new URL('./_crash_dispatcher.ts', import.meta.url).pathname],
      env: { CRASH_MESSAGE_ID: id, FAKE_TWILIO_URL: fake.url },
      stdout: 'piped',
      stderr: 'piped',
    });
    const out = await child.output();
    assert.equal(out.code, 137, new TextDecoder().decode(out.stderr));
    // Twilio has it; our row does not know yet.
    assert.equal(fake.messages.filter((m) => m.to === c.phone).length, 1);
    let row = await message(id);
    assert.equal(row.status, 'sending');
    assert.equal(row.provider_sid, null);

    await expireLease(id);
    assert.equal((await message(id)).status, 'queued');
    await dispatcher(fake).drain(10_000);
    row = await message(id);
    assert.equal(row.status, 'sent');
    assert.equal(createsTo(fake, c.phone!).length, 1, 'sent exactly once');
    assert.equal(row.provider_sid, fake.messages.find((m) => m.to === c.phone)!.sid);
  });
});

test('STOP, then a send attempt: nothing reaches Twilio', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    const n = await addNumber(t.id);
    const c = await makeContact(t.id);
    // Queued before the STOP arrives, due later.
    const early = await queue(t.id, c.id, { body: 'early' });
    await sql()`update public.messages set next_attempt_at = now() + interval '1 hour'
                 where id = ${early}`;
    const inbound = inboundHandler(deps());
    const res = await inbound(twilioRequest('twilio-inbound', {
      MessageSid: sid(),
      AccountSid: 'AC0000000000000000000000000000fa4e',
      From: c.phone!,
      To: n.e164,
      Body: 'STOP',
    }));
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const late = await queue(t.id, c.id, { body: 'late' });
    await sql()`update public.messages set next_attempt_at = now() where id = ${early}`;
    await dispatcher(fake).drain(10_000);
    assert.equal(createsTo(fake, c.phone!).length, 0);
    for (const id of [early, late]) {
      const row = await message(id);
      assert.equal(row.status, 'canceled');
      assert.equal(row.error_code, 'opted_out');
    }
  });
});

test('WhatsApp: free-form outside 24 h is refused; inside it goes with whatsapp: addresses', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    const n = await addNumber(t.id, { whatsapp: true, sms: false });
    const old = await makeContact(t.id);
    await conversation(t.id, old.id, 'whatsapp', {
      last_inbound_at: new Date(Date.now() - 25 * 3600_000),
    });
    const closed = await queue(t.id, old.id, { channel: 'whatsapp' });
    const recent = await makeContact(t.id);
    await conversation(t.id, recent.id, 'whatsapp', {
      last_inbound_at: new Date(Date.now() - 3600_000),
    });
    const open = await queue(t.id, recent.id, { channel: 'whatsapp' });
    await dispatcher(fake).drain(10_000);
    const c = await message(closed);
    assert.equal(c.status, 'failed');
    assert.equal(c.error_code, 'whatsapp_window_closed');
    assert.equal(createsTo(fake, `whatsapp:${old.phone}`).length, 0);
    const o = await message(open);
    assert.equal(o.status, 'sent');
    const [req] = createsTo(fake, `whatsapp:${recent.phone}`);
    assert.equal(req.form.From, `whatsapp:${n.e164}`);
  });
});

test('quiet hours defer a reminder; a manual message goes at once', async () => {
  await withFake(async (fake) => {
    // Quiet from an hour ago to an hour from now, in UTC.
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const t = await makeTenant({
      timezone: 'UTC',
      quiet_hours_start: hhmm(new Date(Date.now() - 3600_000)),
      quiet_hours_end: hhmm(new Date(Date.now() + 3600_000)),
    });
    await addNumber(t.id);
    const c = await makeContact(t.id, { timezone: 'UTC' });
    const reminder = await queue(t.id, c.id, { kind: 'reminder', body: 'See you tomorrow' });
    const manual = await queue(t.id, c.id, { kind: 'manual', body: 'Typed by a person' });
    await dispatcher(fake).drain(10_000);
    const r = await message(reminder);
    assert.equal(r.status, 'queued');
    assert.ok(r.next_attempt_at.getTime() > Date.now() + 30 * 60_000);
    assert.equal((await message(manual)).status, 'sent');
    assert.deepEqual(createsTo(fake, c.phone!).map((x) => x.form.Body), ['Typed by a person']);
  });
});

test('a template body is rendered at send time', async () => {
  await withFake(async (fake) => {
    const t = await makeTenant();
    await addNumber(t.id);
    const c = await makeContact(t.id);
    const [tpl] = await sql()`insert into public.templates (tenant_id, name, body)
      values (${t.id}, 'Greeting', 'Hi {first_name}, greetings from {business_name}!')
      returning id`;
    const id = await queue(t.id, c.id, {
      body: '',
      template_id: tpl.id,
      variables: sql().json({ first_name: 'Pat', business_name: 'Salon Uno' }),
    });
    await dispatcher(fake).drain(10_000);
    assert.equal(createsTo(fake, c.phone!)[0]?.form.Body, 'Hi Pat, greetings from Salon Uno!');
    assert.equal((await message(id)).body, 'Hi Pat, greetings from Salon Uno!');
  });
});

test('email through Resend: idempotency key, Message-ID, threaded on the last inbound mail', async () => {
  const resend = startFakeResend();
  const fake = startFakeTwilio();
  try {
    const t = await makeTenant({ email_from: 'Salon <hello@salon.example>' });
    const c = await makeContact(t.id, { email: `pat.${crypto.randomUUID()}@example.com` });
    const conv = await conversation(t.id, c.id, 'email', { subject: 'Booking question' });
    await sql()`insert into public.messages (tenant_id, conversation_id, contact_id, direction,
      channel, kind, body, status, email_message_id)
      values (${t.id}, ${conv}, ${c.id}, 'inbound', 'email', 'inbound', 'Hello?', 'received',
        '<inbound-1@mail.example>')`;
    const id = await queue(t.id, c.id, { channel: 'email', body: 'Yes, 3pm works.' });
    const env = {
      EMAIL_PROVIDER: 'resend',
      RESEND_API_URL: resend.url,
      RESEND_API_KEY: resend.apiKey,
    };
    await dispatcher(fake, {}, env).drain(10_000);
    const mine = resend.sent.filter((e) => e.body.to[0] === c.email);
    assert.equal(mine.length, 1);
    const e = mine[0];
    assert.equal(e.idempotencyKey, `message-${id}`);
    assert.equal(e.body.from, 'Salon <hello@salon.example>');
    assert.equal(e.body.subject, 'Re: Booking question');
    assert.equal(e.body.headers?.['In-Reply-To'], '<inbound-1@mail.example>');
    const row = await message(id);
    assert.equal(row.status, 'sent');
    assert.equal(row.provider_sid, `resend:${e.id}`);
    assert.equal(row.email_message_id, `<${id}@switchboard.local>`);

    // The dispatcher dies after Resend accepted a mail (the hook throws once): the retry sends
    // the same idempotency key and Resend answers with the first email instead of a second one.
    const c2 = await makeContact(t.id, { email: `kim.${crypto.randomUUID()}@example.com` });
    const id2 = await queue(t.id, c2.id, { channel: 'email', body: 'Once only' });
    let crashed = false;
    await dispatcher(fake, {
      afterProviderAccepted: (mid) => {
        if (mid === id2 && !crashed) {
          crashed = true;
          throw new Error('simulated crash after the provider accepted');
        }
      },
    }, env).drain(10_000);
    assert.ok(crashed);
    assert.notEqual((await message(id2)).status, 'sent');
    await sql()`update public.messages set next_attempt_at = now() where id = ${id2}`;
    await dispatcher(fake, {}, env).drain(10_000);
    const to2 = (x: { body: { to: string[] } }) => x.body.to[0] === c2.email;
    assert.equal(resend.requests.filter(to2).length, 2);
    assert.equal(resend.sent.filter(to2).length, 1);
    const row2 = await message(id2);
    assert.equal(row2.status, 'sent');
    assert.equal(row2.provider_sid, `resend:${resend.sent.find(to2)!.id}`);

    // Resend refusing the address (422) fails the message; a 500 retries.
    const bad = await makeContact(t.id, { email: `bad.${crypto.randomUUID()}@example.com` });
    const badId = await queue(t.id, bad.id, { channel: 'email', body: 'x' });
    resend.failNext(422);
    await dispatcher(fake, {}, env).drain(10_000);
    assert.equal((await message(badId)).status, 'failed');
    assert.equal((await message(badId)).error_code, 'resend_422');
  } finally {
    await resend.close();
    await fake.close();
  }
});

test('email through a real SMTP server (smtp-server) with In-Reply-To', async () => {
  const smtp = await startSmtp();
  const fake = startFakeTwilio();
  try {
    const t = await makeTenant();
    const c = await makeContact(t.id, { email: `sam.${crypto.randomUUID()}@example.com` });
    const id = await queue(t.id, c.id, {
      channel: 'email',
      subject: 'Your order',
      body: 'It shipped.',
      in_reply_to: '<order-q@mail.example>',
    });
    await dispatcher(fake, {}, { EMAIL_PROVIDER: 'smtp', SMTP_URL: smtp.url }).drain(10_000);
    const mail = smtp.mails.find((m) => m.to.includes(c.email!));
    assert.ok(mail, 'the SMTP server received the mail');
    assert.match(mail.raw, /Subject: Your order/);
    assert.match(mail.raw, /In-Reply-To: <order-q@mail\.example>/);
    assert.match(mail.raw, new RegExp(`Message-ID: <${id}@switchboard\\.local>`));
    assert.equal((await message(id)).status, 'sent');
  } finally {
    await smtp.close();
    await fake.close();
  }
});

test('teardown: resume the stack dispatcher', async () => {
  await pauseDispatchKicks(false);
});
