// The local edge runtime (dev/stack/functions_server.ts) against small throwaway projects: each
// function runs in its own worker with exactly its declared import map (never the root
// deno.json), and the answers around the function's own response are edge-runtime's.
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startFunctions } from '../../stack/functions.ts';
import { freePort } from '../../stack/ports.ts';

const SECRET = 'functions-server-test-secret-at-least-32-chars';

const FUNCTIONS: Record<string, string> = {
  echo: `import { z } from 'zod';
Deno.serve(async (req, info) => Response.json({
  path: new URL(req.url).pathname + new URL(req.url).search,
  xff: req.headers.get('x-forwarded-for'),
  remote: (info.remoteAddr as Deno.NetAddr).hostname,
  body: await req.text(),
  env: Deno.env.toObject(),
  parsed: z.string().parse('zod from the map'),
}));`,
  secure: `Deno.serve(() => new Response('secret ok'));`,
  throws: `Deno.serve(() => { throw new Error('boom'); });`,
  slow: `Deno.serve(async (req) => {
  if (new URL(req.url).searchParams.has('fast')) return new Response('fast');
  await new Promise((r) => setTimeout(r, 5000));
  return new Response('late');
});`,
  exits: `Deno.serve((req) => {
  if (new URL(req.url).searchParams.has('die')) Deno.exit(3);
  return new Response('alive');
});`,
};

async function project(fns: Record<string, string>, verifyJwt: string[] = []): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: 'switchboard-fnproj-' });
  await Deno.mkdir(`${dir}/supabase`);
  await Deno.writeTextFile(
    `${dir}/functions-map.json`,
    JSON.stringify({ imports: { zod: 'npm:zod@4.6.7' } }),
  );
  let toml = '';
  for (const [name, code] of Object.entries(fns)) {
    await Deno.mkdir(`${dir}/fns/${name}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/fns/${name}/index.ts`, code);
    toml += `[functions.${name}]\nentrypoint = "../fns/${name}/index.ts"\n` +
      `import_map = "../functions-map.json"\nverify_jwt = ${verifyJwt.includes(name)}\n\n`;
  }
  await Deno.writeTextFile(`${dir}/supabase/config.toml`, toml);
  return dir;
}

async function start(dir: string, wallClockSec = 150) {
  const port = freePort();
  const svc = await startFunctions({
    port,
    projectDir: dir,
    logDir: dir,
    wallClockSec,
    env: {
      SUPABASE_URL: 'http://127.0.0.1:1',
      SUPABASE_JWT_SECRET: SECRET,
      TWILIO_API_URL: 'http://127.0.0.1:9', // no simulator
      CUSTOM_SETTING: 'from the function env',
    },
  });
  return { url: `http://127.0.0.1:${port}`, svc: svc! };
}

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: 'functions server: workers with their own map, edge-runtime answers and limits',
  ...opts,
  fn: async (t) => {
    const dir = await project(FUNCTIONS, ['secure']);
    const { url, svc } = await start(dir, 1);
    try {
      await t.step('a request reaches index.ts with its path, env and client address', async () => {
        const res = await fetch(`${url}/echo/sub/path?q=1`, {
          method: 'POST',
          body: 'hello',
          headers: { 'x-forwarded-for': '203.0.113.7' },
        });
        assert.equal(res.status, 200);
        const b = await res.json();
        assert.equal(b.path, '/echo/sub/path?q=1');
        assert.equal(b.xff, '203.0.113.7');
        assert.equal(b.remote, '0.0.0.0', 'functions see the listener, not the client');
        assert.equal(b.body, 'hello');
        assert.equal(b.parsed, 'zod from the map');
        assert.equal(b.env.CUSTOM_SETTING, 'from the function env');
        assert.equal(b.env.SUPABASE_JWT_SECRET, SECRET);
        for (const k of Object.keys(b.env)) {
          assert.ok(!k.startsWith('SUPABASE_INTERNAL_'), `${k} leaked`);
          assert.ok(!['HOME', 'PATH', 'DENO_NO_PACKAGE_JSON'].includes(k), `${k} leaked`);
        }
        assert.ok(!('SWITCHBOARD_TEST_DB_URL' in b.env), 'the test runner env leaked');
      });
      await t.step('without x-forwarded-for the caller address is added', async () => {
        const b = await (await fetch(`${url}/echo`)).json();
        assert.equal(b.xff, '127.0.0.1');
      });
      await t.step('unknown function: 404 NOT_FOUND', async () => {
        const res = await fetch(`${url}/nope`);
        assert.equal(res.status, 404);
        assert.deepEqual(await res.json(), {
          code: 'NOT_FOUND',
          message: 'Requested function was not found',
        });
      });
      await t.step('verify_jwt: missing, bad and valid tokens', async () => {
        const none = await fetch(`${url}/secure`);
        assert.equal(none.status, 401);
        assert.equal((await none.json()).message, 'Missing authorization header');
        const bad = await fetch(`${url}/secure`, { headers: { authorization: 'Bearer x.y.z' } });
        assert.equal(bad.status, 401);
        assert.equal((await bad.json()).message, 'Invalid JWT');
        const jwt = await new SignJWT({ role: 'anon' }).setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
        const ok = await fetch(`${url}/secure`, { headers: { authorization: `Bearer ${jwt}` } });
        assert.equal(ok.status, 200);
        assert.equal(await ok.text(), 'secret ok');
        const pre = await fetch(`${url}/secure`, { method: 'OPTIONS' });
        assert.equal(pre.status, 200, 'CORS preflight needs no JWT');
        await pre.body?.cancel();
      });
      await t.step('a handler that throws: 500 Internal Server Error', async () => {
        const res = await fetch(`${url}/throws`);
        assert.equal(res.status, 500);
        assert.equal(await res.text(), 'Internal Server Error');
      });
      await t.step('wall clock exceeded: 546 WORKER_LIMIT, then a fresh worker', async () => {
        const res = await fetch(`${url}/slow`);
        assert.equal(res.status, 546);
        assert.equal((await res.json()).code, 'WORKER_LIMIT');
        const next = await fetch(`${url}/slow?fast`);
        assert.equal(await next.text(), 'fast');
      });
      await t.step(
        'a worker that dies mid-request: 500 WORKER_ERROR, then it boots again',
        async () => {
          const res = await fetch(`${url}/exits?die`);
          assert.equal(res.status, 500);
          assert.equal((await res.json()).code, 'WORKER_ERROR');
          const next = await fetch(`${url}/exits`);
          assert.equal(await next.text(), 'alive');
        },
      );
    } finally {
      await svc.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    'functions server: a package missing from the map stops the start, even if deno.json pins it',
  ...opts,
  fn: async () => {
    // `postgres` is pinned in the root deno.json; the function's map lacks it.
    const dir = await project({
      ok: `Deno.serve(() => new Response('ok'));`,
      broken: `import postgres from 'postgres';\nDeno.serve(() => new Response(typeof postgres));`,
    });
    try {
      await assert.rejects(() => start(dir), (e: Error) => {
        assert.match(e.message, /function broken failed to boot/);
        assert.match(e.message, /Import "postgres" not a dependency/);
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
