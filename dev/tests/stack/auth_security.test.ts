// The auth server driven as an attacker would: addresses GoTrue refuses, anonymous sign-ups,
// spoofed X-Forwarded-For, brute force past the rate limits of supabase/config.toml, and
// signing in with an address one cannot read.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { stackEnv } from './_env.ts';
import { startAuth } from '../../stack/auth/mod.ts';
import { CLI_DEFAULTS, readAuthConfig } from '../../stack/auth/config.ts';
import { clientIp, Limiters } from '../../stack/auth/limiter.ts';
import { mailsTo } from '../_mail.ts';

const env = stackEnv();
const AUTH = `${env.SUPABASE_URL}/auth/v1`;
const run = crypto.randomUUID().slice(0, 8);
let seq = 0;
const uniqueEmail = (label: string) => `${label}-${run}-${++seq}@example.test`;

function call(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  key = env.SUPABASE_ANON_KEY,
) {
  return fetch(`${AUTH}${path}`, {
    method: 'POST',
    headers: {
      apikey: key,
      'content-type': 'application/json',
      'x-supabase-api-version': '2024-01-01',
      ...headers,
    },
    body: JSON.stringify(body),
  });
}
const admin = { authorization: `Bearer ${env.SUPABASE_SERVICE_ROLE_KEY}` };

Deno.test('auth security: addresses GoTrue refuses are 400 validation_failed on both doors', async () => {
  for (const email of ['xx:;x@x.x', 'ü@x.de', 'a@-x.com', 'a@x..de', 'a b@x.de']) {
    for (const [path, headers] of [['/signup', {}], ['/admin/users', admin]] as const) {
      const res = await call(path, { email, password: 'long enough pw' }, headers);
      const body = await res.json();
      assert.equal(res.status, 400, `${path} ${email}: ${JSON.stringify(body)}`);
      assert.equal(body.code, 'validation_failed');
      assert.equal(body.message, 'Unable to validate email address: invalid format');
    }
  }
  const sql = postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  try {
    const n = await sql`select count(*)::int as n from auth.users where email like any(
      array['xx:;x@x.x', 'ü@x.de', 'a@-x.com'])`;
    assert.equal(n[0].n, 0, 'nothing was stored');
  } finally {
    await sql.end();
  }
});

Deno.test('auth security: a dotless domain such as localhost is accepted as GoTrue does', async () => {
  const local = `a-${run}@localhost`;
  const created = await call('/admin/users', { email: local, password: 'long enough pw' }, admin);
  assert.equal(created.status, 200, await created.clone().text());
  const signup = await call('/signup', { email: `b-${run}@localhost`, password: 'long enough pw' });
  assert.equal(signup.status, 200, await signup.clone().text());
  await created.body?.cancel();
  await signup.body?.cancel();
});

Deno.test('auth security: a sign-up without email or phone is 422 anonymous_provider_disabled', async () => {
  for (const body of [{}, { password: 'long enough pw' }, { data: { role: 'owner' } }]) {
    const res = await call('/signup', body);
    const json = await res.json();
    assert.equal(res.status, 422, JSON.stringify(json));
    assert.equal(json.code, 'anonymous_provider_disabled');
    assert.equal(json.message, 'Anonymous sign-ins are disabled');
  }
});

