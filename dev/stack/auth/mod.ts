// GoTrue-compatible auth subset for the local stack (see dev/stack/README.md, section "Auth"):
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
import { type AuthConfig, CLI_DEFAULTS } from './config.ts';
import { clientIp, Limiters } from './limiter.ts';
import { smtpMailer } from './mailer.ts';
import { verifyGet, verifyPost } from './verify.ts';

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
  /** supabase/config.toml's auth settings (config.ts readAuthConfig); the CLI defaults if absent. */
  config?: AuthConfig;
  /** Where mails go (the stack's mail catcher), e.g. smtp://127.0.0.1:54325. */
  smtpUrl?: string;
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

/** GET /settings as GoTrue reports the configuration: email on, nothing else. */
function settings(config: AuthConfig) {
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
    external: Object.fromEntries(
      providers.map((
        p,
      ) => [p, p === 'email' || (p === 'anonymous_users' && config.enableAnonymousSignIns)]),
    ),
    disable_signup: !config.enableSignup,
    mailer_autoconfirm: !config.enableConfirmations,
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
  ['GET', /^\/settings$/, (c) => json(200, settings(c.config))],
  // Public keys only (supabase/auth internal/api/jwks.go; route in internal/api/api.go).
  ['GET', /^\/\.well-known\/jwks\.json$/, (c) => json(200, c.jwt.publishedJwks())],
  ['POST', /^\/signup$/, (c, r, i) => signup(c, r, i)],
  ['POST', /^\/token$/, (c, r, i) => token(c, r, i)],
  ['GET', /^\/user$/, (c, r) => getUser(c, r)],
  ['PUT', /^\/user$/, (c, r, i) => updateUser(c, r, i)],
  ['GET', /^\/verify$/, (c, r, i) => verifyGet(c, r, i)],
  ['POST', /^\/verify$/, (c, r, i) => verifyPost(c, r, i)],
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
  const config = opts.config ?? { ...CLI_DEFAULTS, siteUrl: opts.siteUrl };
  const mailer = smtpMailer(opts.smtpUrl ?? 'smtp://127.0.0.1:54325', config);
  const ctx: AuthContext = {
    sql,
    config,
    limits: new Limiters(config.rateLimits),
    mailer,
    jwt: new Jwt(opts.jwtSecret, opts.jwtExpirySeconds, opts.signingKey ?? null),
    minPasswordLength: opts.minPasswordLength ?? config.minPasswordLength,
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
      // api.go: /verify is rate limited per IP before its handler runs.
      if (path === '/verify') ctx.limits.check('verify', clientIp(req, info));
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
    stop: async () => {
      mailer.close();
      await sql.end({ timeout: 5 });
    },
  });
}
