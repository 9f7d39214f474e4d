// The local stack's edge runtime, shaped like supabase/edge-runtime's main service (the one the
// Supabase CLI runs: supabase/cli apps/cli-go/internal/functions/serve/templates/main.ts). It
// routes /<name>/… (the gateway maps /functions/v1/<name> here) to one worker process per
// function (dev/stack/function_worker.ts), each a Deno started with `--no-config` and exactly the
// import map its [functions.<name>] block declares (dev/stack/function_config.ts), never the root
// deno.json. verify_jwt per config.toml is checked here (dev/stack/verify_jwt.ts) before a worker
// sees the request. Answers for what is not the function's own response follow hosted Supabase:
//   404 {"code":"NOT_FOUND","message":"Requested function was not found"}  unknown function
//   503 {"code":"BOOT_ERROR",…}    the worker failed to boot (e.g. an import its map lacks)
//   500 {"code":"WORKER_ERROR",…}  the worker died while handling the request
//   546 {"code":"WORKER_LIMIT",…}  no response within the wall-clock limit (150 s, hosted free)
// (codes and messages: main.ts SB_SPECIFIC_ERROR_*; NOT_FOUND: supabase/supabase docs
// troubleshooting/edge-function-404-error-response). Limits emulated: wall clock per request and
// 256 MB heap per worker (main.ts memoryLimitMb); CPU time (2 s) is not.
//
// Nothing else runs here: no dispatcher loop. Functions run only when something calls them over
// HTTP, as on Supabase.
//
// Environment: the function environment, passed to every worker unchanged, plus (stripped, as
// main.ts strips SUPABASE_INTERNAL_*): SUPABASE_INTERNAL_PORT, SUPABASE_INTERNAL_PROJECT_DIR,
// SUPABASE_INTERNAL_HOST_ENV (comma list of host variables the Deno binary needs but functions
// must not see), SUPABASE_INTERNAL_WALLCLOCK_LIMIT_SEC.
import { type FunctionSpec, readFunctionSpecs } from './function_config.ts';
import { functionsJwtCheck } from './verify_jwt.ts';
import { READY_MARKER } from './function_worker.ts';

const WORKER_FILE = new URL('./function_worker.ts', import.meta.url).pathname;
const all = Deno.env.toObject();
const projectDir = all.SUPABASE_INTERNAL_PROJECT_DIR ??
  new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const port = Number(all.SUPABASE_INTERNAL_PORT ?? 54331);
const wallClockMs = Number(all.SUPABASE_INTERNAL_WALLCLOCK_LIMIT_SEC ?? 150) * 1000;
const hostEnv = (all.SUPABASE_INTERNAL_HOST_ENV ?? '').split(',').filter(Boolean);
// Everything but our own settings reaches the workers; host variables are removed again inside.
const workerEnv = Object.fromEntries(
  Object.entries(all).filter(([k]) => !k.startsWith('SUPABASE_INTERNAL_')),
);
const checkCaller = functionsJwtCheck(workerEnv);

function sbError(status: number, code: string | number, message: string): Response {
  return Response.json({ code, message }, { status });
}

class BootError extends Error {}

/** One function's worker process: started on demand, restarted after it dies. */
class FunctionWorker {
  #port?: Promise<number>;
  #child?: Deno.ChildProcess;
  constructor(readonly spec: FunctionSpec) {}

  ready(): Promise<number> {
    return this.#port ??= this.#start().catch((e) => {
      this.#port = undefined;
      throw e;
    });
  }

  async #start(): Promise<number> {
    const { name, entrypoint, importMap } = this.spec;
    const args = ['run', '-A', '--no-config', '--v8-flags=--max-old-space-size=256'];
    if (importMap) args.push(`--import-map=${importMap}`);
    args.push(WORKER_FILE, entrypoint, [...hostEnv, 'DENO_NO_PACKAGE_JSON'].join(','));
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: projectDir,
      clearEnv: true,
      // As the CLI bundles for deploy: no package.json discovery (deploy/bundle.go).
      env: { ...workerEnv, DENO_NO_PACKAGE_JSON: '1' },
      stdin: 'null',
      stdout: 'piped',
      stderr: 'piped',
    }).spawn();
    this.#child = child;
    const stderrTail: string[] = [];
    let resolveReady!: (port: number) => void;
    const ready = new Promise<number>((r) => (resolveReady = r));
    const pipe = async (s: ReadableStream<Uint8Array>, err: boolean) => {
      const text = s.pipeThrough(new TextDecoderStream() as TransformStream<Uint8Array, string>);
      for await (const line of text.pipeThrough(lines())) {
        if (!err && line.startsWith(READY_MARKER)) {
          resolveReady(Number(line.slice(READY_MARKER.length)));
          continue;
        }
        if (err) stderrTail.push(line), stderrTail.length > 40 && stderrTail.shift();
        (err ? console.error : console.log)(`[${name}] ${line}`);
      }
    };
    const piped = Promise.all([pipe(child.stdout, false), pipe(child.stderr, true)]);
    const exited = child.status.then(async (s) => {
      await piped.catch(() => {});
      if (this.#child === child) {
        this.#child = undefined;
        this.#port = undefined;
      }
      return s.code;
    });
    const first = await Promise.race([ready, exited.then((code) => ({ code }))]);
    if (typeof first === 'number') return first;
    // deno-lint-ignore no-control-regex
    const why = stderrTail.join('\n').replace(/\x1b\[[0-9;]*m/g, '');
    throw new BootError(`function ${name} failed to boot (exit ${first.code}):\n${why}`);
  }

  /** Kills the worker; the next request boots a fresh one (as edge-runtime retires workers). */
  retire() {
    const child = this.#child;
    this.#child = undefined;
    this.#port = undefined;
    try {
      child?.kill('SIGTERM');
    } catch { /* already gone */ }
  }
}

