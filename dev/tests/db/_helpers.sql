-- Test helpers, installed by `deno task test` into schema `tests` of the throwaway cluster before
-- pg_prove runs (files starting with "_" are helpers, not tests). Inspired by basejump's
-- supabase_test_helpers: create users, act as them, act as anon.
create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- Creates an auth user and returns its id.
create or replace function tests.create_user(p_email text) returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_id uuid := gen_random_uuid();
begin
  insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at,
    raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  values (v_id, 'authenticated', 'authenticated', p_email,
    extensions.crypt('password', extensions.gen_salt('bf', 4)), now(),
    '{"provider":"email","providers":["email"]}', '{}', now(), now());
  return v_id;
end;
$$;

create or replace function tests.user_id(p_email text) returns uuid
language sql stable security definer set search_path = '' as $$
  select id from auth.users where email = p_email
$$;

-- Acts as the given user for the rest of the transaction, as PostgREST would for their JWT.
create or replace function tests.authenticate_as(p_email text) returns void
language plpgsql as $$
declare
  v_id uuid := tests.user_id(p_email);
begin
  if v_id is null then
    raise exception 'tests.authenticate_as: no user %', p_email;
  end if;
  perform set_config('request.jwt.claims', json_build_object(
    'sub', v_id, 'role', 'authenticated', 'email', p_email, 'aud', 'authenticated')::text, true);
  perform set_config('role', 'authenticated', true);
end;
$$;

create or replace function tests.authenticate_as_anon() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', '{"role":"anon"}', true);
  perform set_config('role', 'anon', true);
end;
$$;

create or replace function tests.authenticate_as_service_role() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', '{"role":"service_role"}', true);
  perform set_config('role', 'service_role', true);
end;
$$;

-- Back to the superuser that runs the test file.
create or replace function tests.clear_authentication() returns void
language plpgsql as $$
begin
  perform set_config('request.jwt.claims', null, true);
  perform set_config('role', 'postgres', true);
end;
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
