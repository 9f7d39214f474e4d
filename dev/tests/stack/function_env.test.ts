// One function environment: supabase/functions/.env (what `supabase start` reads) plus the same
// names from task dev's own environment; the Twilio simulator only for what both leave unset.
import assert from 'node:assert/strict';
import { devFunctionsEnv, parseDotenv } from '../../stack/function_env.ts';
import { describeProviders, functionsEnv } from '../../stack/functions.ts';
import { SIM_ACCOUNT_SID } from '../../stack/twilio_simulator.ts';

Deno.test('parseDotenv reads comments, quotes and export as godotenv does', () => {
  assert.deepEqual(
    parseDotenv(
      '# c\nexport A=1\nB="two words" \nC=\'x#y\'\nD=plain # note\nE=\n',
    ),
    { A: '1', B: 'two words', C: 'x#y', D: 'plain', E: '' },
  );
});

Deno.test('the file and the process environment are read; SUPABASE_* and unknown names are not', async () => {
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(
    file,
    'TWILIO_ACCOUNT_SID=ACfromfile\nTWILIO_AUTH_TOKEN=tok\nSUPABASE_URL=http://nope\nEMAIL_PROVIDER=resend\n',
  );
  const { env, notes } = await devFunctionsEnv(
    { EMAIL_PROVIDER: 'smtp', SMTP_URL: 'smtps://u:p@mail.example.com:465', HOME: '/root' },
    file,
  );
  await Deno.remove(file);
  assert.deepEqual(env, {
    TWILIO_ACCOUNT_SID: 'ACfromfile',
    TWILIO_AUTH_TOKEN: 'tok',
    EMAIL_PROVIDER: 'smtp',
    SMTP_URL: 'smtps://u:p@mail.example.com:465',
  });
  assert.ok(notes.some((n) => n.includes('ignored SUPABASE_URL')));
});

Deno.test('the simulator stands in only for what is unset, and the banner says so', () => {
  const base = { SUPABASE_URL: 'http://127.0.0.1:54321' };
  const real = functionsEnv(
    { ...base, TWILIO_ACCOUNT_SID: 'ACreal', TWILIO_AUTH_TOKEN: 'tok' },
    'http://127.0.0.1:9999',
  );
  assert.equal(real.TWILIO_ACCOUNT_SID, 'ACreal');
  assert.equal(real.TWILIO_AUTH_TOKEN, 'tok');
  assert.equal(real.TWILIO_API_URL, undefined, 'real Twilio keeps its default URL');
  const sim = functionsEnv(base, 'http://127.0.0.1:9999');
  assert.equal(sim.TWILIO_API_URL, 'http://127.0.0.1:9999');
  assert.equal(sim.TWILIO_ACCOUNT_SID, SIM_ACCOUNT_SID);
  const lines = describeProviders({ ...base, ANTHROPIC_API_KEY: 'k' });
  assert.match(lines[0], /^Twilio +simulated/);
  assert.match(lines[1], /^Email +simulated/);
  assert.match(lines[2], /^Anthropic +real/);
  assert.match(lines[3], /^Gemini +off/);
  assert.match(describeProviders({ ...base, TWILIO_ACCOUNT_SID: 'ACreal' })[0], /^Twilio +real/);
});
