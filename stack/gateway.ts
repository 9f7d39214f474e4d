// One port in front of the stack, as Kong is in `supabase start`: routes /rest/v1, /auth/v1,
// /realtime/v1 and /functions/v1, checks the apikey where Supabase does, answers CORS, and caps
// request bodies at 1 MiB.
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

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD',
  'access-control-allow-headers':
    'authorization, x-client-info, apikey, content-type, content-profile, accept-profile, prefer, range, x-upsert, x-supabase-api-version, accept',
  'access-control-expose-headers': 'content-range, content-location, x-supabase-api-version',
  'access-control-max-age': '3600',
};

export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function withCors(res: Response): Response {
  // Upgraded websocket responses have immutable headers and need no CORS.
  if (res.status === 101) return res;
  try {
    for (const [k, v] of Object.entries(CORS_HEADERS)) res.headers.set(k, v);
    return res;
  } catch {
    const h = new Headers(res.headers);
    for (const [k, v] of Object.entries(CORS_HEADERS)) h.set(k, v);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
  }
}

/** Proxies a request to `target` + subpath + query, streaming both ways. */
export function proxyTo(target: string): RouteHandler {
  return async (req, subpath) => {
    const url = new URL(req.url);
    const headers = new Headers(req.headers);
    headers.delete('host');
    headers.delete('apikey');
    const res = await fetch(`${target}${subpath}${url.search}`, {
      method: req.method,
      headers,
      body: req.body,
      redirect: 'manual',
    });
    const out = new Headers(res.headers);
    // fetch has already decoded the body; the length and encoding no longer describe it.
    out.delete('content-encoding');
    out.delete('content-length');
    return new Response(res.body, { status: res.status, headers: out });
  };
}

async function limitBody(req: Request, max: number): Promise<Request | Response> {
  const tooLarge = () =>
    json(413, { code: 'payload_too_large', message: `Request body exceeds ${max} bytes` });
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > max) return tooLarge();
  if (!req.body || req.method === 'GET' || req.method === 'HEAD') return req;
  const buf = new Uint8Array(await req.arrayBuffer());
  if (buf.byteLength > max) return tooLarge();
  return new Request(req.url, { method: req.method, headers: req.headers, body: buf });
}

export function createGateway(opts: GatewayOptions) {
  const max = opts.maxBodyBytes ?? 1024 * 1024;
  const keys = new Set([opts.anonKey, opts.serviceRoleKey]);

  function checkApiKey(req: Request): Response | string {
    const url = new URL(req.url);
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
    const m = url.pathname.match(/^\/(rest|auth|realtime|functions)\/v1(\/.*)?$/);
    if (!m) {
      if (url.pathname === '/' || url.pathname === '/health') {
        return withCors(json(200, { status: 'ok', service: 'switchboard local stack' }));
      }
      return withCors(json(404, { message: 'no Route matched with those values' }));
    }
    const service = m[1] as keyof GatewayRoutes;
    const subpath = m[2] ?? '/';
    const handler = opts.routes[service];
    if (!handler) {
      return withCors(json(503, { message: `${service} is not running in this stack` }));
    }
    // Edge functions authenticate themselves (verify_jwt); everything else needs an API key.
    if (service !== 'functions') {
      const key = checkApiKey(req);
      if (key instanceof Response) return withCors(key);
      if (!req.headers.get('authorization') && service === 'rest') {
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
      return withCors(await handler(req, subpath, info));
    } catch (e) {
      console.error(`[gateway] ${service}${subpath}:`, e);
      return withCors(json(502, { message: `${service} failed: ${(e as Error).message}` }));
    }
  };
}
