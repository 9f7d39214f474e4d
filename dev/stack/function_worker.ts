// One edge function's worker, as supabase/edge-runtime runs each function in its own user worker
// (EdgeRuntime.userWorkers.create in supabase/cli apps/cli-go/internal/functions/serve/templates/
// main.ts). Started by dev/stack/functions_server.ts as
//   deno run --no-config --import-map=<the function's map> dev/stack/function_worker.ts <entrypoint> …
// so bare specifiers resolve ONLY from the function's declared map: a pin missing there fails
// here as it fails on deploy. This file therefore imports nothing by bare name.
//
// It intercepts Deno.serve, imports the real entrypoint (index.ts) and serves the captured
// handler on a loopback port it reports on stdout. Like edge-runtime's Deno.serve
// (ext/runtime/js/http.js): the handler's info.remoteAddr is the worker's own listener, not the
// client (functions read x-forwarded-for), and a handler that throws gives 500
// "Internal Server Error" unless the function passed onError. A module exporting
// `default { fetch }` is served too (ext/runtime/js/00_serve.js registerDeclarativeServer).
//
// Args: <entrypoint> <names of host variables to remove from Deno.env> [--import-only]
export const READY_MARKER = '\u0000switchboard-worker-ready ';

type Handler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;
type ErrorHandler = (e: unknown) => Response | Promise<Response>;

const EDGE_REMOTE_ADDR = { hostname: '0.0.0.0', port: 9999, transport: 'tcp' } as const;

interface Captured {
  handler?: Handler;
  onError?: ErrorHandler;
}

function interceptServe(captured: Captured): void {
  const fake = (a: unknown, b?: unknown) => {
    if (captured.handler) throw new Error('Deno.serve was called twice');
    const opts = (typeof a === 'object' && a ? a : {}) as {
      handler?: Handler;
      onError?: ErrorHandler;
    };
    captured.handler = typeof a === 'function'
      ? a as Handler
      : typeof b === 'function'
      ? b as Handler
      : opts.handler;
    if (!captured.handler) throw new TypeError('A handler function must be provided.');
    captured.onError = opts.onError;
    return {
      finished: new Promise<void>(() => {}),
      addr: EDGE_REMOTE_ADDR,
      shutdown: () => Promise.resolve(),
      ref() {},
      unref() {},
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  };
  // deno-lint-ignore no-explicit-any
  (Deno as any).serve = fake;
}

/** Exits when the functions server is gone (even SIGKILLed), so no worker outlives its stack. */
function exitWithParent() {
  const parent = Deno.ppid;
  const timer = setInterval(() => Deno.ppid !== parent && Deno.exit(0), 1000);
  Deno.unrefTimer(timer);
}

/**
 * Host variables that configure Deno's own HTTP client (CA certificates, proxies) stay: the
 * dynamic import below resolves the function's npm packages, and a package its map resolves anew
 * is downloaded then, after the strip. They say nothing about the host a function could use.
 */
export const NETWORK_ENV = [
  'NODE_EXTRA_CA_CERTS',
  'DENO_CERT',
  'DENO_TLS_CA_STORE',
  'SSL_CERT_FILE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];
const KEEP = new Set(NETWORK_ENV);

async function main() {
  const [entrypoint, strip = '', mode] = Deno.args;
  exitWithParent();
  for (const name of strip.split(',')) if (name && !KEEP.has(name)) Deno.env.delete(name);
  const realServe = Deno.serve;
  const captured: Captured = {};
  interceptServe(captured);
  const mod = await import(new URL(`file://${entrypoint}`).href);
  if (!captured.handler && typeof mod.default?.fetch === 'function') {
    captured.handler = (req) => mod.default.fetch(req);
  }
  const handler = captured.handler;
  if (!handler) throw new Error(`${entrypoint} did not call Deno.serve`);
  if (mode === '--import-only') return;

  realServe({
    hostname: '127.0.0.1',
    port: 0,
    onListen: ({ port }) => console.log(`${READY_MARKER}${port}`),
  }, async (req, info) => {
    try {
      return await handler(req, { remoteAddr: EDGE_REMOTE_ADDR, completed: info.completed });
    } catch (e) {
      if (captured.onError) return await captured.onError(e);
      console.error(e);
      return new Response('Internal Server Error', { status: 500 });
    }
  });
}

if (import.meta.main) await main();