Deno.test('auth security: a sign-up cannot sign in before following the mailed link', async () => {
  // Someone signing up with an address they do not own gets no session and cannot sign in.
  const email = uniqueEmail('squatter');
  const res = await call('/signup', { email, password: 'long enough pw' });
  const body = await res.json();
  assert.equal(res.status, 200);
  assert.equal(body.access_token, undefined);
  const signIn = await fetch(`${AUTH}/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: env.SUPABASE_ANON_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'long enough pw' }),
  });
  assert.equal(signIn.status, 400);
  assert.equal((await signIn.json()).error_code, 'email_not_confirmed');
  const [mail] = await mailsTo(email);
  assert.equal(mail.Subject, 'Confirm your email address');
  assert.match(mail.HTML, /\/auth\/v1\/verify\?token=[0-9a-f]{56}&amp;type=signup/);
});

Deno.test('auth security: a forged X-Forwarded-For does not become the session IP', async () => {
  const email = uniqueEmail('xff');
  const created = await call('/admin/users', {
    email,
    password: 'long enough pw',
    email_confirm: true,
  }, admin);
  const { id } = await created.json();
  const res = await fetch(`${AUTH}/token?grant_type=password`, {
    method: 'POST',
    headers: {
      apikey: env.SUPABASE_ANON_KEY,
      'content-type': 'application/json',
      'x-forwarded-for': '6.6.6.6',
    },
    body: JSON.stringify({ email, password: 'long enough pw' }),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  const sql = postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  try {
    const [s] = await sql`select host(ip) as ip from auth.sessions where user_id = ${id}`;
    assert.equal(s.ip, '127.0.0.1', 'the peer the request came from, not the header');
  } finally {
    await sql.end();
  }
});

/** An auth server with supabase/config.toml's own limits, served the way the gateway calls it. */
async function limitedAuth() {
  const config = await readAuthConfig();
  const auth = await startAuth({
    dbUrl: env.SUPABASE_DB_URL,
    jwtSecret: env.SUPABASE_JWT_SECRET,
    jwtExpirySeconds: 3600,
    siteUrl: config.siteUrl,
    config,
    smtpUrl: Deno.env.get('INVITE_SMTP_URL'),
  });
  const server = Deno.serve(
    { hostname: '127.0.0.1', port: 0, onListen: () => {} },
    (req, info) => auth.handler(req, new URL(req.url).pathname, info),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    config,
    stop: async () => {
      await server.shutdown();
      await auth.stop();
    },
  };
}

Deno.test('auth security: password guessing is stopped by the token rate limit, spoofing or not', async () => {
  const a = await limitedAuth();
  try {
    assert.equal(
      a.config.rateLimits.tokenRefresh,
      150,
      'config.toml [auth.rate_limit] token_refresh',
    );
    const statuses: number[] = [];
    let code = '';
    for (let i = 0; i < 40; i++) {
      // Every guess claims another address: only the last X-Forwarded-For entry (the peer) counts.
      const res = await fetch(`${a.url}/token?grant_type=password`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-supabase-api-version': '2024-01-01',
          'x-forwarded-for': `10.0.${i}.1`,
        },
        body: JSON.stringify({ email: 'demo@switchboard.local', password: `guess-${i}` }),
      });
      statuses.push(res.status);
      const body = await res.json();
      if (res.status === 429) code = body.code;
    }
    // The burst is 30 (tollbooth SetBurst(30)); refills at 150 per 5 minutes (0.5 a second).
    assert.ok(statuses.slice(0, 30).every((s) => s === 400), statuses.join(','));
    assert.ok(statuses.slice(32).every((s) => s === 429), statuses.join(','));
    assert.equal(code, 'over_request_rate_limit');
  } finally {
    await a.stop();
  }
});

Deno.test('auth security: mass sign-ups are stopped by sign_in_sign_ups', async () => {
  const a = await limitedAuth();
  try {
    let first429 = -1;
    for (let i = 0; i < 35 && first429 < 0; i++) {
      const res = await fetch(`${a.url}/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.1.${i}.1` },
        body: JSON.stringify({ email: 'not an address', password: 'long enough pw' }),
      });
      if (res.status === 429) first429 = i;
      await res.body?.cancel();
    }
    assert.ok(first429 >= 30 && first429 <= 31, `first 429 at request ${first429}`);
  } finally {
    await a.stop();
  }
});

Deno.test('auth security: guessing mailed tokens is stopped by token_verifications', async () => {
  const a = await limitedAuth();
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      // Well-formed SHA-224 hex that belongs to nobody.
      const token = i.toString(16).padStart(56, '0');
      const res = await fetch(`${a.url}/verify?type=signup&token=${token}`, { redirect: 'manual' });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    // Wrong tokens are redirects carrying otp_expired; past the burst of 30 it is a 429.
    assert.ok(statuses.slice(0, 30).every((s) => s === 303), statuses.join(','));
    assert.equal(statuses.at(-1), 429);
  } finally {
    await a.stop();
  }
});

Deno.test('auth security: the client address is the last X-Forwarded-For entry, buckets are per address', () => {
  const info = (hostname: string) =>
    ({ remoteAddr: { transport: 'tcp', hostname, port: 1 } }) as unknown as Deno.ServeHandlerInfo;
  const req = new Request('http://x/', { headers: { 'x-forwarded-for': '1.1.1.1, 2.2.2.2' } });
  assert.equal(clientIp(req, info('127.0.0.1')), '127.0.0.1', 'the peer is appended last');
  assert.equal(clientIp(req, undefined), '2.2.2.2', 'behind a proxy: its appended entry');
  assert.equal(
    clientIp(new Request('http://x/', { headers: { 'x-forwarded-for': 'evil' } }), undefined),
    null,
  );
  const limits = new Limiters({ ...CLI_DEFAULTS.rateLimits, signInSignUps: 30 });
  for (let i = 0; i < 30; i++) limits.check('signups', '10.0.0.1');
  assert.throws(() => limits.check('signups', '10.0.0.1'), /Request rate limit reached/);
  limits.check('signups', '10.0.0.2');
});
