// The pg_net emulation (dev/stack/extensions/pg_net--0.20.4.sql + dev/stack/pg_net_worker.ts) against
// pg_net's own semantics (supabase/pg_net src/worker.c, src/core.c, test/test_http_*.py): sent after
// commit and never after a rollback, concurrently, each with its timeout, responses and errors
// recorded under the request id with curl's texts, TTL cleanup, and a worker that outlives a
// Postgres restart. On its own small cluster (bootstrap + `create extension pg_net`, no app schema)
// and with its own worker polling never, so only wakes can make it send.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { bootstrap } from '../../stack/database.ts';
import {
  type Cluster,
  ensurePostgres,
  initCluster,
  startCluster,
  stopCluster,
} from '../../stack/postgres.ts';
import { freePort } from '../../stack/ports.ts';
import { type PgNetWorker, startPgNetWorker } from '../../stack/pg_net_worker.ts';

interface Seen {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

let cluster: Cluster;
let tmp: string;
let sql: postgres.Sql;
let worker: PgNetWorker;
const seen: Seen[] = [];
let arrivals = 0;
let together: () => void;
const allArrived = new Promise<void>((r) => (together = r));
const server = Deno.serve(
  { hostname: '127.0.0.1', port: freePort(), onListen: () => {} },
  async (req) => {
    const url = new URL(req.url);
    seen.push({
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body: await req.text(),
    });
    if (url.pathname === '/slow') await new Promise((r) => setTimeout(r, 2000));
    if (url.pathname === '/together') {
      // Answers only once five requests are in flight at the same time (or fails after 3 s).
      if (++arrivals === 5) together();
      const ok = await Promise.race([
        allArrived.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 3000)),
      ]);
      return new Response(ok ? 'together' : 'alone', { status: ok ? 200 : 500 });
    }
    return Response.json({ ok: true, path: url.pathname }, { headers: { 'x-test': 'yes' } });
  },
);
const base = `http://127.0.0.1:${server.addr.port}`;

function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

