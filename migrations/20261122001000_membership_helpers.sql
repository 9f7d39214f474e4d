-- Membership helpers for row-level security. They live in `private` (not exposed by PostgREST) and
-- are security definer so that policies on public.tenant_members can call them without recursing
-- into that table's own policies. Each reads only the caller's own memberships (auth.uid()).
--
-- How policies use them: `tenant_id = any (array(select private.member_tenant_ids()))`. The
-- uncorrelated sub-select becomes an InitPlan run once per statement, and `= any ($array)` is an
-- index condition on tenant_id, so even a query with no tenant filter of its own (the dashboard,
-- realtime) reads only the caller's tenants through the index. Measured: `tenant_id in (select …)`
-- gave a hashed filter over a sequential scan instead, and `(select private.is_member(tenant_id))`
-- is correlated (its argument is a column), so it would run once per row. is_member()/is_owner()
-- remain for RPCs and other SQL that asks about one tenant.

create or replace function private.member_tenant_ids(p_role text default null) returns setof uuid
language sql stable security definer set search_path = '' rows 5 as $$
  select m.tenant_id
  from public.tenant_members m
  where m.user_id = (select auth.uid())
    and (p_role is null or m.role = p_role)
$$;
comment on function private.member_tenant_ids(text) is
  'Tenants the signed-in user belongs to (optionally only those where they have p_role); empty for anon.';
revoke all on function private.member_tenant_ids(text) from public;
grant execute on function private.member_tenant_ids(text) to authenticated, service_role;

create or replace function private.is_member(p_tenant_id uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.tenant_members m
    where m.tenant_id = p_tenant_id and m.user_id = (select auth.uid())
  )
$$;
comment on function private.is_member(uuid) is
  'True when the signed-in user is an owner or agent of the tenant.';
revoke all on function private.is_member(uuid) from public;
grant execute on function private.is_member(uuid) to authenticated, service_role;

create or replace function private.is_owner(p_tenant_id uuid) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (
    select 1 from public.tenant_members m
    where m.tenant_id = p_tenant_id and m.user_id = (select auth.uid()) and m.role = 'owner'
  )
$$;
comment on function private.is_owner(uuid) is
  'True when the signed-in user is an owner of the tenant (may change settings, numbers, members).';
revoke all on function private.is_owner(uuid) from public;
grant execute on function private.is_owner(uuid) to authenticated, service_role;

-- Policies filter contacts by tenant; the data model only had partial unique indexes there.
create index if not exists contacts_tenant_id_name_idx on public.contacts (tenant_id, name);
