// contact-form: a valid submission creates the contact and an email conversation with a 'form'
// message (the typed phone stays in its text); bad fields 400; the honeypot is accepted silently and stores nothing; per-address and
// per-tenant rate limits answer 429.
import assert from 'node:assert/strict';
import { createHandler } from '../../../functions/contact-form/handler.ts';
import { deps, makeTenant, sql, stackEnv, test } from './_env.ts';

const handler = createHandler(deps());
let ipCounter = 0;
const freshIp = () => `198.51.100.${++ipCounter % 250}`;

function submit(body: unknown, ip = freshIp(), type = 'application/json') {
  return handler(
    new Request('http://127.0.0.1:9/contact-form', {
      method: 'POST',
      // What a client claims first, then the address our proxy appended (the one that counts).
      headers: { 'content-type': type, 'x-forwarded-for': `10.0.0.1, ${ip}` },
      body: type === 'application/json'
        ? JSON.stringify(body)
        : new URLSearchParams(body as Record<string, string>),
    }),
  );
}

const form = (tenant: string, extra: Record<string, string> = {}) => ({
  tenant,
  name: 'Casey Customer',
  email: `casey.${crypto.randomUUID()}@example.com`,
  phone: '+1 (415) 555-0142',
  subject: 'Question about listing 42',
  message: 'Is the flat still available?',
  reference: 'listing-42',
  ...extra,
});

test('a valid submission creates the contact and a form message on an email conversation', async () => {
  const t = await makeTenant();
  const f = form(t.slug);
  const res = await submit(f);
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  const [m] = await sql()`select m.kind, m.channel, m.body, m.subject, c.name, c.email, c.phone
    from public.messages m join public.contacts c on c.id = m.contact_id
    where m.conversation_id = ${body.conversation_id}`;
  assert.equal(m.kind, 'form');
  assert.equal(m.channel, 'email');
  assert.equal(m.subject, f.subject);
  assert.equal(
    m.body,
    'Is the flat still available?\n\nReference: listing-42\n' +
      'Phone (as typed in the form, not verified): +1 (415) 555-0142',
  );
  assert.equal(m.name, 'Casey Customer');
  assert.equal(m.email, f.email);
  assert.equal(m.phone, null, 'a typed phone is never written onto the contact');

  // An HTML form post (urlencoded) works too.
  const r2 = await submit(form(t.slug), freshIp(), 'application/x-www-form-urlencoded');
  assert.equal(r2.status, 201);
  await r2.body?.cancel();
});

test('bad fields get 400 invalid_body and store nothing', async () => {
  const t = await makeTenant();
  const bad = [
    form(t.slug, { email: 'not-an-email' }),
    form(t.slug, { name: '' }),
    form(t.slug, { message: 'x'.repeat(5001) }),
    form(t.slug, { phone: 'call me maybe' }),
    { ...form(t.slug), admin: 'true' },
    { tenant: t.slug },
  ];
  for (const b of bad) {
    const res = await submit(b);
    assert.equal(res.status, 400, JSON.stringify(b).slice(0, 80));
    assert.equal((await res.json()).error.code, 'invalid_body');
  }
  const notJson = await handler(
    new Request('http://127.0.0.1:9/contact-form', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    }),
  );
  assert.equal(notJson.status, 400);
  assert.equal((await notJson.json()).error.code, 'invalid_json');
  const unknown = await submit(form('no-such-tenant-slug'));
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const rows = await sql()`select 1 from public.contacts where tenant_id = ${t.id}`;
  assert.equal(rows.length, 0);
});

test('the honeypot looks like success and stores nothing', async () => {
  const t = await makeTenant();
  const res = await submit(form(t.slug, { website: 'http://spam.example' }));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
  const rows = await sql()`select 1 from public.contacts where tenant_id = ${t.id}`;
  assert.equal(rows.length, 0);
});

test('rate limits: 5 per address per 10 minutes, 100 per tenant per hour', async () => {
  const t = await makeTenant();
  const ip = '203.0.113.77';
  for (let i = 0; i < 5; i++) {
    const r = await submit(form(t.slug), ip);
    assert.equal(r.status, 201);
    await r.body?.cancel();
  }
  const limited = await submit(form(t.slug), ip);
  assert.equal(limited.status, 429);
  assert.equal((await limited.json()).error.code, 'rate_limited_ip');
  assert.equal(
    (await sql()`select count(*)::int as n from public.messages where tenant_id = ${t.id}`)[0].n,
    5,
  );

  // Tenant-wide: fill the hour's allowance directly, then any address is refused.
  await sql()`insert into private.form_submissions (tenant_id, ip_hash)
              select ${t.id}, 'filler-' || g from generate_series(1, 95) g`;
  const r = await submit(form(t.slug), '192.0.2.1');
  assert.equal(r.status, 429);
  assert.equal((await r.json()).error.code, 'rate_limited_tenant');
});

test('through the gateway: public (no JWT), CORS preflight answered', async () => {
  const t = await makeTenant();
  const url = `${stackEnv.url}/functions/v1/contact-form`;
  const pre = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://shop.example' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  await pre.body?.cancel();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.200' },
    body: JSON.stringify(form(t.slug)),
  });
  assert.equal(res.status, 201);
  await res.body?.cancel();
});

test('through the gateway: a spoofed X-Forwarded-For does not escape the per-address limit', async () => {
  const t = await makeTenant();
  const url = `${stackEnv.url}/functions/v1/contact-form`;
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${100 + i}` },
      body: JSON.stringify(form(t.slug)),
    });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  // Every post came from 127.0.0.1 (earlier gateway tests may have used part of its allowance):
  // whatever the client wrote into the header, the limit bites within 6 posts and stays.
  const first = statuses.indexOf(429);
  assert.ok(first >= 0, `no 429 in ${statuses}`);
  assert.ok(statuses.slice(0, first).every((s) => s === 201), `${statuses}`);
  assert.ok(statuses.slice(first).every((s) => s === 429), `${statuses}`);
});
