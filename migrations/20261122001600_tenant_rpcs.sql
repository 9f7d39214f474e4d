-- RPCs to create a tenant and manage its members. They are security definer because they write
-- where clients may not (a tenant row, a first owner) and look users up by email in auth.users,
-- and they check the caller themselves with auth.uid(). Errors carry an SQLSTATE PostgREST maps
-- to an HTTP status and a message a person can act on:
--   42501 not signed in / not an owner (403) · 22023 bad argument (400) · P0002 no such user or
--   member (404) · 23505 slug taken / already a member (409) · 23514 last owner (400).
--
-- Advisor note: these are security definer functions in an exposed schema that authenticated can
-- execute (lint authenticated_security_definer_function_executable). That is on purpose: each
-- is an RPC for signed-in users that checks auth.uid() and membership first; anon and public
-- cannot execute them.

-- A slug from a name: lower-case ASCII letters and digits separated by single dashes.
create or replace function private.slugify(p_text text) returns text
language sql immutable set search_path = '' as $$
  select left(trim(both '-' from regexp_replace(lower(coalesce(p_text, '')), '[^a-z0-9]+', '-', 'g')), 50)
$$;
comment on function private.slugify(text) is 'A URL-safe slug from a name (may be shorter than 2 characters or empty).';
revoke all on function private.slugify(text) from public;

create or replace function public.create_tenant(p_name text, p_slug text default null)
returns public.tenants
language plpgsql security definer set search_path = '' as $$
declare
  v_user uuid := (select auth.uid());
  v_base text;
  v_slug text;
  v_tenant public.tenants;
  v_try integer := 1;
  v_constraint text;
begin
  if v_user is null then
    raise exception 'sign in to create a tenant' using errcode = '42501';
  end if;
  if p_name is null or length(trim(p_name)) not between 1 and 200 then
    raise exception 'a tenant name needs 1 to 200 characters' using errcode = '22023';
  end if;

  if p_slug is not null then
    -- An explicit slug is used as given or refused, never altered.
    v_slug := lower(trim(p_slug));
    if v_slug !~ '^[a-z0-9][a-z0-9-]{1,62}$' then
      raise exception 'invalid slug: % (use 2-63 lower-case letters, digits and dashes)', p_slug
        using errcode = '22023';
    end if;
    begin
      insert into public.tenants (name, slug) values (trim(p_name), v_slug) returning * into v_tenant;
    exception when unique_violation then
      -- Only the slug's own index means "taken"; anything else (a trigger's insert) propagates.
      get stacked diagnostics v_constraint = constraint_name;
      if v_constraint is distinct from 'tenants_slug_key' then
        raise;
      end if;
      raise exception 'slug already taken: %', v_slug using errcode = '23505';
    end;
  else
    v_base := private.slugify(p_name);
    if length(v_base) < 2 then
      v_base := 'tenant' || v_base;
    end if;
    v_slug := v_base;
    -- The first free of name, name-2, name-3, …; the unique index settles races.
    loop
      begin
        insert into public.tenants (name, slug) values (trim(p_name), v_slug) returning * into v_tenant;
        exit;
      exception when unique_violation then
        get stacked diagnostics v_constraint = constraint_name;
        if v_constraint is distinct from 'tenants_slug_key' then
          raise;
        end if;
        v_try := v_try + 1;
        if v_try > 1000 then
          v_slug := v_base || '-' || substr(md5(random()::text), 1, 8);
        else
          v_slug := v_base || '-' || v_try;
        end if;
      end;
    end loop;
  end if;

  insert into public.tenant_members (tenant_id, user_id, role) values (v_tenant.id, v_user, 'owner');
  return v_tenant;
end;
$$;
comment on function public.create_tenant(text, text) is
  'Creates a tenant whose owner is the signed-in user. The slug is derived from the name (made unique with -2, -3, …) unless given; a given slug that is taken is an error (23505).';
revoke all on function public.create_tenant(text, text) from public, anon;
grant execute on function public.create_tenant(text, text) to authenticated;

-- Shared checks of the member RPCs.
create or replace function private.require_owner(p_tenant_id uuid) returns void
language plpgsql stable security definer set search_path = '' as $$
begin
  if (select auth.uid()) is null then
    raise exception 'sign in to manage members' using errcode = '42501';
  end if;
  if not private.is_owner(p_tenant_id) then
    raise exception 'only an owner of the tenant can manage its members' using errcode = '42501';
  end if;
