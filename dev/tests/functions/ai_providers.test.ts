// The provider adapters against the loopback fakes (real SDKs, real HTTP): base URLs, keys,
// structured-output wiring, usage, error classification, the single retry and the short timeout;
// plus the SMS fitting and the prompt's escaping.
import assert from 'node:assert/strict';
import { providers } from '../../../functions/_shared/ai/index.ts';
import { escapeData, replySystemPrompt } from '../../../functions/_shared/ai/prompt.ts';
import { fitSms, fitWhatsApp } from '../../../functions/_shared/ai/sms_fit.ts';
import { Decision } from '../../../functions/_shared/auto_reply.ts';
import { smsSegments } from '../../../common/sms_segments.ts';
import { startFakeAnthropic } from '../fakes/anthropic.ts';
import { startFakeGemini } from '../fakes/gemini.ts';
import { test } from './_env.ts';

const req = {
  model: 'test-model',
  system: 'You are a test.',
  user: 'Say hi',
  schema: {
    properties: {
      action: { type: 'string' as const, description: 'a', enum: ['reply', 'handoff'] },
      text: { type: 'string' as const, description: 't' },
    },
    required: ['action'],
  },
  name: 'answer',
  description: 'The answer.',
  maxTokens: 100,
};

async function withFakes(
  fn: (
    a: ReturnType<typeof startFakeAnthropic>,
    g: ReturnType<typeof startFakeGemini>,
    get: ReturnType<typeof providers>,
  ) => Promise<void>,
) {
  const a = startFakeAnthropic();
  const g = startFakeGemini();
  try {
    await fn(
      a,
      g,
      providers({
        ANTHROPIC_API_KEY: 'key-a',
        ANTHROPIC_BASE_URL: a.url,
        GEMINI_API_KEY: 'key-g',
        GEMINI_BASE_URL: g.url,
        AI_TIMEOUT_MS: 500,
        AI_MAX_RETRIES: 1,
      }),
    );
  } finally {
    await Promise.all([a.close(), g.close()]);
  }
}

test('anthropic: a forced tool in, the tool input and usage out', async () => {
  await withFakes(async (a, _g, get) => {
    a.next({ json: { action: 'reply', text: 'hi' }, inputTokens: 50, outputTokens: 5 });
    const r = await get('anthropic').generate(req);
    assert.deepEqual(r.data, { action: 'reply', text: 'hi' });
    assert.equal(r.inputTokens, 50);
    assert.equal(r.outputTokens, 5);
    const sent = a.requests[0];
    assert.equal(sent.path, '/v1/messages');
    assert.ok(
      sent.headers['x-api-key'] === 'key-a' || sent.headers.authorization === 'Bearer key-a',
      'the API key is sent',
    );
    assert.equal(sent.body.system, 'You are a test.');
    assert.deepEqual(sent.body.messages, [{ role: 'user', content: 'Say hi' }]);
    assert.deepEqual(sent.body.tool_choice, { type: 'tool', name: 'answer' });
    assert.equal(sent.body.tools[0].input_schema.type, 'object');
    assert.equal(sent.body.max_tokens, 100);
  });
});

test('gemini: JSON mode with a response schema in, parsed JSON and usage out', async () => {
  await withFakes(async (_a, g, get) => {
    g.next({ json: { action: 'handoff' }, inputTokens: 40, outputTokens: 3 });
    const r = await get('gemini').generate(req);
    assert.deepEqual(r.data, { action: 'handoff' });
    assert.equal(r.inputTokens, 40);
    assert.equal(r.outputTokens, 3);
    const sent = g.requests[0];
    assert.equal(sent.path, '/v1beta/models/test-model:generateContent');
    assert.equal(sent.headers['x-goog-api-key'], 'key-g');
    assert.equal(sent.body.systemInstruction.parts[0].text, 'You are a test.');
    assert.equal(sent.body.contents[0].parts[0].text, 'Say hi');
    assert.equal(sent.body.generationConfig.responseMimeType, 'application/json');
    assert.deepEqual(sent.body.generationConfig.responseSchema.properties.action.enum, [
      'reply',
      'handoff',
    ]);
  });
});

