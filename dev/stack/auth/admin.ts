// The admin user API subset (supabase/auth admin.go) that seeding and tests need:
// create, list, get and delete users. Only a JWT whose role is an admin role may call it.
import {
  ADMIN_ROLES,
  AUD,
  type AuthContext,
  bool,
  checkPasswordStrength,
  hashPassword,
  isUuid,
  json,
  loadUserAndSession,
  obj,
  readJson,
  str,
  validateEmail,
} from './common.ts';
import { AuthError, badRequest, forbidden, unprocessable } from './errors.ts';
import { bearerToken } from './jwt.ts';
import { mergeMetadata } from './user.ts';
import {
  audit,
  findUserByEmail,
  identitiesOf,
  insertEmailIdentity,
  insertUser,
  NIL_UUID,
  userJsonById,
} from './store.ts';
import { USER_COLUMNS, userJson, type UserRow } from './format.ts';
import type postgres from 'postgres';

type Body = Record<string, unknown>;

/** requireAdminCredentials: a bearer JWT with an admin role (service_role). */
export async function requireAdmin(ctx: AuthContext, req: Request): Promise<string> {
  const claims = await ctx.jwt.verify(bearerToken(req));
  // A user's own token with a session must still be live, even if it carries an admin role.
  if (claims.session_id && claims.session_id !== NIL_UUID) await loadUserAndSession(ctx, claims);
  const role = claims.role ?? '';
  if (!ADMIN_ROLES.includes(role)) throw forbidden('not_admin', 'User not allowed');
  return role;
}

const emailExists = () =>
  unprocessable('email_exists', 'A user with this email address has already been registered');

const GO_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1e3,
  m: 6e4,
  h: 36e5,
};

/**
 * ban_duration as GoTrue reads it: "none" lifts a ban, otherwise a Go duration ("24h", "1h30m").
 * Returns milliseconds (0 = not banned), or undefined when the field is absent.
 */
export function parseBanDuration(raw: string | undefined): number | undefined {
  if (!raw) return undefined;
  if (raw === 'none') return 0;
  const invalid = () =>
    badRequest(
      'validation_failed',
      `invalid format for ban duration: time: invalid duration "${raw}"`,
    );
  const parts = [...raw.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== raw) throw invalid();
  return parts.reduce((ms, p) => ms + Number(p[1]) * GO_UNITS[p[2]], 0);
}

/** A random 64-character password, as GoTrue generates when the admin gives none. */
function randomPassword(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(crypto.getRandomValues(new Uint8Array(64)), (b) => alphabet[b % 62]).join(
    '',
  );
}

export async function createUser(ctx: AuthContext, req: Request): Promise<Response> {
  const adminRole = await requireAdmin(ctx, req);
  const P = 'AdminUserParams';
  const body = await readJson(req, P);
  const emailIn = str(body, 'email', P);
  const phone = str(body, 'phone', P);
  const password = str(body, 'password', P);
  const passwordHash = str(body, 'password_hash', P);
  const customId = str(body, 'id', P);
  const role = str(body, 'role', P);
  const aud = str(body, 'aud', P) || AUD;
  const emailConfirm = bool(body, 'email_confirm', P);
  const userMetadata = obj(body, 'user_metadata', P) ?? {};
  const appMetadata = obj(body, 'app_metadata', P);
  const banMs = parseBanDuration(str(body, 'ban_duration', P));

  if (!emailIn && !phone) {
    throw badRequest('validation_failed', 'Cannot create a user without either an email or phone');
  }
  if (phone) {
    throw badRequest('validation_failed', 'Phone users are not supported by the local auth server');
  }
  const email = validateEmail(emailIn);
  if (await findUserByEmail(ctx.sql, email, aud)) throw emailExists();
  if (password && passwordHash) {
    throw badRequest('validation_failed', 'Only a password or a password hash should be provided');
  }
  if (password && new TextEncoder().encode(password).length > 72) {
    throw badRequest('validation_failed', 'bcrypt: password length exceeds 72 bytes');
  }
  if (passwordHash && !/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(passwordHash)) {
    throw new AuthError(500, 'unexpected_failure', 'Error creating user');
  }
  let id = crypto.randomUUID();
  if (customId !== undefined && customId !== '') {
    if (!isUuid(customId)) {
      throw badRequest('validation_failed', 'ID must conform to the uuid v4 format');
    }
    if (customId === NIL_UUID) throw badRequest('validation_failed', 'ID cannot be a nil uuid');
    id = customId.toLowerCase() as typeof id;
  }
  const encryptedPassword = passwordHash || await hashPassword(password || randomPassword());
  const app = mergeMetadata({ provider: 'email', providers: ['email'] }, appMetadata ?? {});
  const meta = emailConfirm ? { ...userMetadata, email_verified: true } : userMetadata;

  try {
    await ctx.sql.begin(async (tx) => {
      await insertUser(tx, {
        id,
        email,
        encryptedPassword,
        appMetadata: app,
        userMetadata: meta,
        confirmed: emailConfirm,
        role: role || 'authenticated',
        aud,
      });
      await insertEmailIdentity(tx, id, {
        sub: id,
        email,
        email_verified: false,
        phone_verified: false,
      });
      await audit(tx, { id: NIL_UUID, email: adminRole, phone: null }, 'user_signedup', null, {
        user_id: id,
        user_email: email,
        user_phone: '',
        provider: 'email',
      });
      if (banMs) await ban(tx, id, banMs);
    });
  } catch (e) {
    if ((e as { code?: string })?.code === '23505') throw emailExists();
    throw e;
  }
  const found = await userJsonById(ctx.sql, id);
  return json(200, found!.json);
}

