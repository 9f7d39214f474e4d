// twilio-inbound: signature checks (valid, invalid, missing, tampered, wrong URL, JSON with
// bodySHA256), idempotency on MessageSid, MMS media, STOP, malformed bodies, bursts recorded in
// groups.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { createHandler } from '../../../functions/twilio-inbound/handler.ts';
import {
  InboundItemSchema,
  inboundRecorder,
  RecordError,
} from '../../../functions/twilio-inbound/record_batch.ts';
import { FAKE_AUTH_TOKEN } from '../fakes/twilio.ts';
import {
  addNumber,
  deps,
  makeTenant,
  phone,
  PUBLIC_URL,
  sid,
  sql,
  test,
  twilioRequest,
} from './_env.ts';

const handler = createHandler(deps());

async function rowsFor(providerSid: string) {
  return await sql()`select * from public.messages where provider_sid = ${providerSid}`;
}

async function setup() {
  const t = await makeTenant();
  const n = await addNumber(t.id);
  return { tenant: t, number: n.e164 };
}

function params(to: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MessageSid: sid(),
    AccountSid: 'AC0000000000000000000000000000fa4e',
    From: phone(),
    To: to,
    Body: 'Hi, is Tuesday free?',
    NumMedia: '0',
    ...extra,
  };
}

test('a correctly signed inbound SMS is stored once and answered with empty TwiML', async () => {
  const { tenant, number } = await setup();
  const p = params(number);
  const res = await handler(twilioRequest('twilio-inbound', p));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /xml/);
  assert.match(await res.text(), /<Response><\/Response>/);
  const rows = await rowsFor(p.MessageSid);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].tenant_id, tenant.id);
  assert.equal(rows[0].direction, 'inbound');
  assert.equal(rows[0].status, 'received');
  assert.equal(rows[0].body, p.Body);

  // Twilio retries the same webhook: still one row.
  const again = await handler(twilioRequest('twilio-inbound', p));
  assert.equal(again.status, 200);
  await again.body?.cancel();
  assert.equal((await rowsFor(p.MessageSid)).length, 1);
});

test('signature missing, invalid, tampered or for another URL: 403 and nothing stored', async () => {
  const { number } = await setup();
  const cases: [string, (p: Record<string, string>) => Request][] = [
    ['missing', (p) => twilioRequest('twilio-inbound', p, { signature: null })],
    ['invalid', (p) => twilioRequest('twilio-inbound', p, { signature: 'bm90LWEtc2lnbmF0dXJl' })],
    ['wrong token', (p) => twilioRequest('twilio-inbound', p, { token: 'another-token' })],
    [
      'wrong URL',
      (p) =>
        twilioRequest('twilio-inbound', p, {
          signUrl: 'https://evil.example/functions/v1/twilio-inbound',
        }),
    ],
    ['tampered', (p) => {
      const signed = twilioRequest('twilio-inbound', p);
      const sig = signed.headers.get('x-twilio-signature')!;
      return twilioRequest('twilio-inbound', { ...p, Body: 'Send me money' }, { signature: sig });
    }],
  ];
  for (const [what, make] of cases) {
    const p = params(number);
    const res = await handler(make(p));
    assert.equal(res.status, 403, what);
    const body = await res.json();
    assert.equal(body.error.code, 'invalid_signature', what);
    assert.equal((await rowsFor(p.MessageSid)).length, 0, what);
  }
});

test('the signature covers the query string', async () => {
  const { number } = await setup();
  const p = params(number);
  const good = await handler(twilioRequest('twilio-inbound', p, { query: '?src=a' }));
  assert.equal(good.status, 200);
  await good.body?.cancel();
  const p2 = params(number);
  const sig = twilioRequest('twilio-inbound', p2, { query: '?src=a' }).headers.get(
    'x-twilio-signature',
  );
  const bad = await handler(
    twilioRequest('twilio-inbound', p2, { query: '?src=b', signature: sig }),
  );
  assert.equal(bad.status, 403);
  await bad.body?.cancel();
  assert.equal((await rowsFor(p2.MessageSid)).length, 0);
});

