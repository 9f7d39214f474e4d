-- Bootstrap for a bare PostgreSQL 15 cluster so that it looks, to our migrations and app code, like
-- the database inside Supabase's image. Runs once per cluster, before `supabase db push`, as the
-- `postgres` superuser. It lives in dev/stack/ and never in migrations/: hosted Supabase and
-- `supabase start` already have all of this.
--
-- Sources (read with the search tool, 2026-11-22):
--   supabase/postgres  migrations/db/init-scripts/00000000000000-initial-schema.sql  (roles, grants,
--                      default privileges, extensions schema, publication supabase_realtime)
--   supabase/postgres  migrations/db/init-scripts/00000000000001-auth-schema.sql     (auth schema,
--                      auth.users, auth.refresh_tokens, auth.uid/role/email)
--   supabase/auth      migrations/20220224000811_update_auth_functions.up.sql        (auth.uid(),
--                      auth.role(), auth.email() reading request.jwt.claims as well)
--   supabase/auth      migrations/20220531120530_add_auth_jwt_function.up.sql        (auth.jwt())
--   supabase/auth      migrations/20210927181326_add_refresh_token_parent.up.sql,
--                      20220811173540_add_sessions_table.up.sql,
--                      20240214120130_add_is_anonymous_column.up.sql                (later columns)
-- Differences, on purpose: there is no supabase_admin / supabase_auth_admin split (our `postgres`
-- is the cluster superuser and owns everything), no storage schema (Switchboard stores no files),
-- and pg_net is not created here: hosted projects enable it in a migration, as ours does. pg_net
-- and Supabase Vault are emulated (dev/stack/extensions/, installed by dev/stack/postgres.ts); Vault is
-- created below because every Supabase project already has it.

\set ON_ERROR_STOP 1

-- Publication read by Realtime; tables join it in migrations.
create publication supabase_realtime;

-- Extension namespacing, as in Supabase.
create schema if not exists extensions;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
-- In pg_catalog as on Supabase, so the linter does not report it as an extension in public.
create extension if not exists pg_cron with schema pg_catalog;
grant usage on schema cron to postgres;

-- API roles. PostgREST logs in as authenticator and switches to one of these per request.
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit password 'postgres';
grant anon to authenticator;
grant authenticated to authenticator;
grant service_role to authenticator;

grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to postgres, anon, authenticated, service_role;
grant usage on schema extensions to postgres, anon, authenticated, service_role;

-- Short statement timeouts for API roles, as in Supabase.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';

alter database postgres set search_path to "$user", public, extensions;

-- ---------------------------------------------------------------------------------------------
-- auth schema: the columns GoTrue (supabase/auth) has today for what the local auth server uses.
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table auth.users (
  instance_id uuid null,
  id uuid not null primary key,
  aud varchar(255) null,
  role varchar(255) null,
  email varchar(255) null,
  encrypted_password varchar(255) null,
  email_confirmed_at timestamptz null,
  invited_at timestamptz null,
  confirmation_token varchar(255) null,
  confirmation_sent_at timestamptz null,
  recovery_token varchar(255) null,
  recovery_sent_at timestamptz null,
  email_change_token_new varchar(255) null,
  email_change varchar(255) null,
  email_change_sent_at timestamptz null,
  last_sign_in_at timestamptz null,
  raw_app_meta_data jsonb null,
  raw_user_meta_data jsonb null,
  is_super_admin bool null,
  created_at timestamptz null,
  updated_at timestamptz null,
  phone text null unique default null,
  phone_confirmed_at timestamptz null,
  phone_change text null default '',
  phone_change_token varchar(255) null default '',
  phone_change_sent_at timestamptz null,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) null default '',
  email_change_confirm_status smallint default 0 check (email_change_confirm_status between 0 and 2),
  banned_until timestamptz null,
  reauthentication_token varchar(255) null default '',
  reauthentication_sent_at timestamptz null,
  is_sso_user boolean not null default false,
  deleted_at timestamptz null,
  is_anonymous boolean not null default false
);
create index users_instance_id_idx on auth.users (instance_id);
-- GoTrue: unique on email among non-SSO users (20221215195500_modify_users_email_unique_index).
create unique index users_email_partial_key on auth.users (email) where (is_sso_user = false);
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';

create table auth.sessions (
  id uuid not null primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz null,
  updated_at timestamptz null,
  factor_id uuid null,
  aal text null,
  not_after timestamptz null,
  refreshed_at timestamp null,
  user_agent text null,
  ip inet null
);
create index sessions_user_id_idx on auth.sessions (user_id);
comment on table auth.sessions is 'Auth: Stores session data associated to a user.';

create table auth.refresh_tokens (
  instance_id uuid null,
  id bigserial primary key,
  token varchar(255) null unique,
  user_id varchar(255) null,
  revoked bool null,
  created_at timestamptz null,
  updated_at timestamptz null,
  parent varchar(255) null,
  session_id uuid null references auth.sessions (id) on delete cascade
);
create index refresh_tokens_instance_id_idx on auth.refresh_tokens (instance_id);
create index refresh_tokens_instance_id_user_id_idx on auth.refresh_tokens (instance_id, user_id);
create index refresh_tokens_parent_idx on auth.refresh_tokens (parent);
create index refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);
comment on table auth.refresh_tokens is 'Auth: Store of tokens used to refresh JWT tokens once they expire.';

create table auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz null,
  created_at timestamptz null,
  updated_at timestamptz null,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default extensions.gen_random_uuid() primary key,
  unique (provider_id, provider)
);
create index identities_user_id_idx on auth.identities (user_id);
comment on table auth.identities is 'Auth: Stores identities associated to a user.';

create table auth.audit_log_entries (
  instance_id uuid null,
  id uuid not null primary key,
  payload json null,
  created_at timestamptz null,
  ip_address varchar(64) not null default ''
);
comment on table auth.audit_log_entries is 'Auth: Audit trail for user actions.';

-- The auth tables are never reachable through the API roles.
revoke all on all tables in schema auth from anon, authenticated;
grant all on all tables in schema auth to service_role;

-- auth helpers exactly as GoTrue defines them: the legacy single-claim settings first, then the
-- request.jwt.claims JSON that PostgREST 9+ sets.
create or replace function auth.uid() returns uuid
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;
comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

create or replace function auth.role() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';

create or replace function auth.email() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- PostgREST reloads its schema cache on this channel (NOTIFY pgrst); on Supabase an event trigger
-- does it after DDL, which we mirror so migrations need no extra step.
create or replace function extensions.pgrst_ddl_watch() returns event_trigger
language plpgsql as $$
begin
  notify pgrst, 'reload schema';
end;
$$;
create event trigger pgrst_ddl_watch on ddl_command_end execute procedure extensions.pgrst_ddl_watch();

create or replace function extensions.pgrst_drop_watch() returns event_trigger
language plpgsql as $$
begin
  notify pgrst, 'reload schema';
end;
$$;
create event trigger pgrst_drop_watch on sql_drop execute procedure extensions.pgrst_drop_watch();

-- ---------------------------------------------------------------------------------------------
-- Supabase Vault (the extension and Supabase's grants on it).
\ir bootstrap_vault.sql