/** GET /admin/users?page&per_page: newest first, with GoTrue's Link and X-Total-Count headers. */
export async function listUsers(ctx: AuthContext, req: Request): Promise<Response> {
  await requireAdmin(ctx, req);
  const url = new URL(req.url);
  const parse = (name: string, dflt: number) => {
    const raw = url.searchParams.get(name);
    if (raw === null || raw === '') return dflt;
    if (!/^\d+$/.test(raw)) {
      throw badRequest(
        'validation_failed',
        `Bad Pagination Parameters: strconv.ParseUint: parsing "${raw}": invalid syntax`,
      );
    }
    return Number(raw);
  };
  const page = Math.max(parse('page', 1), 1);
  const perPage = parse('per_page', 50);
  const [{ count }] = await ctx.sql<{ count: number }[]>`
    select count(*)::int as count from auth.users where aud = ${AUD}`;
  const rows = await ctx.sql<UserRow[]>`
    select ${ctx.sql.unsafe(USER_COLUMNS)} from auth.users u where u.aud = ${AUD}
    order by u.created_at desc, u.id limit ${perPage} offset ${(page - 1) * perPage}`;
  const users = [];
  for (const row of rows) users.push(userJson(row, await identitiesOf(ctx.sql, row.id)));
  const totalPages = perPage > 0 ? Math.ceil(count / perPage) : 0;
  const link = (p: number) => {
    const u = new URL(req.url);
    u.searchParams.set('page', String(p));
    return `<${u.pathname}${u.search}>`;
  };
  let header = '';
  if (totalPages > page) header += `${link(page + 1)}; rel="next", `;
  header += `${link(totalPages)}; rel="last"`;
  return json(200, { users, aud: AUD }, { link: header, 'x-total-count': String(count) });
}

async function ban(tx: postgres.TransactionSql, userId: string, ms: number) {
  await tx`
    update auth.users
    set banned_until = ${ms ? tx`now() + make_interval(secs => ${ms / 1000})` : null},
      updated_at = now()
    where id = ${userId}`;
}

/**
 * PUT /admin/users/{id}: role, email (+ email_confirm), password (signs the user out
 * everywhere), user_metadata / app_metadata merges and ban_duration, as adminUserUpdate does.
 */
