// Issue 12, driven the way an attacker would: a fresh sign-up (a user who creates a business
// through the REST API, as the dashboard does), a second tenant with its own Twilio account,
// forged status callbacks and contact-form posts. Third parties are the loopback Twilio fake.
import assert from 'node:assert/strict';
import { seal } from '../../../functions/_shared/crypto.ts';
import { ownCreds, tenantCreds } from '../../../functions/_shared/credentials.ts';
import { redactPath } from '../../../functions/_shared/http.ts';
import { createHandler as formHandler } from '../../../functions/contact-form/handler.ts';
import { createHandler as emailHandler } from '../../../functions/email-inbound/handler.ts';
import { createHandler as statusHandler } from '../../../functions/twilio-status/handler.ts';
import { createHandler as syncHandler } from '../../../functions/twilio-sync/handler.ts';
import type { Deps } from '../../../functions/_shared/context.ts';
import { DEV_CREDENTIALS_KEY } from '../../stack/functions.ts';
import { newSid } from '../../stack/twilio_simulator.ts';
import { FAKE_ACCOUNT_SID, startFakeTwilio } from '../fakes/twilio.ts';
import {
  deps,
  makeContact,
  makeTenant,
  message,
  phone,
  queue,
  sid,
  sql,
  stackEnv,
  test,
  twilioRequest,
  uniq,
  userJwt,
} from './_env.ts';

// A stranger signs up and creates a business through the API ------------------------------------
async function signUp(): Promise<{ tenantId: string; jwt: string; userId: string }> {
  const userId = crypto.randomUUID();
  await sql()`insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data,
      created_at, updated_at)
    values (${userId}, 'authenticated', 'authenticated', ${`${uniq('stranger')}@example.com`},
      '{"provider":"email"}', '{}', now(), now())`;
  const jwt = await userJwt(userId);
  const res = await rest(jwt, 'POST', 'rpc/create_tenant', { p_name: `Stranger ${uniq()}` });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { tenantId: (res.body as { id: string }).id, jwt, userId };
}

