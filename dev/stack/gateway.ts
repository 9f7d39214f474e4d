// One port in front of the stack, as Kong is in `supabase start`: routes /rest/v1, /auth/v1,
// /realtime/v1 and /functions/v1, checks the apikey where Supabase does, answers CORS, and caps
// request bodies at 1 MiB.
//
// API keys: the legacy HS256 anon / service_role JWTs and the opaque publishable / secret keys
// (publishable acts as anon, secret as service_role; a secret key from a browser is refused).
// Upstreams authorize by a JWT's role, so a caller's JWT in Authorization is passed on; for a
// request with only a key, REST and auth get a bearer for its role: the legacy key itself, or for
// an opaque key a short-lived role JWT (dev/stack/role_tokens.ts), as the hosted API Gateway does
// (supabase/supabase apps/docs/content/guides/api/api-keys.mdx); `supabase start`'s Kong makes
// the same swap with the legacy JWTs (supabase/cli apps/cli-go/internal/start/start.go:
// BearerToken, QueryToken; templates/kong.yml). Realtime maps an opaque `?apikey=` itself.
// Functions get the request as sent, `apikey` included: the platform's verify_jwt accepts no API
// key as a bearer and does not check `apikey` (same api-keys page, "Known limitations";
// supabase.com/docs/guides/functions/auth-headers), so functions check keys themselves.
//
// Every REST call of the dashboard goes through here, so the hot path is kept lean: one URL parse,
// no regex, bodies streamed rather than buffered, and proxied responses built once with their CORS
// headers (dev/bench/stack.ts measures it against PostgREST).
import { type KeyRole, roleTokens } from './role_tokens.ts';
import type { SigningJwk } from './keys.ts';

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
  /** Legacy JWT API keys. */
  anonKey: string;
  serviceRoleKey: string;
  /** Opaque API keys and the key that signs role tokens for them (all three or none). */
  publishableKey?: string;
  secretKey?: string;
  signingKey?: SigningJwk;
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

// Hop-by-hop request headers that must not reach the upstream.
const DROP_REQUEST = ['host', 'connection', 'keep-alive', 'transfer-encoding'];

/**
 * Proxies a request to `target` + subpath + query, streaming both ways. The `apikey` header is
 * dropped unless `keepApiKey` (functions read it: @supabase/server's publishable/secret modes).
 */
export function proxyTo(target: string, opts: { keepApiKey?: boolean } = {}): RouteHandler {
  const drop = opts.keepApiKey ? DROP_REQUEST : [...DROP_REQUEST, 'apikey'];
  return async (req, subpath, info) => {
    const q = req.url.indexOf('?');
    const search = q < 0 ? '' : req.url.slice(q);
    const headers = new Headers(req.headers);
    for (const h of drop) headers.delete(h);
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

/** Thrown into the upstream's body stream when the cap is passed. */
class BodyTooLarge extends Error {}

/**
 * Caps the body at `max` bytes. A declared length is checked up front (Deno's server delivers
 * exactly content-length bytes, so it can be trusted and the body streamed on untouched). A body
 * without one (chunked) is counted while it streams to the upstream: past `max` the stream errors,
 * which stops reading from the client, and `exceeded()` tells the caller to answer 413. Memory
 * stays bounded by the stream's backpressure, whatever the client sends.
 */
function limitBody(
  req: Request,
  max: number,
): Response | { req: Request; exceeded: () => boolean } {
  const unlimited = { req, exceeded: () => false };
  if (!req.body) return unlimited;
  const declared = req.headers.get('content-length');
  if (declared !== null) return Number(declared) > max ? tooLarge(max) : unlimited;
  let seen = 0;
  let over = false;
  const counted = req.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        seen += chunk.byteLength;
        if (seen > max) {
          over = true;
          c.error(new BodyTooLarge(`request body exceeds ${max} bytes`));
          return;
        }
        c.enqueue(chunk);
      },
    }),
  );
  return {
    req: new Request(req.url, { method: req.method, headers: req.headers, body: counted }),
    exceeded: () => over,
  };
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

const JWKS_PATH = '/.well-known/jwks.json';
/**
 * Auth paths served without an API key, as Kong's open auth routes in `supabase start`
 * (supabase/cli internal/start/templates/kong.yml `auth-v1-open*`): mailed /verify links are
 * opened by a browser with no key, and verifiers fetch the JWKS with none.
 */
function isOpenAuthPath(req: Request, subpath: string): boolean {
  return subpath === JWKS_PATH || (subpath === '/verify' && req.method === 'GET');
}