export async function updateUserById(
  ctx: AuthContext,
  req: Request,
  userId: string,
): Promise<Response> {
  const adminRole = await requireAdmin(ctx, req);
  const { row } = await targetUser(ctx, userId);
  const P = 'AdminUserParams';
  const body = await readJson(req, P);
  const emailIn = str(body, 'email', P);
  const password = str(body, 'password', P);
  const role = str(body, 'role', P);
  const emailConfirm = bool(body, 'email_confirm', P);
  const userMetadata = obj(body, 'user_metadata', P);
  const appMetadata = obj(body, 'app_metadata', P);
  const banMs = parseBanDuration(str(body, 'ban_duration', P));
  if (str(body, 'phone', P)) {
    throw badRequest('validation_failed', 'Phone users are not supported by the local auth server');
  }
  const email = emailIn ? validateEmail(emailIn) : undefined;
  if (password !== undefined) checkPasswordStrength(ctx, password);
  if (email && email !== row.email && (await findUserByEmail(ctx.sql, email, row.aud ?? AUD))) {
    throw emailExists();
  }
  const encrypted = password ? await hashPassword(password) : password === '' ? null : undefined;

  try {
    await ctx.sql.begin(async (tx) => {
      const [current] = await tx<
        { raw_user_meta_data: Body | null; raw_app_meta_data: Body | null }[]
      >`
        select raw_user_meta_data, raw_app_meta_data from auth.users where id = ${row.id}
        for update`;
      if (role) await tx`update auth.users set role = ${role} where id = ${row.id}`;
      if (emailConfirm) {
        const meta = mergeMetadata(current.raw_user_meta_data, { email_verified: true });
        current.raw_user_meta_data = meta;
        await tx`
          update auth.users set email_confirmed_at = now(), confirmation_token = '',
            raw_user_meta_data = ${JSON.stringify(meta)}::text::jsonb
          where id = ${row.id}`;
      }
      if (encrypted !== undefined) {
        await tx`
          update auth.users set encrypted_password = ${encrypted}, recovery_token = '',
            recovery_sent_at = null, reauthentication_token = ''
          where id = ${row.id}`;
        await tx`delete from auth.sessions where user_id = ${row.id}`;
      }
      if (email) {
        const changed = await tx`
          update auth.identities
          set identity_data = identity_data || ${
          JSON.stringify({ email, email_verified: emailConfirm })
        }::text::jsonb,
            updated_at = now()
          where user_id = ${row.id} and provider = 'email'
          returning id`;
        if (!changed.length) {
          await insertEmailIdentity(tx, row.id, {
            sub: row.id,
            email,
            email_verified: emailConfirm,
            phone_verified: false,
          });
        }
        await tx`update auth.users set email = ${email} where id = ${row.id}`;
      }
      if (appMetadata) {
        const merged = mergeMetadata(current.raw_app_meta_data, appMetadata);
        await tx`
          update auth.users set raw_app_meta_data = ${JSON.stringify(merged)}::text::jsonb
          where id = ${row.id}`;
      }
      if (userMetadata) {
        const merged = mergeMetadata(current.raw_user_meta_data, userMetadata);
        await tx`
          update auth.users set raw_user_meta_data = ${JSON.stringify(merged)}::text::jsonb
          where id = ${row.id}`;
      }
      if (banMs !== undefined) await ban(tx, row.id, banMs);
      await tx`update auth.users set updated_at = now() where id = ${row.id}`;
      await audit(tx, { id: NIL_UUID, email: adminRole, phone: null }, 'user_modified', null, {
        user_id: row.id,
        user_email: email ?? row.email ?? '',
        user_phone: row.phone ?? '',
      });
    });
  } catch (e) {
    if ((e as { code?: string })?.code === '23505') throw emailExists();
    throw e;
  }
  return json(200, (await targetUser(ctx, row.id)).json);
}

async function targetUser(ctx: AuthContext, userId: string) {
  const notFound = () => new AuthError(404, 'user_not_found', 'User not found');
  if (!isUuid(userId)) throw notFound();
  const found = await userJsonById(ctx.sql, userId.toLowerCase());
  if (!found) throw notFound();
  return found;
}

export async function getUserById(
  ctx: AuthContext,
  req: Request,
  userId: string,
): Promise<Response> {
  await requireAdmin(ctx, req);
  return json(200, (await targetUser(ctx, userId)).json);
}

/** DELETE /admin/users/{id}: a hard delete (sessions, tokens and identities cascade). */
export async function deleteUser(
  ctx: AuthContext,
  req: Request,
  userId: string,
): Promise<Response> {
  const adminRole = await requireAdmin(ctx, req);
  const { row } = await targetUser(ctx, userId);
  await ctx.sql.begin(async (tx) => {
    await audit(tx, { id: NIL_UUID, email: adminRole, phone: null }, 'user_deleted', null, {
      user_id: row.id,
      user_email: row.email ?? '',
      user_phone: row.phone ?? '',
    });
    await tx`delete from auth.users where id = ${row.id}`;
  });
  return json(200, {});
}
