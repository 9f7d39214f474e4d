// The pg_net background worker of the local stack, with the semantics of supabase/pg_net 0.20.4
// (src/worker.c, src/core.c, src/errors.c), for the SQL-only extension in
// dev/stack/extensions/pg_net--0.20.4.sql:
//
// - It sleeps until woken. net.http_*() call net.wake(), here a NOTIFY on pg_net_wake, delivered
//   only when the caller's transaction commits (pg_net sets the worker's latch from a commit
//   callback), so a rolled-back request is never sent. It also wakes at start and after every
//   reconnect (a wake sent while it was away is lost), and every `pollMs` as a safety net.
// - One batch at a time, in one transaction: delete expired responses (created < now() -
//   pg_net.ttl, default '6 hours', at most pg_net.batch_size rows, default 200), delete up to
//   batch_size queued requests in id order, perform them all concurrently, each with its own
//   timeout_milliseconds for the whole transfer, following redirects, http(s) only; insert one
//   net._http_response row per request (status_code, headers, content, content_type, timed_out
//   false; or timed_out / error_msg with curl's texts), commit. A queued row therefore stays
//   visible to other sessions until its response is recorded, and a crash re-sends the batch.
// - After a batch that did something it waits up to 1 s (less when woken) and goes again, as
//   pg_net does "to avoid using too much CPU"; otherwise back to sleep.
// - It survives Postgres restarts: a failed batch is retried after 1 s on a new connection.
//
// Differences: it runs as a client session named "pg_net 0.20.4 worker" (net.check_worker_is_up()
// looks for that name); response header names come lowercased and repeated headers joined by
// ", " (fetch); a timeout's message puts the whole time under "HTTP Request/Response time".
import postgres from 'postgres';

export const PG_NET_VERSION = '0.20.4';
const APPLICATION_NAME = `pg_net ${PG_NET_VERSION} worker`;

export interface PgNetWorkerOptions {
  dbUrl: string;
  /** Safety-net poll in ms (default 5000); 0 = only wakes, as pg_net itself. */
  pollMs?: number;
  log?: (line: string) => void;
}

export interface PgNetWorker {
  stop(): Promise<void>;
}

interface QueueRow {
  id: string;
  method: string;
  url: string;
  timeout_milliseconds: number;
  headers: Record<string, unknown> | null;
  body: Uint8Array | null;
}

interface ResponseRow {
  id: string;
  status_code: number | null;
  content: string | null;
  headers: Record<string, string> | null;
  content_type: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

export async function startPgNetWorker(opts: PgNetWorkerOptions): Promise<PgNetWorker> {
  const log = opts.log ?? ((l: string) => console.log(`[pg_net] ${l}`));
  const pollMs = opts.pollMs ?? 5000;
  const sql = postgres(opts.dbUrl, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: APPLICATION_NAME },
  });
  const stopping = new AbortController();
  let wake = true; // pg_net's should_wake starts at 1: whatever is queued goes out at start
  let wakeUp: (() => void) | null = null;
  const poke = () => {
    wake = true;
    wakeUp?.();
  };
  /** Resolves when woken (at once if a wake is pending) or after `ms` (0 = never). */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (wake || stopping.signal.aborted) return resolve();
      const timer = ms > 0 ? setTimeout(() => done(), ms) : undefined;
      const done = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
      wakeUp = done;
    });

  const listeners = await Promise.all(
    ['pg_net_wake', 'pg_net_restart'].map((ch) => sql.listen(ch, poke, poke)),
  );

  let lastError = '';
  const loop = async () => {
    while (!stopping.signal.aborted) {
      await sleep(pollMs);
      wake = false;
      for (;;) {
        if (stopping.signal.aborted) return;
        let did: number;
        try {
          did = await runBatch(sql, stopping.signal);
          if (lastError) log('connected again');
          lastError = '';
        } catch (e) {
          if (stopping.signal.aborted) return;
          const msg = (e as Error).message;
          if (msg !== lastError) log(`batch failed, retrying every second: ${msg}`);
          lastError = msg;
          await new Promise((r) => setTimeout(r, 1000));
          wake = true;
          break;
        }
        if (did === 0) break;
        await sleep(1000);
        wake = false;
      }
    }
  };
  const running = loop();

  return {
    async stop() {
      stopping.abort();
      wakeUp?.();
      await running;
      await Promise.all(listeners.map((l) => l.unlisten().catch(() => {})));
      await sql.end({ timeout: 2 }).catch(() => {});
    },
  };
}

