// What every auth endpoint shares: the service context, GoTrue-style request parsing, password
// hashing and strength rules, and the requireAuthentication middleware.
import bcrypt from 'bcryptjs';
import { AuthError, badRequest, forbidden, WeakPasswordError } from './errors.ts';
import { type AccessClaims, bearerToken, type Jwt } from './jwt.ts';
import type postgres from 'postgres';
import { type Client, findUserById } from './store.ts';
import { type UserRow } from './format.ts';
import type { AuthConfig } from './config.ts';
import { clientIp, type Limiters } from './limiter.ts';
import type { Mailer } from './mailer.ts';

export interface AuthContext {
  sql: postgres.Sql;
  jwt: Jwt;
  /** GoTrue's password.min_length (the CLI's default is 6). */
  minPasswordLength: number;
  /** security.refresh_token_reuse_interval in seconds (the CLI's default is 10). */
  reuseIntervalSeconds: number;
  siteUrl: string;
  /** The `iss` claim of tokens issued for the current request; also the base of mailed links. */
  issuer: string;
  config: AuthConfig;
  limits: Limiters;
  mailer: Mailer;
}

/** The audience GoTrue serves when the request names none (X-JWT-AUD). */
export const AUD = 'authenticated';
export const ADMIN_ROLES = ['service_role', 'supabase_admin'];

export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export type Body = Record<string, unknown>;

/** Parses a JSON object body; anything else is GoTrue's 400 bad_json. */
export async function readJson(req: Request, paramsType: string): Promise<Body> {
  const text = await req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const detail = text.trim() === '' ? 'unexpected end of JSON input' : (e as Error).message;
    throw badRequest('bad_json', `Could not parse request body as JSON: ${detail}`);
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'array' : typeof value;
    throw badRequest(
      'bad_json',
      `Could not parse request body as JSON: json: cannot unmarshal ${kind} into Go value of type api.${paramsType}`,
    );
  }
  return value as Body;
}

function typeError(paramsType: string, field: string, want: string, got: unknown): AuthError {
  const kind = Array.isArray(got) ? 'array' : typeof got;
  return badRequest(
    'bad_json',
    `Could not parse request body as JSON: json: cannot unmarshal ${kind} into Go struct field ${paramsType}.${field} of type ${want}`,
  );
}

/** A string field (missing or null reads as undefined), type-checked as Go's decoder would. */
export function str(body: Body, field: string, paramsType: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw typeError(paramsType, field, 'string', v);
  return v;
}

export function obj(body: Body, field: string, paramsType: string): Body | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw typeError(paramsType, field, 'map[string]interface {}', v);
  }
  return v as Body;
}

export function bool(body: Body, field: string, paramsType: string): boolean {
  const v = body[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw typeError(paramsType, field, 'bool', v);
  return v;
}

// checkmail.ValidateFormat at the version supabase/auth pins (github.com/badoux/checkmail
// d0a759655d62, checkmail.go emailRegexp; called from internal/api/mail.go validateEmail): the
// WHATWG form of an address. ASCII only, labels of letters, digits and inner dashes, and a
// dotless domain such as `localhost` is fine.
const EMAIL_FORMAT =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** GoTrue's validateEmail: required, at most 255 characters, a plausible format; lower-cased. */
export function validateEmail(email: string | undefined): string {
  if (!email) throw badRequest('validation_failed', 'An email address is required');
  if (email.length > 255) throw badRequest('validation_failed', 'An email address is too long');
  if (!EMAIL_FORMAT.test(email)) {
    throw badRequest('validation_failed', 'Unable to validate email address: invalid format');
  }
  return email.toLowerCase();
}

const MAX_PASSWORD_BYTES = 72;

/** The weak-password reasons for `password`, or null when it is strong enough. */
export function passwordWeakness(ctx: AuthContext, password: string): WeakPasswordError | null {
  if (new TextEncoder().encode(password).length < ctx.minPasswordLength) {
    return new WeakPasswordError(
      `Password should be at least ${ctx.minPasswordLength} characters.`,
      ['length'],
    );
  }
  return null;
}

/** GoTrue's checkPasswordStrength: 400 when too long for bcrypt, 422 weak_password when short. */
export function checkPasswordStrength(ctx: AuthContext, password: string): void {
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
    throw badRequest(
      'validation_failed',
      `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`,
    );
  }
  const weak = passwordWeakness(ctx, password);
  if (weak) throw weak;
}

/** bcrypt at GoTrue's cost (10), with Go's `$2a$` prefix (bcryptjs writes the equivalent `$2b$`). */
export async function hashPassword(password: string): Promise<string> {
  const hash = await bcrypt.hash(password, 10);
  return hash.replace(/^\$2b\$/, '$2a$');
}

/** Checks a password against a stored bcrypt hash (ours, GoTrue's or pgcrypto's crypt()). */
export async function passwordMatches(password: string, hash: string | null): Promise<boolean> {
  if (!hash || !/^\$2[abxy]?\$/.test(hash)) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

export function clientOf(req: Request, info: Deno.ServeHandlerInfo): Client {
  return { userAgent: req.headers.get('user-agent'), ip: clientIp(req, info) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string) => UUID.test(v);

export interface Authenticated {
  claims: AccessClaims;
  user: UserRow;
  sessionId: string | null;
}

/** GoTrue's requireAuthentication: a valid bearer JWT whose user and session still exist. */
export async function requireUser(ctx: AuthContext, req: Request): Promise<Authenticated> {
  const claims = await ctx.jwt.verify(bearerToken(req));
  return await loadUserAndSession(ctx, claims);
}

export async function loadUserAndSession(
  ctx: AuthContext,
  claims: AccessClaims,
): Promise<Authenticated> {
  if (!claims.sub) throw forbidden('bad_jwt', 'invalid claim: missing sub claim');
  if (!isUuid(claims.sub)) {
    throw badRequest('bad_jwt', 'invalid claim: sub claim must be a UUID');
  }
  const user = await findUserById(ctx.sql, claims.sub);
  if (!user) throw forbidden('user_not_found', 'User from sub claim in JWT does not exist');
  let sessionId: string | null = null;
  const sid = claims.session_id;
  if (sid && sid !== '00000000-0000-0000-0000-000000000000') {
    if (!isUuid(sid)) {
      throw forbidden('bad_jwt', 'invalid claim: session_id claim must be a UUID');
    }
    const rows = await ctx.sql`select 1 from auth.sessions where id = ${sid}`;
    if (!rows.length) {
      throw forbidden('session_not_found', 'Session from session_id claim in JWT does not exist');
    }
    sessionId = sid;
  }
  if (user.banned) throw forbidden('user_banned', 'User is banned');
  return { claims, user, sessionId };
}
