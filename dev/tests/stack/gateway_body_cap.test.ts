// The gateway's 1 MiB body cap for chunked bodies (no content-length): counted while the body
// streams to the upstream, cut off past the cap with 413, and memory stays bounded however much
// the client sends (issue 12: 200 MiB sent used to grow the gateway from 43 to 255 MiB before
// the 413). The gateway runs in this process in front of an upstream that drains what it gets, so
// both the bytes the client managed to hand over and this process's memory can be measured.
import assert from 'node:assert/strict';
import { createGateway, proxyTo } from '../../stack/gateway.ts';
import { apiKeys } from '../../stack/keys.ts';

const MiB = 1024 * 1024;
const keys = await apiKeys();

async function withGateway(fn: (url: string, upstreamBytes: () => number) => Promise<void>) {
  let drained = 0;
  const upstream = Deno.serve(
    { hostname: '127.0.0.1', port: 0, onListen: () => {} },
    async (req) => {
      try {
        for await (const c of req.body ?? []) drained += c.byteLength;
      } catch {
        // the gateway cut the body off
      }
      return Response.json({ drained });
    },
  );
  const gateway = Deno.serve(
    { hostname: '127.0.0.1', port: 0, onListen: () => {} },
    createGateway({
      port: 0,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      routes: { rest: proxyTo(`http://127.0.0.1:${upstream.addr.port}`) },
    }),
  );
  try {
    await fn(`http://127.0.0.1:${gateway.addr.port}`, () => drained);
  } finally {
    await gateway.shutdown();
    await upstream.shutdown();
  }
}

/** A chunked body of `total` bytes made on demand; `pulled()` says how much was taken. */
function lazyBody(total: number) {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= total) return c.close();
      pulled += chunk.byteLength;
      c.enqueue(chunk);
    },
  });
  return { body, pulled: () => pulled };
}

Deno.test('gateway cap: 200 MiB chunked is cut off near 1 MiB with 413; memory stays bounded', async () => {
  await withGateway(async (url, upstreamBytes) => {
    const before = Deno.memoryUsage().rss;
    const { body, pulled } = lazyBody(200 * MiB);
    let status = 0;
    let code = '';
    try {
      const res = await fetch(`${url}/rest/v1/rpc/x`, {
        method: 'POST',
        headers: { apikey: keys.anonKey, 'content-type': 'application/json' },
        body,
      });
      status = res.status;
      code = (await res.json()).code;
    } catch {
      // The server may close the connection while the client is still sending.
    }
    const grown = (Deno.memoryUsage().rss - before) / MiB;
    // The old gateway read all 200 MiB (and held them) before answering.
    assert.ok(pulled() < 32 * MiB, `client handed over ${(pulled() / MiB).toFixed(1)} MiB`);
    assert.ok(upstreamBytes() <= MiB, `upstream got ${upstreamBytes()} bytes`);
    assert.ok(grown < 48, `memory grew by ${grown.toFixed(1)} MiB`);
    if (status) {
      assert.equal(status, 413);
      assert.equal(code, 'payload_too_large');
    }
  });
});

Deno.test('gateway cap: a chunked body of 2 MiB answers 413 payload_too_large', async () => {
  await withGateway(async (url) => {
    const { body } = lazyBody(2 * MiB);
    const res = await fetch(`${url}/rest/v1/rpc/x`, {
      method: 'POST',
      headers: { apikey: keys.anonKey, 'content-type': 'application/json' },
      body,
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).code, 'payload_too_large');
  });
});

Deno.test('gateway cap: a chunked body under the cap streams through whole', async () => {
  await withGateway(async (url) => {
    const { body, pulled } = lazyBody(MiB - 64 * 1024);
    const res = await fetch(`${url}/rest/v1/rpc/x`, {
      method: 'POST',
      headers: { apikey: keys.anonKey, 'content-type': 'application/json' },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).drained, pulled());
  });
});
