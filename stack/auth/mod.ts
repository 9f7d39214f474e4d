// GoTrue-compatible auth subset for the local stack (see stack/README.md, section "Auth"):
// email + password sign-up, sign-in, refresh with rotation, user read/update, logout, settings,
// health and the admin user API, on the real auth.* tables with supabase/auth's JSON shapes.
import postgres from 'postgres';
import { type RouteHandler } from '../gateway.ts';
import { createUser, deleteUser, getUserById, listUsers, updateUserById } from './admin.ts';
import { type AuthContext, json } from './common.ts';
import { AuthError, errorResponse, unexpectedFailure } from './errors.ts';
import { Jwt } from './jwt.ts';
import { type SigningJwk } from '../keys.ts';
import { logout, signup, token } from './session.ts';
import { getUser, updateUser } from './user.ts';

export interface AuthOptions {
  /** postgres superuser URL of the cluster (auth.users lives there). */
  dbUrl: string;
  jwtSecret: string;
  /**
   * Signs access tokens with this asymmetric key (kid in the header) and publishes its public half
   * at /.well-known/jwks.json; without it tokens are HS256 with `jwtSecret`. HS256 tokens verify
   * either way.
   */
  signingKey?: SigningJwk;
  jwtExpirySeconds: number;
  siteUrl: string;
  /**
   * The `iss` claim, `<SUPABASE_URL>/auth/v1`. Without it each token names the origin it was
   * requested through (the gateway's), which is the same URL.
   */
  issuer?: string;
  /** Minimum password length (supabase/config.toml `minimum_password_length`, default 6). */
  minPasswordLength?: number;
  /** Seconds a rotated refresh token may still be used (`refresh_token_reuse_interval`, 10). */
  refreshTokenReuseInterval?: number;
}

export interface AuthService {
  /** Handles /auth/v1<subpath>. */
  handler: RouteHandler;
  stop(): Promise<void>;
}

const HEALTH = {
  version: 'switchboard-local',
  name: 'GoTrue',
  description: 'GoTrue is a user registration and authentication API',
};

/** GET /settings as `supabase start` configures GoTrue: email on, autoconfirm, nothing else. */
function settings() {
  const providers = [
    'anonymous_users',
    'apple',
    'azure',
    'bitbucket',
    'discord',
    'facebook',
    'snapchat',
    'figma',
    'fly',
    'github',
    'gitlab',
    'google',
    'keycloak',
    'kakao',
    'linkedin',
    'linkedin_oidc',
    'notion',
    'spotify',
    'slack',
    'slack_oidc',
    'workos',
    'twitch',
    'twitter',
    'email',
    'phone',
    'zoom',
  ];
  return {
    external: Object.fromEntries(providers.map((p) => [p, p === 'email'])),
    disable_signup: false,
    mailer_autoconfirm: true,
    phone_autoconfirm: false,
    sms_provider: 'twilio',
    saml_enabled: false,
    saml_private_key_next_configured: false,
    passkeys_enabled: false,
  };
}

type Route = (
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
  params: string[],
) => Promise<Response> | Response;

const ROUTES: [string, RegExp, Route][] = [
  ['GET', /^\/health$/, () => json(200, HEALTH)],
  ['GET', /^\/settings$/, () => json(200, settings())],
  // Public keys only (supabase/auth internal/api/jwks.go; route in internal/api/api.go).
  ['GET', /^\/\.well-known\/jwks\.json$/, (c) => json(200, c.jwt.publishedJwks())],
  ['POST', /^\/signup$/, (c, r, i) => signup(c, r, i)],
  ['POST', /^\/token$/, (c, r, i) => token(c, r, i)],
  ['GET', /^\/user$/, (c, r) => getUser(c, r)],
  ['PUT', /^\/user$/, (c, r) => updateUser(c, r)],
  ['POST', /^\/logout$/, (c, r) => logout(c, r)],
  ['GET', /^\/admin\/users$/, (c, r) => listUsers(c, r)],
  ['POST', /^\/admin\/users$/, (c, r) => createUser(c, r)],
  ['GET', /^\/admin\/users\/([^/]+)$/, (c, r, _i, p) => getUserById(c, r, p[0])],
  ['PUT', /^\/admin\/users\/([^/]+)$/, (c, r, _i, p) => updateUserById(c, r, p[0])],
  ['DELETE', /^\/admin\/users\/([^/]+)$/, (c, r, _i, p) => deleteUser(c, r, p[0])],
];

export function startAuth(opts: AuthOptions): Promise<AuthService> {
  const sql = postgres(opts.dbUrl, {
    max: 10,
    onnotice: () => {},
    connection: { application_name: 'switchboard-auth' },
  });
  const ctx: AuthContext = {
    sql,
    jwt: new Jwt(opts.jwtSecret, opts.jwtExpirySeconds, opts.signingKey ?? null),
    minPasswordLength: opts.minPasswordLength ?? 6,
    reuseIntervalSeconds: opts.refreshTokenReuseInterval ?? 10,
    siteUrl: opts.siteUrl,
    issuer: opts.issuer ?? '',
  };

  const handler: RouteHandler = async (req, subpath, info) => {
    const path = subpath.length > 1 ? subpath.replace(/\/+$/, '') : subpath;
    const matches = ROUTES.map(([method, re, fn]) => ({ method, m: path.match(re), fn }))
      .filter((r) => r.m);
    // chi's answers for unknown paths and wrong methods.
    if (!matches.length) return new Response('404 page not found\n', { status: 404 });
    const route = matches.find((r) => r.method === req.method);
    if (!route) return new Response(null, { status: 405 });
    try {
      const issuer = opts.issuer ?? `${new URL(req.url).origin}/auth/v1`;
      return await route.fn({ ...ctx, issuer }, req, info, route.m!.slice(1));
    } catch (e) {
      if (e instanceof AuthError) return errorResponse(req, e);
      console.error(`[auth] ${req.method} ${subpath}:`, e);
      return errorResponse(req, unexpectedFailure());
    }
  };

  return Promise.resolve({
    handler,
    stop: () => sql.end({ timeout: 5 }),
  });
}