const INVALID_KEY = {
  message: 'Invalid API key',
  hint: 'Double check your Supabase `anon` or `service_role` API key.',
};

export function createGateway(opts: GatewayOptions) {
  const max = opts.maxBodyBytes ?? 1024 * 1024;
  /** apikey → [role, whether it is an opaque key]. */
  const keys = new Map<string, [KeyRole, boolean]>([
    [opts.anonKey, ['anon', false]],
    [opts.serviceRoleKey, ['service_role', false]],
  ]);
  let mint: ((role: KeyRole) => Promise<string>) | undefined;
  if (opts.publishableKey || opts.secretKey) {
    if (!opts.publishableKey || !opts.secretKey || !opts.signingKey) {
      throw new Error('publishableKey, secretKey and signingKey go together');
    }
    keys.set(opts.publishableKey, ['anon', true]);
    keys.set(opts.secretKey, ['service_role', true]);
    mint = roleTokens(opts.signingKey);
  }

  function checkApiKey(req: Request, url: URL): Response | [string, KeyRole, boolean] {
    const key = req.headers.get('apikey') ?? url.searchParams.get('apikey');
    if (!key) {
      return json(401, {
        message: 'No API key found in request',
        hint: 'No `apikey` request header or url param was found.',
      });
    }
    const known = keys.get(key);
    if (!known) return json(401, INVALID_KEY);
    // "You cannot use a secret key in the browser (matches on the User-Agent header) and it will
    // always reply with HTTP 401" (supabase/supabase apps/docs/content/guides/api/api-keys.mdx).
    // Every browser's User-Agent starts with Mozilla/; the message is ours.
    if (
      known[0] === 'service_role' && known[1] &&
      /^Mozilla\//.test(req.headers.get('user-agent') ?? '')
    ) {
      return json(401, {
        message: 'Forbidden use of secret API key in browser',
        hint: 'Secret API keys are for servers only; use the publishable key in the browser.',
      });
    }
    return [key, ...known];
  }

  /**
   * The bearer upstreams see. A caller's JWT is kept. An opaque key as bearer is replaced only when
   * it is exactly the apikey (what supabase-js sends); any other `Bearer sb_…` goes on as it is and
   * is rejected upstream as no JWT (supabase/supabase apps/docs/content/guides/api/api-keys.mdx,
   * "Known limitations"). A missing one gets the key's role on REST (auth keeps it missing, so /user
   * still answers GoTrue's 401 no_authorization). The role bearer is the legacy key itself, or for
   * an opaque key a temporary, short-lived JWT, as the hosted API Gateway mints (same page, "How
   * are publishable and secret keys implemented on the hosted platform?").
   */
  async function withBearer(
    req: Request,
    service: keyof GatewayRoutes,
    [key, role, opaque]: [string, KeyRole, boolean],
  ) {
    const auth = req.headers.get('authorization');
    if (auth === null ? service === 'auth' : auth !== `Bearer ${key}` || !opaque) return req;
    const h = new Headers(req.headers);
    h.set('authorization', `Bearer ${opaque ? await mint!(role) : key}`);
    // A fresh Request, not new Request(req): that would tie it to the incoming request's signal.
    return new Request(req.url, { method: req.method, headers: h, body: req.body });
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
    // Edge functions authenticate themselves (verify_jwt); everything else needs an API key,
    // except the signing keys' JWKS: verifiers fetch it with no key (@supabase/server docs/
    // environment-variables.md derives `{SUPABASE_URL}/auth/v1/.well-known/jwks.json`).
    if (service !== 'functions' && !(service === 'auth' && isOpenAuthPath(req, subpath))) {
      const checked = checkApiKey(req, url);
      if (checked instanceof Response) return withCors(checked);
      // Realtime maps an opaque `?apikey=` itself: a websocket can only be upgraded from the
      // original request, so the gateway cannot rewrite it (dev/stack/realtime/mod.ts).
      if (service !== 'realtime') req = await withBearer(req, service, checked);
    }
    let exceeded = () => false;
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      const limited = limitBody(req, max);
      if (limited instanceof Response) return withCors(limited);
      ({ req, exceeded } = limited);
    }
    try {
      const res = await handler(req, subpath, info);
      if (!exceeded()) return withCors(res, req);
      await res.body?.cancel();
      return withCors(tooLarge(max));
    } catch (e) {
      if (exceeded()) return withCors(tooLarge(max));
      console.error(`[gateway] ${service}${subpath}:`, e);
      return withCors(json(502, { message: `${service} failed: ${(e as Error).message}` }));
    }
  };
}