test('JSON body with bodySHA256: valid is stored, a changed body is refused', async () => {
  const { number } = await setup();
  const p = params(number);
  const raw = JSON.stringify(p);
  const hash = createHash('sha256').update(raw).digest('hex');
  const query = `?bodySHA256=${hash}`;
  const url = `${PUBLIC_URL}/twilio-inbound${query}`;
  const sig = twilio.getExpectedTwilioSignature(FAKE_AUTH_TOKEN, url, {});
  const make = (body: string) =>
    new Request(`http://127.0.0.1:9/twilio-inbound${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-twilio-signature': sig },
      body,
    });
  const ok = await handler(make(raw));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal((await rowsFor(p.MessageSid)).length, 1);

  const p2 = { ...p, MessageSid: sid() };
  const res = await handler(make(JSON.stringify(p2)));
  assert.equal(res.status, 403);
  await res.body?.cancel();
  assert.equal((await rowsFor(p2.MessageSid)).length, 0);
});

test('malformed but signed bodies get 400 with a code and store nothing', async () => {
  const { number } = await setup();
  const bad = [
    { ...params(number), MessageSid: 'not-a-sid' },
    { ...params(number), From: 'hello' },
    { ...params(number), NumMedia: 'lots' },
  ];
  for (const p of bad) {
    const res = await handler(twilioRequest('twilio-inbound', p));
    assert.equal(res.status, 400, JSON.stringify(p));
    const body = await res.json();
    assert.equal(body.error.code, 'invalid_body');
  }
  const n = await sql()`select count(*)::int as n from public.messages
    where to_address = ${number} and direction = 'inbound'`;
  assert.equal(n[0].n, 0);

  // Signed JSON that is not JSON.
  const raw = '{"MessageSid": ';
  const hash = createHash('sha256').update(raw).digest('hex');
  const url = `${PUBLIC_URL}/twilio-inbound?bodySHA256=${hash}`;
  const res = await handler(
    new Request(`http://127.0.0.1:9/twilio-inbound?bodySHA256=${hash}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(FAKE_AUTH_TOKEN, url, {}),
      },
      body: raw,
    }),
  );
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, 'invalid_json');
});

test('a number no tenant owns: 404 unknown_number (signed with the platform token)', async () => {
  const p = params(phone());
  const res = await handler(twilioRequest('twilio-inbound', p));
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, 'unknown_number');
  assert.equal((await rowsFor(p.MessageSid)).length, 0);
});

test('MMS media URLs are kept as attachment metadata; WhatsApp is recognised', async () => {
  const { number } = await setup();
  const p = params(number, {
    MessageSid: sid('MM'),
    NumMedia: '2',
    MediaUrl0: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1',
    MediaContentType0: 'image/jpeg',
    MediaUrl1: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2',
    MediaContentType1: 'application/pdf',
  });
  const res = await handler(twilioRequest('twilio-inbound', p));
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const [row] = await rowsFor(p.MessageSid);
  assert.deepEqual(row.media, [
    { url: p.MediaUrl0, content_type: 'image/jpeg' },
    { url: p.MediaUrl1, content_type: 'application/pdf' },
  ]);

  const w = params(`whatsapp:${number}`, { From: `whatsapp:${phone()}` });
  const wr = await handler(twilioRequest('twilio-inbound', w));
  assert.equal(wr.status, 200);
  await wr.body?.cancel();
  const [wrow] = await rowsFor(w.MessageSid);
  assert.equal(wrow.channel, 'whatsapp');
});

test('STOP opts the contact out of SMS', async () => {
  const { tenant, number } = await setup();
  const from = phone();
  const res = await handler(
    twilioRequest('twilio-inbound', params(number, { From: from, Body: 'Stop' })),
  );
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const [c] = await sql()`select opted_out_channels from public.contacts
    where tenant_id = ${tenant.id} and phone = ${from}`;
  assert.deepEqual(c.opted_out_channels, ['sms']);
});

test('the inbound item is one shape: InboundItemSchema names the fields of private.inbound_item', async () => {
  const rows = await sql()<{ name: string }[]>`
    select a.attname as name from pg_attribute a
     where a.attrelid = 'private.inbound_item'::regclass and a.attnum > 0 and not a.attisdropped
     order by a.attnum`;
  assert.deepEqual(Object.keys(InboundItemSchema.shape), rows.map((r) => r.name));
});

test('a burst of webhooks: each gets its own answer, each message one row', async () => {
  const { number } = await setup();
  const valid = Array.from({ length: 30 }, () => params(number));
  // Twilio's retries of five of them, and five that pass the schema but not record_inbound (a
  // +1 number needs 10 digits after the country code).
  const retries = valid.slice(0, 5).map((p) => ({ ...p }));
  const invalid = Array.from({ length: 5 }, () => params(number, { From: '+12345678' }));
  const all = [...valid, ...retries, ...invalid];
  const answers = await Promise.all(all.map(async (p) => {
    const res = await handler(twilioRequest('twilio-inbound', p));
    return { status: res.status, body: await res.text() };
  }));
  answers.slice(0, 35).forEach((a, i) => assert.equal(a.status, 200, `webhook ${i}: ${a.body}`));
  for (const a of answers.slice(35)) {
    assert.equal(a.status, 400);
    assert.equal(JSON.parse(a.body).error.code, 'invalid_message');
  }
  const rows = await sql()<{ provider_sid: string }[]>`
    select provider_sid from public.messages where provider_sid = any(${
    all.map((p) => p.MessageSid)
  })`;
  assert.deepEqual(
    rows.map((r) => r.provider_sid).sort(),
    valid.map((p) => p.MessageSid).sort(),
    'every valid message stored once, nothing for the invalid ones',
  );
});

