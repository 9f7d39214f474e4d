// tenant-credentials: owners save Twilio credentials verified against Twilio, sealed with
// AES-GCM (key version stored), never returned; agents and strangers are refused; the sealed
// token is what signs and sends afterwards; twilio-sync imports numbers, messages and calls once.
import assert from 'node:assert/strict';
import { open } from '../../../functions/_shared/crypto.ts';
import { createHandler } from '../../../functions/tenant-credentials/handler.ts';
import { createHandler as syncHandler } from '../../../functions/twilio-sync/handler.ts';
import { createHandler as inboundHandler } from '../../../functions/twilio-inbound/handler.ts';
import { DEV_CREDENTIALS_KEY } from '../../stack/functions.ts';
import { newSid } from '../../stack/twilio_simulator.ts';
import { startFakeTwilio } from '../fakes/twilio.ts';
import {
  addNumber,
  deps,
  makeTenant,
  member,
  phone,
  sid,
  sql,
  test,
  twilioRequest,
} from './_env.ts';

const TENANT_SID = 'AC' + 'ab'.repeat(16);
const TENANT_TOKEN = 'tenant-own-auth-token-0123456789';

function call(
  h: (r: Request) => Promise<Response>,
  method: string,
  jwt: string,
  body?: unknown,
  query = '',
) {
  return h(
    new Request(`http://127.0.0.1:9/tenant-credentials${query}`, {
      method,
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

test('owner saves verified credentials; token sealed, masked, never returned', async () => {
  const fake = startFakeTwilio({ accounts: { [TENANT_SID]: TENANT_TOKEN } });
  try {
    const h = createHandler(deps({ TWILIO_API_URL: fake.url }));
    const t = await makeTenant();
    const owner = await member(t.id, 'owner');
    const res = await call(h, 'POST', owner.jwt, {
      tenant_id: t.id,
      account_sid: TENANT_SID,
      auth_token: TENANT_TOKEN,
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.ok(!text.includes(TENANT_TOKEN), 'the token never comes back');
    const body = JSON.parse(text);
    assert.equal(body.configured, true);
    assert.equal(body.account_sid, TENANT_SID);
    assert.match(body.auth_token, /^•+6789$/);
    assert.match(body.email_inbound_url, /\/email-inbound\/[0-9a-f]{64}$/);
    // Verified against Twilio with exactly these credentials.
    const verify = fake.requests.find((r) => r.path === `/2010-04-01/Accounts/${TENANT_SID}.json`);
    assert.equal(verify?.username, TENANT_SID);

    const [row] = await sql()`select * from private.tenant_credentials where tenant_id = ${t.id}`;
    assert.equal(row.key_version, 1);
    assert.ok(!row.auth_token_ciphertext.includes(TENANT_TOKEN));
    assert.equal(
      await open(
        { ciphertext: row.auth_token_ciphertext, keyVersion: 1 },
        DEV_CREDENTIALS_KEY,
        t.id,
      ),
      TENANT_TOKEN,
    );
    // Bound to its tenant: the same ciphertext does not open as another tenant's.
    await assert.rejects(() =>
      open(
        { ciphertext: row.auth_token_ciphertext, keyVersion: 1 },
        DEV_CREDENTIALS_KEY,
        crypto.randomUUID(),
      )
    );

    // The tenant's inbound webhooks are now checked with the tenant's token.
    const n = await addNumber(t.id);
    const inbound = inboundHandler(deps({ TWILIO_API_URL: fake.url }));
    const p = { MessageSid: sid(), AccountSid: TENANT_SID, From: phone(), To: n.e164, Body: 'hi' };
    const withPlatform = await inbound(twilioRequest('twilio-inbound', p));
    assert.equal(withPlatform.status, 403);
    await withPlatform.body?.cancel();
    const withTenant = await inbound(twilioRequest('twilio-inbound', p, { token: TENANT_TOKEN }));
    assert.equal(withTenant.status, 200);
    await withTenant.body?.cancel();

    const status = await call(h, 'GET', owner.jwt, undefined, `?tenant_id=${t.id}`);
    assert.equal((await status.json()).configured, true);
    const del = await call(h, 'DELETE', owner.jwt, undefined, `?tenant_id=${t.id}`);
    assert.equal((await del.json()).configured, false);
    const left = await sql()`select 1 from private.tenant_credentials where tenant_id = ${t.id}`;
    assert.equal(left.length, 0);
  } finally {
    await fake.close();
  }
});

test('wrong credentials are refused by Twilio and not stored; agents and strangers are refused', async () => {
  const fake = startFakeTwilio({ accounts: { [TENANT_SID]: TENANT_TOKEN } });
  try {
    const h = createHandler(deps({ TWILIO_API_URL: fake.url }));
    const t = await makeTenant();
    const owner = await member(t.id, 'owner');
    const agent = await member(t.id, 'agent');
    const other = await makeTenant();
    const stranger = await member(other.id, 'owner');
    const body = {
      tenant_id: t.id,
      account_sid: TENANT_SID,
      auth_token: 'wrong-token-wrong-token',
    };
    const wrong = await call(h, 'POST', owner.jwt, body);
    assert.equal(wrong.status, 422);
    assert.equal((await wrong.json()).error.code, 'invalid_credentials');
    const good = { ...body, auth_token: TENANT_TOKEN };
    const a = await call(h, 'POST', agent.jwt, good);
    assert.equal(a.status, 403);
    assert.equal((await a.json()).error.code, 'owner_only');
    const s = await call(h, 'POST', stranger.jwt, good);
    assert.equal(s.status, 404);
    await s.body?.cancel();
    const malformed = await call(h, 'POST', owner.jwt, { tenant_id: t.id, account_sid: 'nope' });
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.json()).error.code, 'invalid_body');
    const rows = await sql()`select 1 from private.tenant_credentials where tenant_id = ${t.id}`;
    assert.equal(rows.length, 0);
  } finally {
    await fake.close();
  }
});

test('twilio-sync imports numbers, messages and calls without duplicates', async () => {
  const fake = startFakeTwilio({ accounts: { [TENANT_SID]: TENANT_TOKEN } });
  try {
    const d = deps({ TWILIO_API_URL: fake.url });
    const t = await makeTenant();
    const owner = await member(t.id, 'owner');
    const save = await call(createHandler(d), 'POST', owner.jwt, {
      tenant_id: t.id,
      account_sid: TENANT_SID,
      auth_token: TENANT_TOKEN,
    });
    assert.equal(save.status, 200);
    await save.body?.cancel();
    const ours = phone();
    const taken = await addNumber((await makeTenant()).id);
    fake.numbers.push(
      {
        sid: newSid('PN'),
        phone_number: ours,
        capabilities: { sms: true, mms: true, voice: true },
      },
      {
        sid: newSid('PN'),
        phone_number: taken.e164,
        capabilities: { sms: true, mms: false, voice: false },
      },
    );
    const customer = phone();
    const base = {
      account_sid: TENANT_SID,
      messaging_service_sid: null,
      status_callback: null,
      error_code: null,
      num_media: '0',
      num_segments: '1',
      date_created: new Date(Date.now() - 3600_000),
    };
    fake.messages.push(
      {
        ...base,
        sid: sid(),
        to: ours,
        from: customer,
        body: 'Old question',
        status: 'received',
        direction: 'inbound',
      },
      {
        ...base,
        sid: sid(),
        to: customer,
        from: ours,
        body: 'Old answer',
        status: 'delivered',
        direction: 'outbound-api',
      },
    );
    fake.calls.push({
      sid: newSid('CA'),
      from: customer,
      to: ours,
      status: 'completed',
      direction: 'inbound',
      duration: '42',
      start_time: new Date(Date.now() - 7200_000),
    });
    const sync = syncHandler(d);
    const run = () =>
      sync(
        new Request('http://127.0.0.1:9/twilio-sync', {
          method: 'POST',
          headers: { authorization: `Bearer ${owner.jwt}`, 'content-type': 'application/json' },
          body: JSON.stringify({ tenant_id: t.id }),
        }),
      );
    const first = await run();
    const r1 = await first.json();
    assert.equal(first.status, 200, JSON.stringify(r1));
    assert.deepEqual(r1.numbers, { imported: 1, updated: 0, conflicts: 1 });
    assert.deepEqual(r1.messages, { imported: 2, skipped: 0 });
    assert.deepEqual(r1.calls, { imported: 1, skipped: 0 });
    const r2 = await (await run()).json();
    assert.deepEqual(r2.numbers, { imported: 0, updated: 1, conflicts: 1 });
    assert.deepEqual(r2.messages, { imported: 0, skipped: 2 });
    assert.deepEqual(r2.calls, { imported: 0, skipped: 1 });

    const [n] =
      await sql()`select sms, mms, voice, tenant_id from public.phone_numbers where e164 = ${ours}`;
    assert.deepEqual({ ...n }, { sms: true, mms: true, voice: true, tenant_id: t.id });
    const msgs = await sql()`select direction, body, status from public.messages
      where tenant_id = ${t.id} order by created_at, direction`;
    assert.deepEqual(msgs.map((m) => [m.direction, m.body, m.status]), [
      ['inbound', 'Old question', 'received'],
      ['outbound', 'Old answer', 'delivered'],
    ]);
    const unread = await sql()`select unread_count from public.conversations
      where tenant_id = ${t.id}`;
    assert.deepEqual(unread.map((r) => r.unread_count), [0], 'imported history is not unread');
    const calls =
      await sql()`select duration_seconds, contact_id from public.calls where tenant_id = ${t.id}`;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].duration_seconds, 42);
    assert.ok(calls[0].contact_id);
  } finally {
    await fake.close();
  }
});