async function rest(jwt: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stackEnv.url}/rest/v1/${path}`, {
    method,
    headers: {
      apikey: stackEnv.anonKey,
      authorization: `Bearer ${jwt}`,
      'content-type': 'application/json',
      prefer: 'return=representation',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Saves sealed credentials for a tenant, as tenant-credentials does after Twilio verified them. */
async function connectAccount(tenantId: string, accountSid: string, token: string) {
  const s = await seal(token, DEV_CREDENTIALS_KEY, 1, tenantId);
  await sql()`insert into private.tenant_credentials
      (tenant_id, account_sid, auth_token_ciphertext, key_version, auth_token_last4)
    values (${tenantId}, ${accountSid}, ${s.ciphertext}, ${s.keyVersion}, ${token.slice(-4)})`;
}

const accountSid = () => 'AC' + sid('').slice(0, 32);

function syncRequest(jwt: string, tenantId: string) {
  return new Request('http://127.0.0.1:9/twilio-sync', {
    method: 'POST',
    headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenant_id: tenantId }),
  });
}

// 1, 3: the platform account is not for strangers --------------------------------------------------
test('a fresh sign-up cannot import the platform account: twilio-sync refuses, nothing imported', async () => {
  const fake = startFakeTwilio();
  try {
    const victim = await makeTenant();
    const number = phone();
    fake.numbers.push({
      sid: newSid('PN'),
      phone_number: number,
      capabilities: { sms: true, mms: false, voice: true },
    });
    fake.calls.push({
      sid: newSid('CA'),
      from: phone(),
      to: number,
      status: 'completed',
      direction: 'inbound',
      duration: '30',
      start_time: new Date(),
    });
    const s = await signUp();
    const res = await syncHandler(deps({ TWILIO_API_URL: fake.url }))(
      syncRequest(s.jwt, s.tenantId),
    );
    const body = await res.json();
    assert.equal(res.status, 409, JSON.stringify(body));
    assert.equal(body.error.code, 'no_twilio_credentials');
    const [n] = await sql()`select
        (select count(*)::int from public.phone_numbers where tenant_id = ${s.tenantId}) as numbers,
        (select count(*)::int from public.calls where tenant_id = ${s.tenantId}) as calls`;
    assert.deepEqual({ ...n }, { numbers: 0, calls: 0 });
    assert.equal(fake.requests.length, 0, 'Twilio was not even asked');
    assert.ok(victim.id);
  } finally {
    await fake.close();
  }
});

test('a fresh sign-up gets no Twilio credentials and its SMS fail with test_mode', async () => {
  const s = await signUp();
  assert.equal(await tenantCreds(sql(), deps().env, s.tenantId), null, 'no platform fallback');
  const c = await makeContact(s.tenantId);
  const id = await queue(s.tenantId, c.id);
  const m = await message(id);
  assert.equal(m.status, 'failed');
  assert.equal(m.error_code, 'test_mode');
  assert.match(m.error_message, /Test mode: .*not connected its own Twilio account/);
  const mode = await rest(s.jwt, 'POST', 'rpc/sending_mode', { p_tenant_id: s.tenantId });
  assert.equal(mode.body.mode, 'test');
  // An operator-provisioned business keeps the platform account.
  const provisioned = await makeTenant();
  assert.equal(
    (await tenantCreds(sql(), deps().env, provisioned.id))?.accountSid,
    FAKE_ACCOUNT_SID,
  );
});

test('a fresh sign-up cannot raise its caps, pick a sender or register numbers', async () => {
  const s = await signUp();
  const patch = (fields: Record<string, unknown>) =>
    rest(s.jwt, 'PATCH', `tenants?id=eq.${s.tenantId}`, fields);
  const rate = await patch({ send_rate_per_minute: 100000 });
  assert.equal(rate.body.code, '42501', JSON.stringify(rate.body));
  const mss = await patch({ messaging_service_sid: 'MG' + '1'.repeat(32) });
  assert.equal(mss.body.code, '42501');
  const prov = await patch({ platform_provisioned: true });
  assert.equal(prov.body.code, '42501');
  const from = await patch({ email_from: 'Security Team <security@bank.example>' });
  assert.equal(from.status, 400, JSON.stringify(from.body));
  assert.equal(from.body.code, '23514');
  const model = await patch({ auto_reply_model: 'claude-opus-most-expensive' });
  assert.equal(model.body.code, '23503', JSON.stringify(model.body));
  const num = await rest(s.jwt, 'POST', 'phone_numbers', { tenant_id: s.tenantId, e164: phone() });
  assert.equal(num.body.code, '42501', JSON.stringify(num.body));
  const [t] = await sql()`select send_rate_per_minute, messaging_service_sid, email_from,
      platform_provisioned, auto_reply_model from public.tenants where id = ${s.tenantId}`;
  assert.deepEqual({ ...t }, {
    send_rate_per_minute: 60,
    messaging_service_sid: null,
    email_from: null,
    platform_provisioned: false,
    auto_reply_model: null,
  });
});

// 1: sync scoped to the business's own account and numbers ------------------------------------------
test("twilio-sync imports only calls of the business's numbers, deduplicated per tenant", async () => {
  const own = accountSid();
  const token = 'own-account-token-' + crypto.randomUUID();
  const fake = startFakeTwilio({ accounts: { [own]: token } });
  try {
    const s = await signUp();
    await connectAccount(s.tenantId, own, token);
    assert.equal((await ownCreds(sql(), deps().env, s.tenantId))?.accountSid, own);
    const ours = phone();
    fake.numbers.push({
      sid: newSid('PN'),
      phone_number: ours,
      capabilities: { sms: true, mms: false, voice: true },
    });
    const mine = newSid('CA');
    const call = (sid: string, from: string, to: string) => ({
      sid,
      from,
      to,
      status: 'completed',
      direction: 'inbound',
      duration: '12',
      start_time: new Date(),
    });
    fake.calls.push(call(mine, phone(), ours), call(newSid('CA'), phone(), phone()));
    // Another business already holds a call with the same sid: it must not block this one.
    const other = await makeTenant();
    await sql()`insert into public.calls (tenant_id, provider_sid, direction)
                values (${other.id}, ${mine}, 'inbound')`;
    const res = await syncHandler(deps({ TWILIO_API_URL: fake.url }))(
      syncRequest(s.jwt, s.tenantId),
    );
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.numbers, { imported: 1, updated: 0, conflicts: 0 });
    assert.deepEqual(body.calls, { imported: 1, skipped: 1 });
    const calls =
      await sql()`select provider_sid from public.calls where tenant_id = ${s.tenantId}`;
    assert.deepEqual(calls.map((c) => c.provider_sid), [mine]);
  } finally {
    await fake.close();
  }
});

// 4: status callbacks scoped to the sending account ---------------------------------------------------
async function victimSent(): Promise<{ id: string; sid: string; tenantId: string }> {
  const t = await makeTenant();
  await connectAccount(t.id, accountSid(), 'victim-token-' + crypto.randomUUID());
  const c = await makeContact(t.id);
  const id = await queue(t.id, c.id, { next_attempt_at: new Date(Date.now() + 3600_000) });
  const providerSid = sid();
  await sql()`update public.messages set status = 'sending', attempts = 1,
                lease_until = now() + interval '1 minute' where id = ${id}`;
  await sql()`select private.record_send_result(${id}::uuid, ${providerSid})`;
  return { id, sid: providerSid, tenantId: t.id };
}

async function attacker(): Promise<{ account: string; token: string }> {
  const t = await makeTenant();
  const account = accountSid();
  const token = 'attacker-token-' + crypto.randomUUID();
  await connectAccount(t.id, account, token);
  return { account, token };
}

function forged(a: { account: string; token: string }, params: Record<string, string>, query = '') {
  return twilioRequest('twilio-status', {
    AccountSid: a.account,
    MessageStatus: 'failed',
    ErrorCode: '30007',
    To: '+14155550100',
    From: '+15005550006',
    ApiVersion: '2010-04-01',
    ...params,
  }, { token: a.token, query });
}

test("a callback signed by another business's account cannot fail this one's message", async () => {
  const v = await victimSent();
  const a = await attacker();
  const res = await statusHandler(deps())(forged(a, { MessageSid: v.sid }));
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.message_id, null, 'no other business is named');
  const m = await message(v.id);
  assert.equal(m.status, 'sent');
  assert.equal(m.error_code, null);
});

test("an early callback from another business's account is never applied when the sid lands", async () => {
  const t = await makeTenant();
  await connectAccount(t.id, accountSid(), 'victim-token-' + crypto.randomUUID());
  const c = await makeContact(t.id);
  const id = await queue(t.id, c.id, { next_attempt_at: new Date(Date.now() + 3600_000) });
  await sql()`update public.messages set status = 'sending', attempts = 1,
                lease_until = now() + interval '1 minute' where id = ${id}`;
  const providerSid = sid();
  const a = await attacker();
  // Before the victim's dispatcher writes Twilio's answer: kept (200), as any early callback is.
  for (const query of ['', `?mid=${id}`]) {
    const res = await statusHandler(deps())(forged(a, { MessageSid: providerSid }, query));
    assert.equal(res.status, 200);
    assert.equal((await res.json()).message_id, null);
  }
  await sql()`select private.record_send_results(${
    sql().json([{ id, attempt: 1, outcome: 'sent', sid: providerSid }])
  })`;
  const m = await message(id);
  assert.equal(m.status, 'sent', "the attacker's kept callback does not fail it");
  assert.equal(m.error_code, null);
});

test("?mid= from another business's account cannot mark this one's queued message as sent", async () => {
  const t = await makeTenant();
  await connectAccount(t.id, accountSid(), 'victim-token-' + crypto.randomUUID());
  const c = await makeContact(t.id);
  const id = await queue(t.id, c.id, { next_attempt_at: new Date(Date.now() + 3600_000) });
  // Claimed by a dispatcher that has not recorded Twilio's answer yet.
  await sql()`update public.messages set status = 'sending', attempts = 1,
                lease_until = now() + interval '1 minute' where id = ${id}`;
  const a = await attacker();
  const res = await statusHandler(deps())(
    forged(a, { MessageSid: sid(), MessageStatus: 'delivered' }, `?mid=${id}`),
  );
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const m = await message(id);
  assert.equal(m.status, 'sending');
  assert.equal(m.provider_sid, null);
});

// 2, 5: the contact form is an untrusted sender ------------------------------------------------------
let ip = 0;
function formPost(body: Record<string, string>) {
  return formHandler(deps())(
    new Request('http://127.0.0.1:9/contact-form', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${++ip}` },
      body: JSON.stringify({ name: 'Mallory', subject: 'Hi', ...body }),
    }),
  );
}

