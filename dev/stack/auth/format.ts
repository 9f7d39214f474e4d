// JSON of users and identities exactly as supabase/auth serialises its models (internal/models
// user.go and identity.go): same field order, `omitempty` fields left out when empty, timestamps
// in Go's RFC 3339 form (UTC, microseconds with trailing zeros trimmed).

/** SQL that renders a timestamptz column the way Go's time.Time marshals it (before trimming). */
export function tsSql(col: string, as = col.split('.').pop()!): string {
  return `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ${as}`;
}

/** Go's RFC3339Nano drops trailing zeros of the fraction, and the dot with them. */
export function goTime(v: string | null): string | null {
  if (!v) return null;
  return v.replace(/\.(\d*?)0+Z$/, (_m, digits: string) => digits ? `.${digits}Z` : 'Z');
}

export const USER_COLUMNS = [
  'u.id',
  'u.aud',
  'u.role',
  'u.email',
  'u.phone',
  'u.encrypted_password',
  'u.email_change',
  'u.phone_change',
  'u.raw_app_meta_data',
  'u.raw_user_meta_data',
  'u.is_anonymous',
  'u.is_sso_user',
  'coalesce(u.banned_until > now(), false) as banned',
  tsSql('u.email_confirmed_at'),
  tsSql('u.invited_at'),
  tsSql('u.phone_confirmed_at'),
  tsSql('u.confirmation_sent_at'),
  tsSql('u.confirmed_at'),
  tsSql('u.recovery_sent_at'),
  tsSql('u.email_change_sent_at'),
  tsSql('u.phone_change_sent_at'),
  tsSql('u.reauthentication_sent_at'),
  tsSql('u.last_sign_in_at'),
  tsSql('u.created_at'),
  tsSql('u.updated_at'),
  tsSql('u.banned_until'),
  tsSql('u.deleted_at'),
].join(', ');

export const IDENTITY_COLUMNS = [
  'i.id',
  'i.provider_id',
  'i.user_id',
  'i.identity_data',
  'i.provider',
  'i.email',
  tsSql('i.last_sign_in_at'),
  tsSql('i.created_at'),
  tsSql('i.updated_at'),
].join(', ');

export interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  phone: string | null;
  encrypted_password: string | null;
  email_change: string | null;
  phone_change: string | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  is_anonymous: boolean;
  is_sso_user: boolean;
  banned: boolean;
  email_confirmed_at: string | null;
  invited_at: string | null;
  phone_confirmed_at: string | null;
  confirmation_sent_at: string | null;
  confirmed_at: string | null;
  recovery_sent_at: string | null;
  email_change_sent_at: string | null;
  phone_change_sent_at: string | null;
  reauthentication_sent_at: string | null;
  last_sign_in_at: string | null;
  created_at: string | null;
  updated_at: string | null;
  banned_until: string | null;
  deleted_at: string | null;
}

export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Record<string, unknown> | null;
  provider: string;
  email: string | null;
  last_sign_in_at: string | null;
  created_at: string | null;
  updated_at: string | null;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Sets `key` only when the value is non-empty, as Go's `omitempty` does. */
function omitEmpty(out: Record<string, unknown>, key: string, value: string | null) {
  if (value) out[key] = value;
}

export function identityJson(i: IdentityRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    identity_id: i.id,
    id: i.provider_id,
    user_id: i.user_id,
  };
  if (i.identity_data && Object.keys(i.identity_data).length) out.identity_data = i.identity_data;
  out.provider = i.provider;
  omitEmpty(out, 'last_sign_in_at', goTime(i.last_sign_in_at));
  out.created_at = goTime(i.created_at) ?? ZERO_TIME;
  out.updated_at = goTime(i.updated_at) ?? ZERO_TIME;
  omitEmpty(out, 'email', i.email);
  return out;
}

export function userJson(u: UserRow, identities: IdentityRow[]): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: u.id,
    aud: u.aud ?? '',
    role: u.role ?? '',
    email: u.email ?? '',
  };
  omitEmpty(out, 'email_confirmed_at', goTime(u.email_confirmed_at));
  omitEmpty(out, 'invited_at', goTime(u.invited_at));
  out.phone = u.phone ?? '';
  omitEmpty(out, 'phone_confirmed_at', goTime(u.phone_confirmed_at));
  omitEmpty(out, 'confirmation_sent_at', goTime(u.confirmation_sent_at));
  omitEmpty(out, 'confirmed_at', goTime(u.confirmed_at));
  omitEmpty(out, 'recovery_sent_at', goTime(u.recovery_sent_at));
  omitEmpty(out, 'new_email', u.email_change);
  omitEmpty(out, 'email_change_sent_at', goTime(u.email_change_sent_at));
  omitEmpty(out, 'new_phone', u.phone_change);
  omitEmpty(out, 'phone_change_sent_at', goTime(u.phone_change_sent_at));
  omitEmpty(out, 'reauthentication_sent_at', goTime(u.reauthentication_sent_at));
  omitEmpty(out, 'last_sign_in_at', goTime(u.last_sign_in_at));
  out.app_metadata = u.raw_app_meta_data ?? {};
  out.user_metadata = u.raw_user_meta_data ?? {};
  out.identities = identities.map(identityJson);
  out.created_at = goTime(u.created_at) ?? ZERO_TIME;
  out.updated_at = goTime(u.updated_at) ?? ZERO_TIME;
  omitEmpty(out, 'banned_until', goTime(u.banned_until));
  omitEmpty(out, 'deleted_at', goTime(u.deleted_at));
  out.is_anonymous = u.is_anonymous;
  return out;
}