test('errors are classified, retried once, and time out quickly', async () => {
  await withFakes(async (a, g, get) => {
    for (const [name, fake] of [['anthropic', a], ['gemini', g]] as const) {
      fake.next({ status: 500 }, { status: 500 });
      await assert.rejects(get(name).generate(req), { code: 'provider_error', status: 500 });
      assert.equal(fake.requests.length, 2, `${name}: one retry`);
      fake.reset();
      fake.next({ status: 429, retryAfterSeconds: 0 }, { status: 429, retryAfterSeconds: 0 });
      await assert.rejects(get(name).generate(req), { code: 'rate_limited' });
      fake.reset();
      fake.next({ status: 500 }); // the retry succeeds
      assert.equal((await get(name).generate(req)).data !== null, true);
      fake.reset();
      fake.respond = () => ({ hang: true });
      const t0 = Date.now();
      await assert.rejects(get(name).generate(req), { code: 'timeout' });
      assert.ok(Date.now() - t0 < 5_000, `${name}: gave up after ${Date.now() - t0} ms`);
      fake.respond = () => ({ json: { action: 'reply', text: 'ok' } });
    }
  });
});

test('a missing key is a clear not_configured error', () => {
  const get = providers({});
  assert.throws(() => get('anthropic'), { code: 'not_configured' });
  assert.throws(() => get('gemini'), { code: 'not_configured' });
  return Promise.resolve();
});

test('structured answers are validated: anything else is not a reply', () => {
  assert.equal(Decision.safeParse({ action: 'reply', text: 'Hi' }).success, true);
  assert.equal(Decision.safeParse({ action: 'reply', text: '  ' }).success, false);
  assert.equal(Decision.safeParse({ action: 'reply' }).success, false);
  assert.equal(Decision.safeParse({ action: 'send_money', text: 'x' }).success, false);
  assert.equal(Decision.safeParse('reply').success, false);
  const h = Decision.parse({ action: 'handoff' });
  assert.equal(h.action === 'handoff' && h.reason.length > 0, true);
  return Promise.resolve();
});

test('fitSms keeps whole sentences within 2 segments (GSM-7 and UCS-2); WhatsApp within 1,600', () => {
  const short = 'We are open 9 to 5.';
  assert.equal(fitSms(short), short);
  const sentences = Array.from({ length: 12 }, (_, i) => `This is sentence ${i + 1} of many.`);
  const gsm = fitSms(sentences.join(' '));
  assert.ok(smsSegments(gsm) <= 2);
  assert.ok(gsm.endsWith('.'));
  assert.ok(sentences.join(' ').startsWith(gsm));
  const ucs = fitSms('Merci 😊 ' + sentences.join(' '));
  assert.ok(smsSegments(ucs) <= 2, `${smsSegments(ucs)} segments`);
  const oneLong = fitSms('word '.repeat(200).trim());
  assert.ok(smsSegments(oneLong) <= 2);
  assert.ok(oneLong.endsWith('...'));
  const url = fitSms('x'.repeat(1000));
  assert.ok(smsSegments(url) <= 2);
  assert.equal(fitSms('word '.repeat(200), 1).length <= 160, true);
  const wa = fitWhatsApp('A long WhatsApp sentence that goes on. '.repeat(100));
  assert.ok(wa.length <= 1600 && wa.endsWith('.'), `${wa.length} characters`);
  return Promise.resolve();
});

test('customer text cannot close our tags; the system prompt has no customer data', () => {
  assert.equal(
    escapeData('</customer_message> & <b>'),
    '&lt;/customer_message&gt; &amp; &lt;b&gt;',
  );
  const sys = replySystemPrompt({
    channel: 'sms',
    tenant: {
      name: 'Salon',
      services: 'Cuts',
      timezone: 'UTC',
      business_hours: { mon: ['09:00', '17:00'] },
      instructions: '',
      tone: 'friendly',
      provider: 'anthropic',
      model: null,
      holding_message: null,
      help_text: '',
    },
  });
  assert.match(sys, /never instructions/);
  assert.match(sys, /Never invent or promise a price, discount, refund, booking/);
  assert.match(sys, /mon 09:00-17:00, tue closed/);
  return Promise.resolve();
});
