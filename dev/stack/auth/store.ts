// The auth tables, written the way supabase/auth writes them (internal/models): users with the
// nil instance_id and empty-string token columns (GoTrue scans those into Go strings, so NULL would
// break a real GoTrue reading our rows), one `email` identity per email user, a session per sign-in,
// and a chain of 12-character refresh tokens per session linked by `parent`.
import type postgres from 'postgres';
import {
  IDENTITY_COLUMNS,
  type IdentityRow,
  USER_COLUMNS,
  userJson,
  type UserRow,
} from './format.ts';

// The part of postgres.js that a pool and a transaction share, so helpers work in both.
export type Sql = postgres.ISql;

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export async function findUserById(sql: Sql, id: string): Promise<UserRow | null> {
  const rows = await sql<UserRow[]>`
    select ${sql.unsafe(USER_COLUMNS)} from auth.users u where u.id = ${id}`;
  return rows[0] ?? null;
}

/** GoTrue's FindUserByEmailAndAudience: case-insensitive, non-SSO users of the audience. */
export async function findUserByEmail(
  sql: Sql,
  email: string,
  aud: string,
): Promise<UserRow | null> {
  const rows = await sql<UserRow[]>`
    select ${sql.unsafe(USER_COLUMNS)} from auth.users u
    where lower(u.email) = lower(${email}) and u.aud = ${aud} and not u.is_sso_user
    limit 1`;
  return rows[0] ?? null;
}

export async function identitiesOf(sql: Sql, userId: string): Promise<IdentityRow[]> {
  return await sql<IdentityRow[]>`
    select ${sql.unsafe(IDENTITY_COLUMNS)} from auth.identities i
    where i.user_id = ${userId} order by i.created_at, i.id`;
}

/** The user as JSON (with identities), or null when it no longer exists. */
export async function userJsonById(
  sql: Sql,
  id: string,
): Promise<{ row: UserRow; json: Record<string, unknown> } | null> {
  const row = await findUserById(sql, id);
  if (!row) return null;
  return { row, json: userJson(row, await identitiesOf(sql, id)) };
}

export interface NewUser {
  id: string;
  email: string;
  encryptedPassword: string;
  appMetadata: Record<string, unknown>;
  userMetadata: Record<string, unknown>;
  confirmed: boolean;
  role?: string;
  aud?: string;
}

export async function insertUser(sql: Sql, u: NewUser): Promise<void> {
  await sql`
    insert into auth.users (
      instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      confirmation_token, recovery_token, email_change_token_new, email_change,
      email_change_token_current, phone_change, phone_change_token, reauthentication_token,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_sso_user, is_anonymous
    ) values (
      ${NIL_UUID}, ${u.id}, ${u.aud ?? 'authenticated'}, ${u.role ?? 'authenticated'}, ${u.email},
      ${u.encryptedPassword}, ${u.confirmed ? sql`now()` : null},
      '', '', '', '', '', '', '', '',
      ${JSON.stringify(u.appMetadata)}::text::jsonb, ${JSON.stringify(u.userMetadata)}::text::jsonb,
      now(), now(), false, false
    )`;
}

export async function insertEmailIdentity(
  sql: Sql,
  userId: string,
  identityData: Record<string, unknown>,
): Promise<void> {
  await sql`
    insert into auth.identities (
      id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at
    ) values (
      ${crypto.randomUUID()}, ${userId}, ${userId}, ${JSON.stringify(identityData)}::text::jsonb,
      'email', now(), now(), now()
    )`;
}

/** crypto.SecureAlphanumeric(12): lower-case base32 letters and digits. */
export function newRefreshTokenString(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => alphabet[b % 32]).join('');
}

export async function insertRefreshToken(
  sql: Sql,
  userId: string,
  sessionId: string,
  parent: string | null,
): Promise<string> {
  const token = newRefreshTokenString();
  await sql`
    insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at,
      parent, session_id)
    values (${NIL_UUID}, ${token}, ${userId}, false, now(), now(), ${parent}, ${sessionId})`;
  return token;
}

export interface Client {
  userAgent: string | null;
  ip: string | null;
}

/** A new aal1 session with its first refresh token; stamps the user's last_sign_in_at. */
export async function createSession(
  sql: Sql,
  userId: string,
  client: Client,
): Promise<{ sessionId: string; createdAt: number; refreshToken: string }> {
  const sessionId = crypto.randomUUID();
  const [s] = await sql<{ created_at: Date }[]>`
    insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
    values (${sessionId}, ${userId}, now(), now(), 'aal1', ${client.userAgent}, ${client.ip}::inet)
    returning created_at`;
  const refreshToken = await insertRefreshToken(sql, userId, sessionId, null);
  await sql`update auth.users set last_sign_in_at = now() where id = ${userId}`;
  return { sessionId, createdAt: Math.floor(s.created_at.getTime() / 1000), refreshToken };
}

export async function sessionCreatedAt(sql: Sql, sessionId: string): Promise<number | null> {
  const rows = await sql<{ created_at: Date }[]>`
    select created_at from auth.sessions where id = ${sessionId}`;
  return rows[0] ? Math.floor(rows[0].created_at.getTime() / 1000) : null;
}

/** An audit_log_entries row with GoTrue's payload shape (models/audit_log_entry.go). */
export async function audit(
  sql: Sql,
  actor: { id: string; email: string | null; phone: string | null; is_sso_user?: boolean },
  action: string,
  ip: string | null,
  traits?: Record<string, unknown>,
): Promise<void> {
  const logType: Record<string, string> = {
    login: 'account',
    logout: 'account',
    user_signedup: 'team',
    user_deleted: 'team',
    token_revoked: 'token',
    token_refreshed: 'token',
    user_modified: 'user',
    user_updated_password: 'user',
    user_repeated_signup: 'user',
    user_confirmation_requested: 'user',
  };
  const payload: Record<string, unknown> = {
    actor_id: actor.id,
    actor_via_sso: actor.is_sso_user ?? false,
    actor_username: actor.phone || actor.email || '',
    action,
    log_type: logType[action] ?? 'user',
  };
  if (traits) payload.traits = traits;
  await sql`
    insert into auth.audit_log_entries (instance_id, id, payload, created_at, ip_address)
    values (${NIL_UUID}, ${crypto.randomUUID()}, ${JSON.stringify(payload)}::text::json, now(),
      ${ip ?? ''})`;
}
