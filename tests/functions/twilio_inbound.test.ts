// twilio-inbound: signature checks (valid, invalid, missing, tampered, wrong URL, JSON with
// bodySHA256), idempotency on MessageSid, MMS media, STOP, malformed bodies.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import twilio from 'twilio';
import { createHandler } from '../../functions/twilio-inbound/handler.ts';
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
