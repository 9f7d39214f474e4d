-- Row-level security and grants for the tenancy tables. Pattern for every table (this file and
-- the next ones): anon gets nothing; service_role gets everything (it bypasses RLS: the edge
-- functions and SQL internals use it); authenticated gets only the commands and columns a client
-- needs, each command guarded by its own policy. Columns a client must not set are left out of the
-- column grants (a write naming them fails with 42501), which is also what keeps tenant_id from
-- ever being updated: no update grant includes tenant_id, and every WITH CHECK re-checks
-- membership, so a row cannot be moved into another tenant.

-- tenants -----------------------------------------------------------------------------------------
-- New tenants come from public.create_tenant(), which also makes the caller the owner; there is
-- no insert grant. Members read their tenants; owners change the settings and may delete the
-- tenant (which deletes all of its data). id, slug and the timestamps are not client-writable:
-- the slug is an address (forms, email) that should not change under people's feet.
revoke all on public.tenants from anon, authenticated;
grant select, delete on public.tenants to authenticated;
grant update (
  name, timezone, default_country_code, quiet_hours_start, quiet_hours_end, business_hours,
  help_text, send_rate_per_minute, messaging_service_sid, email_from, services,
  auto_reply_enabled, auto_reply_provider, auto_reply_model, auto_reply_tone,
  auto_reply_instructions, auto_reply_cap_per_hour, auto_reply_hours, ai_pause_minutes,
  holding_message
) on public.tenants to authenticated;
grant all on public.tenants to service_role;

create policy "Members can read their tenants" on public.tenants
  for select to authenticated
  using (id = any (array(select private.member_tenant_ids())));

create policy "Owners can change their tenant's settings" on public.tenants
  for update to authenticated
  using (id = any (array(select private.member_tenant_ids('owner'))))
  with check (id = any (array(select private.member_tenant_ids('owner'))));

create policy "Owners can delete their tenant" on public.tenants
  for delete to authenticated
  using (id = any (array(select private.member_tenant_ids('owner'))));

-- tenant_members ----------------------------------------------------------------------------------
-- Members see who works for their tenant. Owners add members, change roles and remove members
-- (public.add_member() and friends do the same by email, with clearer errors); any member may
-- leave. Only the role can be updated. The trigger below keeps at least one owner.
revoke all on public.tenant_members from anon, authenticated;
grant select, delete on public.tenant_members to authenticated;
grant insert (tenant_id, user_id, role) on public.tenant_members to authenticated;
grant update (role) on public.tenant_members to authenticated;
grant all on public.tenant_members to service_role;

create policy "Members can see who works for their tenant" on public.tenant_members
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Owners can add members to their tenant" on public.tenant_members
  for insert to authenticated
  with check (tenant_id = any (array(select private.member_tenant_ids('owner'))));

create policy "Owners can change members' roles" on public.tenant_members
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))))
  with check (tenant_id = any (array(select private.member_tenant_ids('owner'))));

create policy "Owners can remove members and members can leave" on public.tenant_members
  for delete to authenticated
  using (
    tenant_id = any (array(select private.member_tenant_ids('owner')))
    or user_id = (select auth.uid())
  );

-- A tenant must always keep an owner, whoever removes or demotes it (clients, RPCs, SQL). Fired
-- after the statement's rows are changed, so swapping roles in one statement is fine. Not enforced
-- when the tenant itself is being deleted, nor when the owner's auth user is deleted (blocking
-- account deletion would be worse; such a tenant can be fixed by the service role).
create or replace function private.keep_an_owner() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  if old.role = 'owner'
    and exists (select 1 from public.tenants t where t.id = old.tenant_id)
    and exists (select 1 from auth.users u where u.id = old.user_id)
    and not exists (
      select 1 from public.tenant_members m where m.tenant_id = old.tenant_id and m.role = 'owner'
    )
  then
    raise exception 'a tenant must keep at least one owner'
      using errcode = '23514',
            hint = 'Make another member an owner first.';
  end if;
  return null;
end;
$$;
comment on function private.keep_an_owner() is
  'tenant_members trigger: refuses to remove or demote the last owner of a tenant.';
revoke all on function private.keep_an_owner() from public;

create trigger tenant_members_keep_an_owner after update of role or delete on public.tenant_members
  for each row execute function private.keep_an_owner();
