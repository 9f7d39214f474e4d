// `deno task bench web`: the dashboard's weight and speed (issue 7).
// - gzip size of the first route's JavaScript: the entry script plus the chunks index.html
//   preloads (lazy pages are not counted: they load only when visited). Target ≤ 150 KB.
// - time to the first inbox render with 5,000 conversations, in headless Debian Chromium, against
//   a throwaway stack: from navigation (signed in) to the first conversation row. Target < 1.5 s.
// Figures are printed and replace its dated section of dev/bench/RESULTS.md.
import postgres from 'postgres';
import { createClient } from '@supabase/supabase-js';
import { throwawayCluster } from '../stack/cluster.ts';
import { startStack } from '../stack/stack.ts';
import { startWeb } from '../stack/web.ts';
import { freePort } from '../stack/ports.ts';
import { writeResults } from './_results.ts';
import { launchChromium } from '../tests/e2e/_chromium.ts';

const CONVERSATIONS = 5000;
const RUNS = 5;

async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** The entry script and every modulepreloaded chunk of index.html, gzip-compressed. */
async function firstRouteJs(dist: string): Promise<{ files: string[]; raw: number; gzip: number }> {
  const html = await Deno.readTextFile(`${dist}/index.html`);
  const refs = [
    ...html.matchAll(/<script[^>]+src="([^"]+\.js)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+\.js)"/g),
  ].map((m) => m[1]);
  let raw = 0, gzip = 0;
  for (const ref of new Set(refs)) {
    const bytes = await Deno.readFile(`${dist}/${ref.replace(/^\//, '')}`);
    raw += bytes.byteLength;
    gzip += await gzipSize(bytes);
  }
  return { files: [...new Set(refs)], raw, gzip };
}

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const t0 = performance.now();
const db = await throwawayCluster({ log: () => {} });
const stack = await startStack({ cluster: db.cluster, mode: 'test' });
const logDir = await Deno.makeTempDir({ prefix: 'switchboard-bench-web-' });
const outDir = `${logDir}/dist`;
let web: Awaited<ReturnType<typeof startWeb>> | undefined;
let close = async () => {};
try {
  // A business with 5,000 conversations, made through the real API and SQL.
  const email = `bench-${crypto.randomUUID().slice(0, 8)}@bench.test`;
  const password = 'bench-password-123';
  const client = createClient(stack.env.SUPABASE_URL, stack.env.SUPABASE_ANON_KEY, {
    auth: { persistSession: false },
  });
  // Sign-ups need a confirmed address (enable_confirmations): the admin API makes one.
  const admin = createClient(stack.env.SUPABASE_URL, stack.env.SUPABASE_SERVICE_ROLE_KEY, {
    auth: { persistSession: false },
  });
  const up = await admin.auth.admin.createUser({ email, password, email_confirm: true });
  if (up.error) throw new Error(`create user: ${up.error.message}`);
  await client.auth.signInWithPassword({ email, password });
  const { data: tenant, error } = await client.rpc(
    'create_tenant' as never,
    { p_name: 'Bench' } as never,
  ) as {
    data: { id: string } | null;
    error: { message: string } | null;
  };
  if (error || !tenant) throw new Error(`create_tenant: ${error?.message}`);
  const sql = postgres(db.cluster.url(), { max: 1, onnotice: () => {} });
  await sql`
    with c as (
      insert into public.contacts (tenant_id, name, phone)
      select ${tenant.id}::uuid, 'Customer ' || g, '+1415' || lpad(g::text, 7, '0')
      from generate_series(1, ${CONVERSATIONS}) g
      returning id, name
    )
    insert into public.conversations (tenant_id, contact_id, channel, last_message_at,
      last_message_preview, unread_count)
    select ${tenant.id}::uuid, c.id, 'sms', now() - (random() * interval '30 days'),
      'Hello from ' || c.name, (random() * 2)::int
    from c`;
  await sql.end();

  const port = freePort();
  web = await startWeb({ port, env: stack.env, logDir, mode: 'test', outDir });
  const url = `http://127.0.0.1:${port}`;
  const size = await firstRouteJs(outDir);

  const { browser, stop } = await launchChromium();
  close = stop;
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  await page.goto(url);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('.conversation').first().waitFor({ timeout: 30_000 });
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = Date.now();
    await page.reload({ waitUntil: 'commit' });
    await page.locator('.conversation').first().waitFor({ timeout: 30_000 });
    times.push(Date.now() - start);
  }
  const rows = await page.locator('.conversation').count();
  const ms = median(times);
  const kb = (n: number) => (n / 1024).toFixed(1);
  const lines = [
    `first route JS: ${size.files.length} file(s), ${kb(size.raw)} KB raw, ${
      kb(size.gzip)
    } KB gzip (target ≤ 150 KB) ${size.gzip <= 150 * 1024 ? 'PASS' : 'FAIL'}`,
    `first inbox render with ${CONVERSATIONS} conversations: median ${ms} ms of ${RUNS} reloads (${
      times.join(', ')
    } ms; ${rows} rows drawn, newest first; target < 1500 ms) ${ms < 1500 ? 'PASS' : 'FAIL'}`,
  ];
  for (const l of lines) console.log(l);
  await writeResults('web', 'web (dev/bench/web.ts)', [
    '`npx -y deno@2.9.6 task bench web` — dashboard bundle built against a throwaway stack, served by ' +
    '`vite preview`, Debian Chromium headless; the inbox lists pages of 100 conversations, newest first.',
    '',
    ...lines.map((l) => `- ${l}`),
  ]);
  console.log(
    `wrote the web section of dev/bench/RESULTS.md (${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s)`,
  );
} finally {
  await close();
  await web?.stop();
  await stack.stop();
  await db.dispose();
  await Deno.remove(logDir, { recursive: true }).catch(() => {});
}
