// Template enhancement: a template with ai_enhance gets a personalised rewrite at send time that
// keeps every variable's rendered value and the opt-out sentence verbatim; a rewrite that drops
// one, an invalid answer or any provider error sends the plain render instead.
import assert from 'node:assert/strict';
import { createDispatcher } from '../../../functions/dispatch/dispatcher.ts';
import { type FakeAi, type FakeAiReply, startFakeAnthropic } from '../fakes/anthropic.ts';
import { startFakeGemini } from '../fakes/gemini.ts';
import { startFakeTwilio } from '../fakes/twilio.ts';
import {
  addNumber,
  deps,
  makeContact,
  makeTenant,
  pauseDispatchKicks,
  queue,
  sql,
  test,
  uniq,
} from './_env.ts';

const twilio = startFakeTwilio();
const anthropic = startFakeAnthropic();
const gemini = startFakeGemini();
const dispatcher = createDispatcher(deps({
  TWILIO_API_URL: twilio.url,
  ANTHROPIC_API_KEY: 'test-anthropic-key',
  ANTHROPIC_BASE_URL: anthropic.url,
  GEMINI_API_KEY: 'test-gemini-key',
  GEMINI_BASE_URL: gemini.url,
  AI_TIMEOUT_MS: '1000',
  AI_MAX_RETRIES: '1',
}));

const PLAIN = 'Hi Robin, your order A-1001 has shipped! Reply STOP to opt out.';

/** A tenant with an ai_enhance shipment template and one message of it queued to a contact. */
async function scenario(provider: 'anthropic' | 'gemini', aiEnhance = true) {
  const t = await makeTenant({ auto_reply_provider: provider, name: 'Bloom Florist' });
  await addNumber(t.id);
  const c = await makeContact(t.id, { name: 'Robin Example' });
  const [tpl] = await sql()<{ id: string }[]>`
    insert into public.templates (tenant_id, name, category, body, ai_enhance)
    values (${t.id}, ${uniq('Shipped')}, 'order',
      'Hi {first_name}, your order {order_number} has shipped! Reply STOP to opt out.', ${aiEnhance})
    returning id`;
  const id = await queue(t.id, c.id, {
    kind: 'transactional',
    body: '',
    template_id: tpl.id,
    variables: sql().json({ first_name: 'Robin', order_number: 'A-1001' }),
  });
  return { t, c, id };
}

async function run(
  fake: FakeAi,
  provider: 'anthropic' | 'gemini',
  aiEnhance = true,
  reply?: FakeAiReply,
) {
  fake.reset();
  if (reply) fake.next(reply);
  const s = await scenario(provider, aiEnhance);
  await dispatcher.drain(15_000);
  const sent = twilio.creates().filter((r) => r.form.To === s.c.phone);
  assert.equal(sent.length, 1, 'sent exactly once');
  const calls = await sql()`select * from public.ai_calls where message_id = ${s.id}`;
  const [row] = await sql()`select * from public.messages where id = ${s.id}`;
  return { body: String(sent[0].form.Body), calls, row };
}

test('setup: own the dispatcher', async () => {
  await pauseDispatchKicks(true);
  await dispatcher.drain(15_000);
});

test('a rewrite that keeps every value and the opt-out text is sent', async () => {
  const rewrite = 'Good news Robin! Order A-1001 is on its way to you. Reply STOP to opt out.';
  anthropic.respond = () => ({ json: { text: rewrite } });
  try {
    const r = await run(anthropic, 'anthropic');
    assert.equal(r.body, rewrite);
    assert.equal(r.row.body, rewrite);
    assert.equal(r.calls.length, 1);
    assert.equal(r.calls[0].purpose, 'enhance');
    assert.equal(r.calls[0].outcome, 'enhanced');
    const req = anthropic.requests[0].body;
    assert.deepEqual(req.tool_choice, { type: 'tool', name: 'rewrite_message' });
    const user = req.messages[0].content as string;
    for (const v of ['Robin', 'A-1001', 'Reply STOP to opt out.', PLAIN]) {
      assert.ok(user.includes(v), `the prompt protects ${v}`);
    }
    assert.ok(!String(req.system).includes('Robin'), 'no customer data in the system prompt');
  } finally {
    anthropic.respond = () => ({ json: { action: 'reply', text: 'Thanks for your message!' } });
  }
});

test('gemini: the enhanced text is sent too', async () => {
  const rewrite = 'Robin, great news: A-1001 has left our shop today! Reply STOP to opt out.';
  const r = await run(gemini, 'gemini', true, { json: { text: rewrite } });
  assert.equal(r.body, rewrite);
  assert.equal(r.calls[0].provider, 'gemini');
});

const fallbacks = [
  {
    name: 'a rewrite missing a variable value',
    reply: { json: { text: 'Good news Robin! Your order is on its way. Reply STOP to opt out.' } },
    outcome: 'fallback',
    code: 'missing_value',
  },
  {
    name: 'a rewrite missing the opt-out text',
    reply: { json: { text: 'Good news Robin! Order A-1001 is on its way.' } },
    outcome: 'fallback',
    code: 'missing_opt_out',
  },
  {
    name: 'an invalid answer',
    reply: { text: 'Here is your rewrite: Hi Robin!' },
    outcome: 'fallback',
    code: 'invalid_output',
  },
  { name: 'a provider 500', reply: { status: 500 }, outcome: 'error', code: 'provider_error' },
  { name: 'a provider timeout', reply: { hang: true as const }, outcome: 'error', code: 'timeout' },
];
for (const f of fallbacks) {
  test(`${f.name} sends the plain render`, async () => {
    anthropic.respond = () => f.reply;
    try {
      const r = await run(anthropic, 'anthropic');
      assert.equal(r.body, PLAIN);
      assert.equal(r.row.status, 'sent');
      assert.equal(r.calls.length, 1);
      assert.equal(r.calls[0].outcome, f.outcome);
      assert.equal(r.calls[0].error_code, f.code);
    } finally {
      anthropic.respond = () => ({ json: { action: 'reply', text: 'Thanks for your message!' } });
    }
  });
}

test('a template without ai_enhance never calls the AI', async () => {
  const r = await run(anthropic, 'anthropic', false);
  assert.equal(r.body, PLAIN);
  assert.equal(anthropic.requests.length, 0);
  assert.equal(r.calls.length, 0);
});

test('teardown', async () => {
  await pauseDispatchKicks(false);
  await Promise.all([twilio.close(), anthropic.close(), gemini.close()]);
});