async function response(id: string | number, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const [r] = await sql`select * from net._http_response where id = ${id}`;
    if (r) return r;
    if (Date.now() > deadline) throw new Error(`no response for request ${id} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('setup: a bootstrapped cluster with pg_net created as a migration would', async () => {
  const bin = await ensurePostgres();
  tmp = await Deno.makeTempDir({ prefix: 'switchboard-pgnet-' });
  await Deno.chmod(tmp, 0o755);
  await initCluster(`${tmp}/data`, bin);
  cluster = await startCluster(`${tmp}/data`, freePort(), bin, { throwaway: true });
  await bootstrap(cluster);
  sql = postgres(cluster.url(), { max: 4, onnotice: () => {} });
  await sql`create extension if not exists pg_net with schema extensions`;
  worker = await startPgNetWorker({ dbUrl: cluster.url(), pollMs: 0, log: () => {} });
  await sql`select net.wait_until_running()`;
  await sql`select net.check_worker_is_up()`;
});

test('http_post: sent after commit with pg_net defaults, response recorded, queue row removed', async () => {
  const [{ id }] = await sql`
    select net.http_post(${base + '/hook'}, '{"a": 1}'::jsonb,
      headers := '{"apikey": "k1", "Authorization": "Bearer k1"}'::jsonb) as id`;
  const r = await response(id);
  assert.equal(r.status_code, 200);
  assert.equal(r.timed_out, false);
  assert.equal(r.error_msg, null);
  assert.deepEqual(JSON.parse(r.content), { ok: true, path: '/hook' });
  assert.match(r.content_type, /^application\/json/);
  assert.equal(r.headers['x-test'], 'yes');
  const got = seen.find((s) => s.path === '/hook')!;
  assert.equal(got.method, 'POST');
  assert.deepEqual(JSON.parse(got.body), { a: 1 });
  assert.equal(got.headers.get('content-type'), 'application/json', 'added by http_post');
  assert.equal(got.headers.get('apikey'), 'k1');
  assert.equal(got.headers.get('authorization'), 'Bearer k1');
  assert.equal(got.headers.get('user-agent'), 'pg_net/0.20.4');
  const [q] = await sql`select count(*)::int as n from net.http_request_queue where id = ${id}`;
  assert.equal(q.n, 0);
  const [def] = await sql`
    select pg_get_function_arguments('net.http_post(text, jsonb, jsonb, jsonb, integer)'::regprocedure) as a`;
  assert.equal(
    def.a,
    `url text, body jsonb DEFAULT '{}'::jsonb, params jsonb DEFAULT '{}'::jsonb, headers jsonb DEFAULT '{"Content-Type": "application/json"}'::jsonb, timeout_milliseconds integer DEFAULT 5000`,
  );
});

test('http_get with params and http_delete', async () => {
  const [{ g }] = await sql`select net.http_get(${base + '/get'}, '{"q": "a b!", "n": "1"}') as g`;
  assert.equal((await response(g)).status_code, 200);
  assert.ok(seen.some((s) => s.method === 'GET' && s.path === '/get?n=1&q=a%20b%21'));
  const [{ d }] = await sql`select net.http_delete(${base + '/del'}) as d`;
  assert.equal((await response(d)).status_code, 200);
  assert.ok(seen.some((s) => s.method === 'DELETE' && s.path === '/del'));
  await assert.rejects(
    sql`select net.http_post(${base}, '{}', headers := '{"Content-Type": "text/plain"}')`,
    /must be "application\/json"/,
  );
  await assert.rejects(sql`select net.http_get('/malformed_url')`, /invalid URL "\/malformed_url"/);
});

test('a rolled-back request is never sent', async () => {
  const marker = `/rolled-back-${crypto.randomUUID()}`;
  await sql.begin(async (tx) => {
    await tx`select net.http_post(${base + marker})`;
    await tx`select net.wake()`;
    throw new Error('roll back');
  }).catch((e) => assert.equal(e.message, 'roll back'));
  // A later committed request is answered: had the rolled-back one been sent, it would be by now.
  const [{ id }] = await sql`select net.http_post(${base + '/after-rollback'}) as id`;
  await response(id);
  assert.ok(!seen.some((s) => s.path === marker), 'the rolled-back request reached the server');
});

test('requests of one batch run concurrently', async () => {
  const ids = await sql`select net.http_get(${
    base + '/together'
  }) as id from generate_series(1, 5)`;
  for (const { id } of ids) {
    const r = await response(id);
    assert.equal(r.status_code, 200);
    assert.equal(r.content, 'together');
  }
});

test("a timeout is recorded as timed_out with pg_net's message", async () => {
  const [{ id }] = await sql`select net.http_get(${
    base + '/slow'
  }, timeout_milliseconds := 300) as id`;
  const r = await response(id);
  assert.equal(r.timed_out, true);
  assert.equal(r.status_code, null);
  assert.equal(r.content, null);
  assert.match(r.error_msg, /^Timeout of 300 ms reached\. Total time: [0-9.]+ ms \(DNS time: /);
});

test('connection refused and a server that hangs up are recorded as errors', async () => {
  const [{ id }] = await sql`select net.http_post(${`http://127.0.0.1:${freePort()}/x`}) as id`;
  const r = await response(id);
  assert.equal(r.status_code, null);
  assert.equal(r.timed_out, false);
  assert.equal(r.error_msg, "Couldn't connect to server");

  const listener = Deno.listen({ hostname: '127.0.0.1', port: freePort() });
  const hangUp = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(1024)).catch(() => {});
      conn.close();
    }
  })();
  const [{ id: id2 }] = await sql`
    select net.http_get(${`http://127.0.0.1:${listener.addr.port}/`}) as id`;
  const r2 = await response(id2);
  listener.close();
  await hangUp.catch(() => {});
  assert.equal(r2.error_msg, 'Server returned nothing (no headers, no data)');
});

test('responses older than pg_net.ttl are deleted when the worker runs', async () => {
  await sql`alter system set pg_net.ttl = '1 minute'`;
  await sql`select pg_reload_conf()`;
  try {
    await sql`insert into net._http_response (id, status_code, created)
              values (-1, 200, now() - interval '2 minutes'), (-2, 200, now() - interval '30 seconds')`;
    // pg_reload_conf() only signals: the worker's session applies the new TTL at some later
    // statement, so runs are repeated (each one is a worker batch) until it has, with a deadline.
    const deadline = Date.now() + 10_000;
    let left: { id: string }[] = [];
    do {
      const [{ id }] = await sql`select net.http_get(${base + '/ttl'}) as id`;
      await response(id);
      left = await sql`select id from net._http_response where id < 0 order by id`;
    } while (left.length > 1 && Date.now() < deadline);
    assert.deepEqual(
      left.map((r) => Number(r.id)),
      [-2],
      'the old response is gone, the young one kept',
    );
  } finally {
    await sql`alter system reset pg_net.ttl`;
    await sql`select pg_reload_conf()`;
  }
});

test('the worker survives a Postgres restart (and Vault secrets do too)', async () => {
  const [{ id: secret }] = await sql`select vault.create_secret('kept-across-restarts') as id`;
  const [enc] = await sql`select secret from vault.secrets where id = ${secret}`;
  assert.ok(!enc.secret.includes('kept'), 'stored encrypted');
  const key = await Deno.stat(`${cluster.dir}/vault_root.key`);
  assert.equal(key.mode! & 0o077, 0, 'the root key file is private to the server');
  await sql.end();
  await stopCluster(cluster);
  cluster = await startCluster(cluster.dir, cluster.port, cluster.bin, { throwaway: true });
  sql = postgres(cluster.url(), { max: 4, onnotice: () => {} });
  const [{ id }] = await sql`select net.http_post(${base + '/after-restart'}) as id`;
  const r = await response(id, 15_000);
  assert.equal(r.status_code, 200);
  const [v] = await sql`select decrypted_secret from vault.decrypted_secrets where id = ${secret}`;
  assert.equal(v.decrypted_secret, 'kept-across-restarts');
});

test('teardown', async () => {
  await worker.stop();
  await sql.end();
  await stopCluster(cluster);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await server.shutdown();
});