test('the recorder groups what arrives while it writes; a bad item fails alone', async () => {
  const { tenant, number } = await setup();
  const recorder = inboundRecorder(sql());
  const item = (from = phone()) => ({
    channel: 'sms' as const,
    from,
    to: number,
    body: 'grouped',
    provider_sid: sid(),
    media: [],
    tenant_id: tenant.id,
  });
  const items = Array.from({ length: 40 }, () => item());
  items[10] = { ...items[3] }; // a retry inside the same group
  items[20] = item('+12345678'); // refused by record_inbound
  // One customer texting three times in a row: the thread must keep that order.
  const chatty = phone();
  const thread = ['one', 'two', 'three'].map((body) => ({ ...item(chatty), body }));
  items.push(...thread);
  const outcomes = await Promise.allSettled(items.map((i) => recorder.record(i)));
  outcomes.forEach((o, n) => {
    if (n === 20) {
      assert.equal(o.status, 'rejected');
      const e = (o as PromiseRejectedResult).reason;
      assert.ok(e instanceof RecordError);
      assert.equal(e.code, '22023');
    } else assert.equal(o.status, 'fulfilled', `item ${n}`);
  });
  assert.equal(
    (outcomes[10] as PromiseFulfilledResult<Record<string, unknown>>).value.duplicate,
    true,
  );
  const rows = await sql()<{ provider_sid: string; at: string }[]>`
    select provider_sid, created_at::text as at from public.messages
     where provider_sid = any(${items.map((i) => i.provider_sid)})`;
  assert.equal(rows.length, 41, '43 items, one retry, one refused');
  const order = await sql()<{ body: string }[]>`
    select body from public.messages where provider_sid = any(${thread.map((t) => t.provider_sid)})
     order by created_at`;
  assert.deepEqual(order.map((r) => r.body), ['one', 'two', 'three'], 'one sender per group');
  // The first two went alone (nothing was being written); the rest waited and went as one group,
  // whose rows share its transaction's now().
  const perTransaction = new Map<string, number>();
  for (const r of rows) perTransaction.set(r.at, (perTransaction.get(r.at) ?? 0) + 1);
  assert.ok(Math.max(...perTransaction.values()) >= 30, JSON.stringify([...perTransaction]));
});

test('a deadlock victim goes again in a later group; one that keeps failing is refused', async () => {
  const { tenant, number } = await setup();
  // Real Postgres, made to refuse an insert as a deadlock victim would: always for one body,
  // only the first time for another (a sequence, which a rollback does not undo, counts).
  await sql().unsafe(`
    create sequence private.test_deadlock_once;
    create function private.test_deadlock() returns trigger language plpgsql as $$
    begin
      if new.body = 'deadlock always'
        or (new.body = 'deadlock once' and nextval('private.test_deadlock_once') = 1) then
        raise exception 'deadlock detected (test)' using errcode = '40P01';
      end if;
      return new;
    end $$;
    create trigger test_deadlock before insert on public.messages
      for each row execute function private.test_deadlock();`);
  try {
    const recorder = inboundRecorder(sql());
    const item = (body: string) => ({
      channel: 'sms' as const,
      from: phone(),
      to: number,
      body,
      provider_sid: sid(),
      media: [],
      tenant_id: tenant.id,
    });
    const once = item('deadlock once');
    const always = item('deadlock always');
    const [a, b] = await Promise.allSettled([recorder.record(once), recorder.record(always)]);
    assert.equal(a.status, 'fulfilled', 'recorded on its second try');
    assert.equal(b.status, 'rejected');
    assert.equal(((b as PromiseRejectedResult).reason as RecordError).code, '40P01');
    const rows = await sql()`select provider_sid from public.messages
      where provider_sid in (${once.provider_sid}, ${always.provider_sid})`;
    assert.deepEqual(rows.map((r) => r.provider_sid), [once.provider_sid]);
  } finally {
    await sql().unsafe(`
      drop trigger if exists test_deadlock on public.messages;
      drop function if exists private.test_deadlock();
      drop sequence if exists private.test_deadlock_once;`);
  }
});
