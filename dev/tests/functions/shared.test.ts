// functions/_shared: the environment is validated with clear errors; AES-GCM sealing; SMS
// segments (Twilio's calculator); Twilio error classification.
import assert from 'node:assert/strict';
import { mask, open, seal } from '../../../functions/_shared/crypto.ts';
import { EnvError, parseEnv } from '../../../functions/_shared/env.ts';
import { smsSegments, smsSegmentsByCalculator } from '../../../common/sms_segments.ts';
import {
  classifyError,
  NotSentError,
  twilioClient,
  UnknownOutcomeError,
} from '../../../functions/_shared/twilio.ts';
import { DEV_CREDENTIALS_KEY } from '../../stack/functions.ts';
import { test } from './_env.ts';

const base = {
  SUPABASE_URL: 'http://127.0.0.1:54321',
  SUPABASE_ANON_KEY: 'anon',
  SUPABASE_SERVICE_ROLE_KEY: 'service',
  SUPABASE_DB_URL: 'postgresql://postgres:postgres@127.0.0.1:54322/postgres',
  CREDENTIALS_KEY: DEV_CREDENTIALS_KEY,
};

test('env: defaults filled, missing or bad values named in one clear error', () => {
  const e = parseEnv(base);
  assert.equal(e.TWILIO_API_URL, 'https://api.twilio.com');
  assert.equal(e.PUBLIC_FUNCTIONS_URL, 'http://127.0.0.1:54321/functions/v1');
  assert.equal(e.EMAIL_PROVIDER, 'log');
  assert.throws(
    () => parseEnv({ ...base, SUPABASE_DB_URL: undefined, CREDENTIALS_KEY: 'c2hvcnQ=' }),
    (err: Error) =>
      err instanceof EnvError && /SUPABASE_DB_URL/.test(err.message) &&
      /CREDENTIALS_KEY: must be base64 of exactly 32 bytes/.test(err.message),
  );
  assert.throws(() => parseEnv({ ...base, EMAIL_PROVIDER: 'resend' }), /RESEND_API_KEY/);
  assert.throws(() => parseEnv({ ...base, EMAIL_PROVIDER: 'smtp' }), /SMTP_URL/);
  assert.throws(() => parseEnv({ ...base, TWILIO_ACCOUNT_SID: 'AC1' }), /go together/);
  return Promise.resolve();
});

test('crypto: sealed values open only with the same key and tenant', async () => {
  const s = await seal('secret-token-1234', DEV_CREDENTIALS_KEY, 3, 'tenant-a');
  assert.equal(s.keyVersion, 3);
  assert.ok(!s.ciphertext.includes('secret'));
  assert.equal(await open(s, DEV_CREDENTIALS_KEY, 'tenant-a'), 'secret-token-1234');
  await assert.rejects(() => open(s, DEV_CREDENTIALS_KEY, 'tenant-b'));
  await assert.rejects(() => open(s, btoa('another-key-of-thirty-two-bytes!'), 'tenant-a'));
  const again = await seal('secret-token-1234', DEV_CREDENTIALS_KEY, 3, 'tenant-a');
  assert.notEqual(again.ciphertext, s.ciphertext, 'a fresh IV every time');
  assert.equal(mask('abcdefgh1234'), '••••••••1234');
});

test('segments: GSM-7 160/153, UCS-2 70/67', () => {
  assert.equal(smsSegments('a'.repeat(160)), 1);
  assert.equal(smsSegments('a'.repeat(161)), 2);
  assert.equal(smsSegments('☺'.repeat(70)), 1);
  assert.equal(smsSegments('☺'.repeat(71)), 2);
  assert.equal(smsSegments('{'.repeat(80)), 1, 'extension characters count twice');
  assert.equal(smsSegments('{'.repeat(81)), 2);
  // The ASCII fast path agrees with Twilio's calculator on random printable ASCII.
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('') +
    '\n';
  for (let i = 0; i < 300; i++) {
    const len = 1 + Math.floor(Math.random() * 400);
    const s = Array.from(
      { length: len },
      () => printable[Math.floor(Math.random() * (i % 2 ? 60 : printable.length))],
    ).join('');
    assert.equal(smsSegments(s), smsSegmentsByCalculator(s), JSON.stringify(s));
  }
  return Promise.resolve();
});

test('error classes: permanent, transient, network', () => {
  const e = (status: number, code: number) => Object.assign(new Error('x'), { status, code });
  for (const code of [21211, 21610, 30004, 30005, 30006, 63016]) {
    assert.equal(classifyError(e(400, code)).permanent, true, String(code));
  }
  for (const [status, code] of [[429, 20429], [400, 30003], [400, 30008], [500, 20500]]) {
    assert.equal(classifyError(e(status, code)).permanent, false, String(code));
  }
  assert.equal(classifyError(new NotSentError('refused')).permanent, false);
  assert.equal(classifyError(e(400, 21999)).permanent, true, 'other 4xx are permanent');
  return Promise.resolve();
});

const creds = { accountSid: 'AC' + '0'.repeat(32), authToken: 'token' };
const sms = { to: '+14155550100', from: '+15005550006', body: 'hello' };

test('Twilio refusing the connection: not sent (a prompt retry), through the real SDK', async () => {
  // A loopback port nobody listens on: Deno's fetch rejects "fetch failed", the refusal in cause.
  const l = Deno.listen({ hostname: '127.0.0.1', port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const err = await twilioClient(creds, `http://127.0.0.1:${port}`).messages.create(sms).then(
    () => assert.fail('a refused connection cannot succeed'),
    (e) => e,
  );
  assert.ok(err instanceof NotSentError, `expected NotSentError, got ${err}`);
  assert.match(err.message, /refused/i);
  assert.deepEqual(
    { code: classifyError(err).code, permanent: classifyError(err).permanent },
    { code: 'network', permanent: false },
  );
});

test('Twilio taking the request and never answering: outcome unknown, not a retry', async () => {
  const l = Deno.listen({ hostname: '127.0.0.1', port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of l) held.push(conn); // reads nothing, answers nothing
  })();
  try {
    const url = `http://127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
    const err = await twilioClient(creds, url, 300).messages.create(sms).then(
      () => assert.fail('no answer cannot succeed'),
      (e) => e,
    );
    assert.ok(err instanceof UnknownOutcomeError, `expected UnknownOutcomeError, got ${err}`);
    assert.ok(!(err instanceof NotSentError));
  } finally {
    l.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});