/** One pg_net batch (worker.c's inner loop body). Returns rows expired + requests performed. */
async function runBatch(sql: postgres.Sql, stop: AbortSignal): Promise<number> {
  return await sql.begin(async (tx) => {
    const [ext] = await tx`
      select to_regclass('net.http_request_queue') is not null
         and to_regclass('net._http_response') is not null as ok,
        coalesce(nullif(current_setting('pg_net.ttl', true), ''), '6 hours') as ttl,
        coalesce(nullif(current_setting('pg_net.batch_size', true), '')::int, 200) as batch`;
    if (!ext.ok) return 0; // the extension is not created (yet): nothing to do
    const expired = await tx`
      with rows as (
        select ctid from net._http_response
        where created < now() - ${ext.ttl}::interval order by created limit ${ext.batch})
      delete from net._http_response r using rows where r.ctid = rows.ctid`;
    const rows = await tx<QueueRow[]>`
      with rows as (select id from net.http_request_queue order by id limit ${ext.batch})
      delete from net.http_request_queue q using rows where q.id = rows.id
      returning q.id, q.method, q.url, q.timeout_milliseconds, q.headers, q.body`;
    const results = await Promise.all(rows.map((r) => perform(r, stop)));
    // Stopping mid-batch rolls the batch back: the requests stay queued, as after a crash.
    if (stop.aborted) throw new Error('stopping');
    for (const r of results) {
      await tx`
        insert into net._http_response
          (id, status_code, content, headers, content_type, timed_out, error_msg)
        values (${r.id}, ${r.status_code}, ${r.content},
          ${r.headers ? JSON.stringify(r.headers) : null}::text::jsonb,
          ${r.content_type}, ${r.timed_out}, ${r.error_msg})`;
    }
    return expired.count + rows.length;
  });
}

/** One request, as pg_net's curl handle performs it (core.c init_curl_handle, insert_response). */
async function perform(row: QueueRow, stop: AbortSignal): Promise<ResponseRow> {
  const out: ResponseRow = {
    id: row.id,
    status_code: null,
    content: null,
    headers: null,
    content_type: null,
    timed_out: false,
    error_msg: null,
  };
  let url: URL;
  try {
    url = new URL(row.url);
  } catch {
    return { ...out, error_msg: 'URL using bad/illegal format or missing URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ...out, error_msg: 'Unsupported protocol' };
  }
  const headers = new Headers();
  if (row.headers) {
    // `key: value` lines from jsonb_each_text; a null value makes a null line, which is skipped.
    for (const [k, v] of Object.entries(row.headers)) {
      if (v !== null) headers.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    }
    if (!headers.has('user-agent')) headers.set('user-agent', `pg_net/${PG_NET_VERSION}`);
  }
  const method = row.method.toUpperCase();
  const bytes = row.body ? new Uint8Array(row.body) : null;
  const body = method === 'POST'
    ? (bytes ?? new Uint8Array())
    : method === 'DELETE'
    ? (bytes ?? undefined)
    : undefined;
  const timeout = AbortSignal.timeout(row.timeout_milliseconds);
  const started = performance.now();
  let phase: 'request' | 'body' = 'request';
  try {
    const res = await fetch(url, {
      method,
      headers,
      body,
      redirect: 'follow',
      signal: AbortSignal.any([timeout, stop]),
    });
    phase = 'body';
    const got = new Uint8Array(await res.arrayBuffer());
    const h: Record<string, string> = {};
    res.headers.forEach((v, k) => (h[k] = v));
    return {
      ...out,
      status_code: res.status,
      // A C string in pg_net: an empty body is NULL, and it ends at the first NUL byte.
      content: got.length && got[0] !== 0
        ? new TextDecoder().decode(got.subarray(0, nulAt(got)))
        : null,
      headers: h,
      content_type: res.headers.get('content-type'),
    };
  } catch (e) {
    if (timeout.aborted) {
      const total = (performance.now() - started).toFixed(6);
      return {
        ...out,
        timed_out: true,
        error_msg: `Timeout of ${row.timeout_milliseconds} ms reached. Total time: ${total} ms ` +
          `(DNS time: 0.000000 ms, TCP/SSL handshake time: 0.000000 ms, ` +
          `HTTP Request/Response time: ${total} ms)`,
      };
    }
    return { ...out, error_msg: curlError(e, phase) };
  }
}

function nulAt(bytes: Uint8Array): number {
  const i = bytes.indexOf(0);
  return i < 0 ? bytes.length : i;
}

/** fetch's failure, as curl_easy_strerror words it for the same cause. */
function curlError(e: unknown, phase: 'request' | 'body'): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const text = `${err?.message ?? e} ${err?.cause?.message ?? ''} ${err?.cause?.code ?? ''}`;
  if (/refused/i.test(text)) return "Couldn't connect to server"; // CURLE_COULDNT_CONNECT
  if (/dns error|failed to lookup|resolve|not known|no address/i.test(text)) {
    return "Couldn't resolve host name"; // CURLE_COULDNT_RESOLVE_HOST
  }
  if (phase === 'body') return 'Failure when receiving data from the peer'; // CURLE_RECV_ERROR
  // The server closed the connection before answering (CURLE_GOT_NOTHING).
  return 'Server returned nothing (no headers, no data)';
}
