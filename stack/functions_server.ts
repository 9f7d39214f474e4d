// The local stack's edge runtime: ONE Deno process serving every functions/<name>/handler.ts at
// /<name>/… (the gateway maps /functions/v1/<name> here), with verify_jwt per function from
// supabase/config.toml checked like Supabase's edge runtime does. It runs nothing on its own: as on
// Supabase, `dispatch` runs when SQL calls it over HTTP (pg_net, stack/pg_net_worker.ts). With
// SIMULATOR_PORT set it hosts the Twilio simulator (development without Twilio).
//
// Environment: FUNCTIONS_PORT, SUPABASE_JWT_SECRET, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_DB_URL,
// the function environment (ARCHITECTURE.md), optional SIMULATOR_PORT.
import { parse as parseToml } from 'smol-toml';
import { functionsJwtCheck } from './verify_jwt.ts';
import { SIM_ACCOUNT_SID, SIM_AUTH_TOKEN, startTwilioSimulator } from './twilio_simulator.ts';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
type Handler = (req: Request) => Promise<Response>;

const env = Deno.env.toObject();
const port = Number(env.FUNCTIONS_PORT ?? 54331);

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

interface FunctionConfig {
  verify_jwt?: boolean;
  entrypoint?: string;
}

async function readConfig(): Promise<Record<string, FunctionConfig>> {
  const text = await Deno.readTextFile(`${ROOT}/supabase/config.toml`);
  const parsed = parseToml(text) as { functions?: Record<string, FunctionConfig> };
  return parsed.functions ?? {};
}

const config = await readConfig();
const handlers = new Map<string, Promise<Handler | null>>();

function loadHandler(name: string): Promise<Handler | null> {
  let h = handlers.get(name);
  if (!h) {
    const file = `${ROOT}/functions/${name}/handler.ts`;
    h = Deno.stat(file).then(
      async () => {
        const mod = await import(`file://${file}`);
        if (typeof mod.handler !== 'function') throw new Error(`${file} exports no handler`);
        return mod.handler as Handler;
      },
      () => null,
    );
    handlers.set(name, h);
  }
  return h;
}

// verify_jwt as the edge runtime checks it: legacy HS256 and signing-key (ES256/RS256) JWTs.
const checkJwt = functionsJwtCheck(env);

async function serve(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname === '/_internal/health') return json(200, { ok: true });
  const m = url.pathname.match(/^\/([a-z0-9][a-z0-9_-]*)(\/.*)?$/i);
  const name = m?.[1];
  const handler = name && !name.startsWith('_') ? await loadHandler(name) : null;
  if (!name || !handler) {
    return json(404, { code: 'NOT_FOUND', message: 'Requested function was not found' });
  }
  if (req.method !== 'OPTIONS' && (config[name]?.verify_jwt ?? true)) {
    const denied = await checkJwt(req);
    if (denied) return denied;
  }
  // As behind Supabase's proxy: the client address in x-forwarded-for.
  if (!req.headers.get('x-forwarded-for')) {
    const h = new Headers(req.headers);
    h.set('x-forwarded-for', (info.remoteAddr as Deno.NetAddr).hostname);
    req = new Request(req, { headers: h });
  }
  try {
    return await handler(req);
  } catch (e) {
    console.error(`[functions] ${name} threw:`, e);
    return json(500, { code: 'WORKER_ERROR', message: 'Function exited due to an error' });
  }
}

// Twilio simulator (development and tests without real Twilio credentials).
const simulator = env.SIMULATOR_PORT
  ? startTwilioSimulator({
    port: Number(env.SIMULATOR_PORT),
    accounts: { [SIM_ACCOUNT_SID]: SIM_AUTH_TOKEN },
    acceptAnyAccount: true,
    callbacks: true,
    callbackDelayMs: 300,
  })
  : undefined;
if (simulator) {
  console.log(
    `[twilio-simulator] SIMULATION: Twilio REST API simulated on ${simulator.url}; no real messages are sent`,
  );
}

const ac = new AbortController();
const server = Deno.serve({
  hostname: '127.0.0.1',
  port,
  signal: ac.signal,
  onListen: () => console.log(`[functions] serving functions/*/handler.ts on 127.0.0.1:${port}`),
}, serve);

async function shutdown() {
  ac.abort();
  await simulator?.close();
  await server.finished.catch(() => {});
  Deno.exit(0);
}
Deno.addSignalListener('SIGTERM', shutdown);
Deno.addSignalListener('SIGINT', shutdown);