end;
$$;
comment on function private.require_owner(uuid) is 'Raises 42501 unless the signed-in user owns the tenant.';
revoke all on function private.require_owner(uuid) from public;

create or replace function private.require_role(p_role text) returns void
language plpgsql immutable set search_path = '' as $$
begin
  if p_role is null or p_role not in ('owner', 'agent') then
    raise exception 'invalid role: % (use owner or agent)', p_role using errcode = '22023';
  end if;
end;
$$;
comment on function private.require_role(text) is 'Raises 22023 unless the role is owner or agent.';
revoke all on function private.require_role(text) from public;

create or replace function public.add_member(p_tenant_id uuid, p_email text, p_role text)
returns public.tenant_members
language plpgsql security definer set search_path = '' as $$
declare
  v_user uuid;
  v_member public.tenant_members;
begin
  perform private.require_owner(p_tenant_id);
  perform private.require_role(p_role);
  select u.id into v_user from auth.users u
  where lower(u.email) = lower(trim(p_email)) and u.deleted_at is null
  order by u.created_at limit 1;
  if v_user is null then
    raise exception 'no user with email %: they need to sign up first', p_email
      using errcode = 'P0002';
  end if;
  begin
    insert into public.tenant_members (tenant_id, user_id, role)
    values (p_tenant_id, v_user, p_role) returning * into v_member;
  exception when unique_violation then
    raise exception '% is already a member of this tenant', p_email
      using errcode = '23505', hint = 'Use change_member_role to change their role.';
  end;
  return v_member;
end;
$$;
comment on function public.add_member(uuid, text, text) is
  'Owners only: adds an existing user (by email) to the tenant as owner or agent.';
revoke all on function public.add_member(uuid, text, text) from public, anon;
grant execute on function public.add_member(uuid, text, text) to authenticated;

create or replace function public.change_member_role(p_tenant_id uuid, p_user_id uuid, p_role text)
returns public.tenant_members
language plpgsql security definer set search_path = '' as $$
declare
  v_member public.tenant_members;
begin
  perform private.require_owner(p_tenant_id);
  perform private.require_role(p_role);
  -- The tenant_members trigger refuses to demote the last owner (23514).
  update public.tenant_members m set role = p_role
  where m.tenant_id = p_tenant_id and m.user_id = p_user_id
  returning * into v_member;
  if v_member.user_id is null then
    raise exception 'user % is not a member of this tenant', p_user_id using errcode = 'P0002';
  end if;
  return v_member;
end;
$$;
comment on function public.change_member_role(uuid, uuid, text) is
  'Owners only: makes a member an owner or an agent; the last owner cannot be demoted.';
revoke all on function public.change_member_role(uuid, uuid, text) from public, anon;
grant execute on function public.change_member_role(uuid, uuid, text) to authenticated;

create or replace function public.remove_member(p_tenant_id uuid, p_user_id uuid)
returns void
language plpgsql security definer set search_path = '' as $$
begin
  -- Anyone may leave; removing someone else takes an owner.
  if (select auth.uid()) is null or p_user_id is distinct from (select auth.uid()) then
    perform private.require_owner(p_tenant_id);
  end if;
  -- The tenant_members trigger refuses to remove the last owner (23514).
  delete from public.tenant_members m where m.tenant_id = p_tenant_id and m.user_id = p_user_id;
  if not found then
    raise exception 'user % is not a member of this tenant', p_user_id using errcode = 'P0002';
  end if;
end;
$$;
comment on function public.remove_member(uuid, uuid) is
  'Owners remove a member; any member may remove themselves (leave). The last owner cannot be removed.';
revoke all on function public.remove_member(uuid, uuid) from public, anon;
grant execute on function public.remove_member(uuid, uuid) to authenticated;

-- The members page needs emails, which live in auth.users (not readable by clients).
create or replace function public.list_members(p_tenant_id uuid)
returns table (user_id uuid, email text, role text, created_at timestamptz)
language plpgsql stable security definer set search_path = '' as $$
begin
  if not private.is_member(p_tenant_id) then
    raise exception 'only members of the tenant can list its members' using errcode = '42501';
  end if;
  return query
    select m.user_id, u.email::text, m.role, m.created_at
    from public.tenant_members m
    join auth.users u on u.id = m.user_id
    where m.tenant_id = p_tenant_id
    order by m.role desc, u.email;
end;
$$;
comment on function public.list_members(uuid) is
  'Members only: the tenant''s members with their emails and roles (owners first).';
revoke all on function public.list_members(uuid) from public, anon;
grant execute on function public.list_members(uuid) to authenticated;