function lines(): TransformStream<string, string> {
  let rest = '';
  return new TransformStream({
    transform(chunk, ctl) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const p of parts) ctl.enqueue(p);
    },
    flush(ctl) {
      if (rest) ctl.enqueue(rest);
    },
  });
}

async function forward(w: FunctionWorker, req: Request, clientAddr: string): Promise<Response> {
  let workerPort: number;
  try {
    workerPort = await w.ready();
  } catch (e) {
    console.error((e as Error).message);
    return sbError(503, 'BOOT_ERROR', 'Worker failed to boot (please check logs)');
  }
  const url = new URL(req.url);
  const headers = new Headers(req.headers);
  // As behind Supabase's proxy: the client address in x-forwarded-for (the gateway sets it).
  if (!headers.get('x-forwarded-for')) headers.set('x-forwarded-for', clientAddr);
  const ac = new AbortController();
  const limit = setTimeout(() => ac.abort(new Error('wall clock')), wallClockMs);
  try {
    const res = await fetch(`http://127.0.0.1:${workerPort}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: req.body,
      redirect: 'manual',
      signal: ac.signal,
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  } catch (e) {
    if (ac.signal.aborted) {
      console.error(`[${w.spec.name}] no response within ${wallClockMs} ms`);
      w.retire();
      return sbError(546, 'WORKER_LIMIT', 'Worker failed to respond due to a resource limit');
    }
    console.error(`[${w.spec.name}] worker failed: ${(e as Error).message}`);
    w.retire();
    return sbError(500, 'WORKER_ERROR', 'Function exited due to an error (please check logs)');
  } finally {
    clearTimeout(limit);
  }
}

const specs = (await readFunctionSpecs(projectDir)).filter((s) => s.enabled);
const workers = new Map(specs.map((s) => [s.name, new FunctionWorker(s)]));
// Boot every worker before answering health checks, so a function that cannot resolve its
// imports stops the stack at start with the reason instead of failing its first request.
const boots = await Promise.allSettled([...workers.values()].map((w) => w.ready()));
const failed = boots.filter((b): b is PromiseRejectedResult => b.status === 'rejected');
if (failed.length) {
  for (const f of failed) console.error(f.reason.message);
  for (const w of workers.values()) w.retire();
  Deno.exit(1);
}

async function serve(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname === '/_internal/health') return Response.json({ message: 'ok' });
  const name = url.pathname.split('/')[1];
  const w = name ? workers.get(name) : undefined;
  if (!w) return sbError(404, 'NOT_FOUND', 'Requested function was not found');
  if (req.method !== 'OPTIONS' && w.spec.verifyJwt) {
    const denied = await checkCaller(req);
    if (denied) return denied;
  }
  return await forward(w, req, (info.remoteAddr as Deno.NetAddr).hostname);
}

const ac = new AbortController();
const server = Deno.serve({
  hostname: '127.0.0.1',
  port,
  signal: ac.signal,
  onListen: () =>
    console.log(
      `[functions] ${workers.size} workers (${[...workers.keys()].join(', ')}) on :${port}`,
    ),
}, serve);

async function shutdown() {
  for (const w of workers.values()) w.retire();
  ac.abort();
  await server.finished.catch(() => {});
  Deno.exit(0);
}
Deno.addSignalListener('SIGTERM', shutdown);
Deno.addSignalListener('SIGINT', shutdown);