test("a form post cannot attach the attacker's phone to an existing customer", async () => {
  const t = await makeTenant();
  const email = `victim.${crypto.randomUUID()}@example.com`;
  const victim = await makeContact(t.id, { phone: null, email, name: 'Vera Victim' });
  await sql()`insert into public.orders (tenant_id, contact_id, order_number)
              values (${t.id}, ${victim.id}, ${uniq('ORD')})`;
  const attackerPhone = phone();
  const res = await formPost({ tenant: t.slug, email, phone: attackerPhone, message: 'hello' });
  assert.equal(res.status, 201);
  await res.body?.cancel();
  const [c] = await sql()`select phone, name from public.contacts where id = ${victim.id}`;
  assert.equal(c.phone, null, 'the victim keeps no phone');
  assert.equal(c.name, 'Vera Victim');
  const [m] = await sql()`select body from public.messages
    where contact_id = ${victim.id} and kind = 'form'`;
  assert.match(
    m.body,
    new RegExp(`not verified\\): \\${attackerPhone}`),
    'the phone is kept in the text',
  );
  // The attacker's SMS then lands on a new contact, not the victim's.
  const n = await sql()`insert into public.phone_numbers (tenant_id, e164)
                        values (${t.id}, ${phone()}) returning e164`;
  const [r] = await sql()`select public.record_inbound('sms', ${attackerPhone}, ${n[0].e164},
      'what are my orders?', ${sid()}) as r`;
  assert.notEqual(r.r.contact_id, victim.id);
});

