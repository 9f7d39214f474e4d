// email-inbound (Postmark's inbound JSON at /email-inbound/<secret>): threading by sender and
// In-Reply-To, quoted history stripped, Auto-Submitted mail dropped, bad secret / malformed body.
import assert from 'node:assert/strict';
import { createHandler, stripQuoted } from '../../../functions/email-inbound/handler.ts';
import { deps, makeTenant, sql, test } from './_env.ts';

const handler = createHandler(deps());

async function inbox() {
  const t = await makeTenant();
  const [s] = await sql()`select private.email_inbound_secret(${t.id}) as s`;
  return { tenant: t, secret: s.s as string };
}

function postmark(from: string, extra: Record<string, unknown> = {}) {
  return {
    From: `Robin Roe <${from}>`,
    FromFull: { Email: from, Name: 'Robin Roe' },
    To: 'hello@salon.example',
    Subject: 'Opening hours',
    MessageID: crypto.randomUUID(),
    TextBody:
      'Are you open Sunday?\n\nOn Mon, 1 Jan 2026 at 10:00, Salon <hello@salon.example> wrote:\n> We are open Monday to Friday.\n',
    Headers: [{ Name: 'Message-ID', Value: `<${crypto.randomUUID()}@mail.example>` }],
    Attachments: [],
    ...extra,
  };
}

function post(secret: string, body: unknown) {
  return handler(
    new Request(`http://127.0.0.1:9/email-inbound/${secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

test('stripQuoted keeps only the new text', () => {
  assert.equal(stripQuoted('Thanks!\n\nOn Tue, Bob wrote:\n> old\n> older'), 'Thanks!');
  assert.equal(stripQuoted('Yes\n> quoted\nNo'), 'Yes\nNo');
  return Promise.resolve();
});

test("a mail is stored on the sender's email conversation, replies thread onto it", async () => {
  const { tenant, secret } = await inbox();
  const from = `robin.${crypto.randomUUID()}@example.com`;
  const first = postmark(from, {
    Attachments: [{ Name: 'menu.pdf', ContentType: 'application/pdf', ContentLength: 1234 }],
  });
  const r1 = await post(secret, first);
  const b1 = await r1.json();
  assert.equal(r1.status, 200, JSON.stringify(b1));
  const [m1] = await sql()`select * from public.messages where id = ${b1.message_id}`;
  assert.equal(m1.tenant_id, tenant.id);
  assert.equal(m1.channel, 'email');
  assert.equal(m1.body, 'Are you open Sunday?');
  assert.equal(m1.subject, 'Opening hours');
  assert.equal(m1.email_message_id, first.Headers[0].Value);
  assert.deepEqual(m1.media, [{ name: 'menu.pdf', content_type: 'application/pdf', size: 1234 }]);

  const reply = postmark(from, {
    Subject: 'Re: Opening hours',
    StrippedTextReply: 'And Saturday?',
    Headers: [
      { Name: 'Message-ID', Value: `<${crypto.randomUUID()}@mail.example>` },
      { Name: 'In-Reply-To', Value: '<our-answer@switchboard.local>' },
      { Name: 'Auto-Submitted', Value: 'no' },
    ],
  });
  const b2 = await (await post(secret, reply)).json();
  assert.equal(b2.conversation_id, b1.conversation_id);
  const [m2] =
    await sql()`select body, in_reply_to from public.messages where id = ${b2.message_id}`;
  assert.equal(m2.body, 'And Saturday?');
  assert.equal(m2.in_reply_to, '<our-answer@switchboard.local>');

  // Postmark retries: the same MessageID stores nothing new.
  const b3 = await (await post(secret, first)).json();
  assert.equal(b3.duplicate, true);
  const n = await sql()`select count(*)::int as n from public.messages
    where conversation_id = ${b1.conversation_id} and direction = 'inbound'`;
  assert.equal(n[0].n, 2);
});

test('auto-submitted mail is acknowledged and dropped', async () => {
  const { tenant, secret } = await inbox();
  const from = `ooo.${crypto.randomUUID()}@example.com`;
  const res = await post(
    secret,
    postmark(from, {
      Headers: [{ Name: 'Auto-Submitted', Value: 'auto-replied' }],
    }),
  );
  assert.equal(res.status, 200);
  assert.equal((await res.json()).ignored, 'auto_submitted');
  const rows =
    await sql()`select 1 from public.contacts where tenant_id = ${tenant.id} and email = ${from}`;
  assert.equal(rows.length, 0);
});

test('unknown secret 404, malformed bodies 400, nothing stored', async () => {
  const { tenant, secret } = await inbox();
  const unknown = await post('0'.repeat(64), postmark('x@example.com'));
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.code, 'unknown_inbox');
  const notJson = await post(secret, '{"From":');
  assert.equal(notJson.status, 400);
  assert.equal((await notJson.json()).error.code, 'invalid_json');
  const noId = await post(secret, { From: 'x@example.com', TextBody: 'hi' });
  assert.equal(noId.status, 400);
  assert.equal((await noId.json()).error.code, 'invalid_body');
  const badFrom = await post(
    secret,
    postmark('x', { From: 'not an address', FromFull: undefined }),
  );
  assert.equal(badFrom.status, 400);
  await badFrom.body?.cancel();
  const rows = await sql()`select 1 from public.messages where tenant_id = ${tenant.id}`;
  assert.equal(rows.length, 0);
});
