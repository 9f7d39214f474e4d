// One port in front of the stack, as Kong is in `supabase start`: routes /rest/v1, /auth/v1,
// /realtime/v1 and /functions/v1, checks the apikey where Supabase does, answers CORS, and caps
// request bodies at 1 MiB.
//
// Every REST call of the dashboard goes through here, so the hot path is kept lean: one URL parse,
// no regex, bodies streamed rather than buffered when their length is declared, and proxied
// responses built once with their CORS headers (bench/stack.ts measures it against PostgREST).
export type RouteHandler = (req: Request, subpath: string, info: Deno.ServeHandlerInfo) =>
  | Response
  | Promise<Response>;

export interface GatewayRoutes {
  rest?: RouteHandler;
  auth?: RouteHandler;
  realtime?: RouteHandler;
  functions?: RouteHandler;
}

export interface GatewayOptions {
  port: number;
  anonKey: string;
  serviceRoleKey: string;
  routes: GatewayRoutes;
  maxBodyBytes?: number;
}

const CORS_HEADERS: [string, string][] = [
  ['access-control-allow-origin', '*'],
  ['access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD'],
  [
    'access-control-allow-headers',
    'authorization, x-client-info, apikey, content-type, content-profile, accept-profile, prefer, range, x-upsert, x-supabase-api-version, accept',
  ],
  ['access-control-expose-headers', 'content-range, content-location, x-supabase-api-version'],
  ['access-control-max-age', '3600'],
];
/** Marks a response whose headers already carry CORS (set by proxyTo). */
const HAS_CORS = 'access-control-allow-origin';

export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function setCors(h: Headers) {
  for (const [k, v] of CORS_HEADERS) h.set(k, v);
}

/** Adds CORS headers when the request came from a browser (it has an Origin), as Kong's plugin. */
function withCors(res: Response, req?: Request): Response {
  // Upgraded websocket responses have immutable headers and need no CORS.
  if (res.status === 101 || res.headers.has(HAS_CORS)) return res;
  if (req && !req.headers.has('origin')) return res;
  try {
    setCors(res.headers);
    return res;
  } catch {
    const h = new Headers(res.headers);
    setCors(h);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
  }
}

// Hop-by-hop and gateway-only request headers that must not reach the upstream.
const DROP_REQUEST = ['host', 'apikey', 'connection', 'keep-alive', 'transfer-encoding'];

/** Proxies a request to `target` + subpath + query, streaming both ways. */
export function proxyTo(target: string): RouteHandler {
  return async (req, subpath, info) => {
    const q = req.url.indexOf('?');
    const search = q < 0 ? '' : req.url.slice(q);
    const headers = new Headers(req.headers);
    for (const h of DROP_REQUEST) headers.delete(h);
    // Like any reverse proxy, append the address the request came from: upstreams trust only the
    // last entry (what a client sends itself stands before it).
    const from = (info.remoteAddr as Deno.NetAddr).hostname;
    const prior = req.headers.get('x-forwarded-for');
    headers.set('x-forwarded-for', prior ? `${prior}, ${from}` : from);
    const res = await fetch(target + subpath + search, {
      method: req.method,
      headers,
      body: req.body,
      redirect: 'manual',
    });
    // Not from a browser and not re-encoded by fetch: the upstream response can go out as it is,
    // which saves copying its headers on every API call.
    if (!req.headers.has('origin') && !res.headers.has('content-encoding')) return res;
    const out = new Headers(res.headers);
    // fetch has already decoded the body; the length and encoding no longer describe it.
    out.delete('content-encoding');
    out.delete('content-length');
    setCors(out);
    return new Response(res.body, { status: res.status, headers: out });
  };
}

const tooLarge = (max: number) =>
  json(413, { code: 'payload_too_large', message: `Request body exceeds ${max} bytes` });

/** Caps the body at `max` bytes: by its declared length, or by reading it when none is given. */
async function limitBody(req: Request, max: number): Promise<Request | Response> {
  if (!req.body) return req;
  const declared = req.headers.get('content-length');
  // Deno's server delivers exactly content-length bytes, so a declared length can be trusted and
  // the body streamed on untouched.
  if (declared !== null) return Number(declared) > max ? tooLarge(max) : req;
  const buf = new Uint8Array(await req.arrayBuffer());
  if (buf.byteLength > max) return tooLarge(max);
  return new Request(req.url, { method: req.method, headers: req.headers, body: buf });
}

const SERVICES = ['rest', 'auth', 'realtime', 'functions'] as const;

/** Splits "/rest/v1/contacts" into ["rest", "/contacts"]; undefined for any other path. */
function route(pathname: string): [keyof GatewayRoutes, string] | undefined {
  for (const s of SERVICES) {
    const prefix = `/${s}/v1`;
    if (!pathname.startsWith(prefix)) continue;
    const rest = pathname.slice(prefix.length);
    if (rest === '') return [s, '/'];
    if (rest[0] === '/') return [s, rest];
  }
  return undefined;
}

export function createGateway(opts: GatewayOptions) {
  const max = opts.maxBodyBytes ?? 1024 * 1024;
  const keys = new Set([opts.anonKey, opts.serviceRoleKey]);

  function checkApiKey(req: Request, url: URL): Response | string {
    const key = req.headers.get('apikey') ?? url.searchParams.get('apikey');
    if (!key) {
      return json(401, {
        message: 'No API key found in request',
        hint: 'No `apikey` request header or url param was found.',
      });
    }
    if (!keys.has(key)) {
      return json(401, {
        message: 'Invalid API key',
        hint: 'Double check your Supabase `anon` or `service_role` API key.',
      });
    }
    return key;
  }

  return async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    if (req.method === 'OPTIONS') return withCors(new Response(null, { status: 204 }));
    const url = new URL(req.url);
    const matched = route(url.pathname);
    if (!matched) {
      if (url.pathname === '/' || url.pathname === '/health') {
        return withCors(json(200, { status: 'ok', service: 'switchboard local stack' }));
      }
      return withCors(json(404, { message: 'no Route matched with those values' }));
    }
    const [service, subpath] = matched;
    const handler = opts.routes[service];
    if (!handler) {
      return withCors(json(503, { message: `${service} is not running in this stack` }));
    }
    // Edge functions authenticate themselves (verify_jwt); everything else needs an API key.
    if (service !== 'functions') {
      const key = checkApiKey(req, url);
      if (key instanceof Response) return withCors(key);
      if (service === 'rest' && !req.headers.has('authorization')) {
        const h = new Headers(req.headers);
        h.set('authorization', `Bearer ${key}`);
        // A fresh Request, not new Request(req): that would tie it to the incoming request's signal.
        req = new Request(req.url, { method: req.method, headers: h, body: req.body });
      }
    }
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      const limited = await limitBody(req, max);
      if (limited instanceof Response) return withCors(limited);
      req = limited;
    }
    try {
      return withCors(await handler(req, subpath, info), req);
    } catch (e) {
      console.error(`[gateway] ${service}${subpath}:`, e);
      return withCors(json(502, { message: `${service} failed: ${(e as Error).message}` }));
    }
  };
}