test('form keywords and auto-replies never act on the typed address', async () => {
  const t = await makeTenant({ auto_reply_enabled: true });
  const email = `optedout.${crypto.randomUUID()}@example.com`;
  const c = await makeContact(t.id, { phone: null, email, opted_out_channels: ['email'] });
  for (const text of ['START', 'HELP', 'Please tell me about your prices']) {
    const res = await formPost({ tenant: t.slug, email, message: text });
    assert.equal(res.status, 201);
    await res.body?.cancel();
  }
  const [row] = await sql()`select opted_out_channels from public.contacts where id = ${c.id}`;
  assert.deepEqual(row.opted_out_channels, ['email'], 'START did not override the opt-out');
  const stranger = `someone.${crypto.randomUUID()}@example.com`;
  for (const text of ['HELP', 'What are your opening hours?']) {
    const res = await formPost({ tenant: t.slug, email: stranger, message: text });
    await res.body?.cancel();
  }
  const out = await sql()`select kind, to_address from public.messages
    where tenant_id = ${t.id} and direction = 'outbound'`;
  assert.deepEqual([...out], [], 'no HELP reply, no auto-reply to a typed address');
});

// 8, 11: email-inbound ------------------------------------------------------------------------------
async function inboxSecret(tenantId: string): Promise<string> {
  const [s] = await sql()`select private.email_inbound_secret(${tenantId}) as s`;
  return s.s;
}

function mail(secret: string, messageId: string, query = '', d: Deps = deps()) {
  return emailHandler(d)(
    new Request(`http://127.0.0.1:9/email-inbound/${secret}${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        From: 'robin@example.com',
        FromFull: { Email: 'robin@example.com' },
        Subject: 'Hello',
        MessageID: messageId,
        TextBody: 'Hello there',
      }),
    }),
  );
}

test("a provider id used in another business returns none of that business's ids", async () => {
  const a = await makeTenant();
  const b = await makeTenant();
  const id = crypto.randomUUID();
  const first = await (await mail(await inboxSecret(a.id), id)).json();
  const second = await (await mail(await inboxSecret(b.id), id)).json();
  assert.equal(second.duplicate, false, JSON.stringify(second));
  assert.notEqual(second.message_id, first.message_id);
  assert.notEqual(second.conversation_id, first.conversation_id);
  const [m] = await sql()`select tenant_id from public.messages where id = ${second.message_id}`;
  assert.equal(m.tenant_id, b.id, "stored in b's business");
});

test('the email-inbound secret is refused in a query string and never logged', async () => {
  const t = await makeTenant();
  const secret = await inboxSecret(t.id);
  const q = await emailHandler(deps())(
    new Request(`http://127.0.0.1:9/email-inbound?secret=${secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }),
  );
  assert.equal(q.status, 404);
  await q.body?.cancel();

  // A 500 (the database fails) logs the path: without the secret.
  const broken = {
    ...deps(),
    sql: () => Promise.reject(new Error('database down')),
  } as unknown as Deps;
  const logged: string[] = [];
  const orig = console.error;
  console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
  try {
    const res = await mail(secret, crypto.randomUUID(), '', broken);
    assert.equal(res.status, 500);
    await res.body?.cancel();
  } finally {
    console.error = orig;
  }
  assert.ok(logged.length > 0, 'the 500 was logged');
  assert.ok(!logged.join('\n').includes(secret), logged.join('\n'));
  assert.equal(
    redactPath(`/functions/v1/email-inbound/${secret}`),
    '/functions/v1/email-inbound/[redacted]',
  );
});
