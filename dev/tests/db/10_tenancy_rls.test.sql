-- Tenancy tables under RLS: tenants and tenant_members, tried by an owner, an agent, a member of
-- another tenant (the stranger), anon and the service role. Fixture: dev/tests/db/_helpers_rls.sql.
begin;
select plan(53);

select tests.rls_fixture();
select tests.create_user('rls-new@test.local');

-- Owner of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-owner@test.local');

select is(tests.rls_visible('tenants', array[tests.rls_id('a.tenant')]), 1, 'owner: sees their tenant');
select is(tests.rls_visible('tenants', array[tests.rls_id('b.tenant')]), 0, 'owner: does not see another tenant');
select throws_ok($$insert into public.tenants (name, slug) values ('Direct', 'rls-direct')$$,
  '42501', null, 'owner: cannot insert a tenant directly (create_tenant does it)');
with u as (update public.tenants set name = 'RLS A renamed' where id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 1, 'owner: can change their tenant''s settings') from u;
with u as (update public.tenants set name = 'Hijacked' where id = tests.rls_id('b.tenant') returning 1)
select is(count(*)::int, 0, 'owner: cannot change another tenant') from u;
select throws_ok($$update public.tenants set slug = 'rls-new-slug' where id = tests.rls_id('a.tenant')$$,
  '42501', null, 'owner: cannot change the slug (not granted)');
with d as (delete from public.tenants where id = tests.rls_id('b.tenant') returning 1)
select is(count(*)::int, 0, 'owner: cannot delete another tenant') from d;

select is((select count(*)::int from public.tenant_members
  where user_id in (tests.rls_id('a.owner'), tests.rls_id('a.agent'), tests.rls_id('b.owner'))), 2,
  'owner: sees the two members of their tenant and none of another');
select lives_ok($$insert into public.tenant_members (tenant_id, user_id, role)
  values (tests.rls_id('a.tenant'), tests.user_id('rls-new@test.local'), 'agent')$$,
  'owner: can add a member');
select throws_ok($$insert into public.tenant_members (tenant_id, user_id, role)
  values (tests.rls_id('b.tenant'), tests.user_id('rls-new@test.local'), 'owner')$$,
  '42501', 'new row violates row-level security policy for table "tenant_members"',
  'owner: cannot add a member to another tenant (WITH CHECK)');
with u as (update public.tenant_members set role = 'owner'
  where tenant_id = tests.rls_id('a.tenant') and user_id = tests.user_id('rls-new@test.local') returning 1)
select is(count(*)::int, 1, 'owner: can change a member''s role') from u;
with u as (update public.tenant_members set role = 'agent' where tenant_id = tests.rls_id('b.tenant') returning 1)
select is(count(*)::int, 0, 'owner: cannot change roles in another tenant') from u;
select throws_ok($$update public.tenant_members set tenant_id = tests.rls_id('b.tenant')
  where user_id = tests.rls_id('a.agent')$$,
  '42501', null, 'owner: cannot move a membership to another tenant');
select throws_ok($$update public.tenant_members set user_id = tests.rls_id('b.owner')
  where user_id = tests.rls_id('a.agent')$$,
  '42501', null, 'owner: cannot rewrite who a membership is for');
with d as (delete from public.tenant_members
  where tenant_id = tests.rls_id('a.tenant') and user_id = tests.user_id('rls-new@test.local') returning 1)
select is(count(*)::int, 1, 'owner: can remove a member (another owner)') from d;
with d as (delete from public.tenant_members where tenant_id = tests.rls_id('b.tenant') returning 1)
select is(count(*)::int, 0, 'owner: cannot remove members of another tenant') from d;
select throws_ok($$update public.tenant_members set role = 'agent' where user_id = tests.rls_id('a.owner')$$,
  '23514', 'a tenant must keep at least one owner', 'owner: the last owner cannot demote themselves');
select throws_ok($$delete from public.tenant_members where user_id = tests.rls_id('a.owner')$$,
  '23514', 'a tenant must keep at least one owner', 'owner: the last owner cannot leave');

-- Agent of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-agent@test.local');

select is(tests.rls_visible('tenants', array[tests.rls_id('a.tenant')]), 1, 'agent: sees their tenant');
select is(tests.rls_visible('tenants', array[tests.rls_id('b.tenant')]), 0, 'agent: does not see another tenant');
select throws_ok($$insert into public.tenants (name, slug) values ('Direct', 'rls-direct')$$,
  '42501', null, 'agent: cannot insert a tenant');
with u as (update public.tenants set name = 'Agent was here' where id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'agent: cannot change the tenant''s settings') from u;
with d as (delete from public.tenants where id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'agent: cannot delete the tenant') from d;

select is((select count(*)::int from public.tenant_members
  where user_id in (tests.rls_id('a.owner'), tests.rls_id('a.agent'), tests.rls_id('b.owner'))), 2,
  'agent: sees their tenant''s members only');
select throws_ok($$insert into public.tenant_members (tenant_id, user_id, role)
  values (tests.rls_id('a.tenant'), tests.user_id('rls-new@test.local'), 'agent')$$,
  '42501', null, 'agent: cannot add members');
with u as (update public.tenant_members set role = 'owner' where user_id = tests.rls_id('a.agent') returning 1)
select is(count(*)::int, 0, 'agent: cannot promote themselves') from u;
with d as (delete from public.tenant_members where user_id = tests.rls_id('a.owner') returning 1)
select is(count(*)::int, 0, 'agent: cannot remove the owner') from d;

-- Stranger: owner of B ----------------------------------------------------------------------------
select tests.authenticate_as('rls-b-owner@test.local');

select is(tests.rls_visible('tenants', array[tests.rls_id('a.tenant')]), 0, 'stranger: does not see tenant A');
select throws_ok($$insert into public.tenants (name, slug) values ('Direct', 'rls-direct')$$,
  '42501', null, 'stranger: cannot insert a tenant');
with u as (update public.tenants set name = 'Hijacked' where id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'stranger: cannot change tenant A') from u;
with d as (delete from public.tenants where id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'stranger: cannot delete tenant A') from d;

select is((select count(*)::int from public.tenant_members where tenant_id = tests.rls_id('a.tenant')), 0,
  'stranger: does not see tenant A''s members');
select throws_ok($$insert into public.tenant_members (tenant_id, user_id, role)
  values (tests.rls_id('a.tenant'), tests.rls_id('b.owner'), 'owner')$$,
  '42501', null, 'stranger: cannot make themselves a member of tenant A');
with u as (update public.tenant_members set role = 'agent' where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'stranger: cannot change roles in tenant A') from u;
with d as (delete from public.tenant_members where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'stranger: cannot remove members of tenant A') from d;

-- Anon --------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();

select throws_ok($$select * from public.tenants$$, '42501', null, 'anon: cannot read tenants');
select throws_ok($$insert into public.tenants (name, slug) values ('Anon', 'rls-anon')$$,
  '42501', null, 'anon: cannot insert tenants');
select throws_ok($$update public.tenants set name = 'Anon'$$, '42501', null, 'anon: cannot update tenants');
select throws_ok($$delete from public.tenants$$, '42501', null, 'anon: cannot delete tenants');
select throws_ok($$select * from public.tenant_members$$, '42501', null, 'anon: cannot read members');
select throws_ok($$insert into public.tenant_members (tenant_id, user_id, role)
  values (tests.rls_id('a.tenant'), tests.rls_id('b.owner'), 'owner')$$,
  '42501', null, 'anon: cannot insert members');
select throws_ok($$update public.tenant_members set role = 'owner'$$, '42501', null,
  'anon: cannot update members');
select throws_ok($$delete from public.tenant_members$$, '42501', null, 'anon: cannot delete members');

-- Service role ------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();

select is(tests.rls_visible('tenants', array[tests.rls_id('a.tenant'), tests.rls_id('b.tenant')]), 2,
  'service role: sees every tenant');
select is((select count(*)::int from public.tenant_members
  where user_id in (tests.rls_id('a.owner'), tests.rls_id('a.agent'), tests.rls_id('b.owner'))), 3,
  'service role: sees every membership');
select throws_ok($$delete from public.tenant_members where user_id = tests.rls_id('b.owner')$$,
  '23514', 'a tenant must keep at least one owner', 'service role: cannot remove a last owner either');

-- Leaving and deleting (they change the fixture, so they come last) --------------------------------
select tests.authenticate_as('rls-a-agent@test.local');
with d as (delete from public.tenant_members where user_id = tests.rls_id('a.agent') returning 1)
select is(count(*)::int, 1, 'agent: can leave the tenant') from d;
select is(tests.rls_visible('tenants', array[tests.rls_id('a.tenant')]), 0, 'agent: after leaving, no longer sees it');

-- A tenant of its own (made with create_tenant, with a member and a contact) to delete: the
-- fixture tenants carry appointments whose reminders were created in this same transaction.
select tests.authenticate_as('rls-a-owner@test.local');
select tests.rls_put('c.tenant', (public.create_tenant('RLS doomed')).id);
reset role;
insert into public.tenant_members (tenant_id, user_id, role)
values (tests.rls_id('c.tenant'), tests.rls_id('a.agent'), 'agent');
select tests.authenticate_as('rls-a-owner@test.local');
insert into public.contacts (tenant_id, name, phone) values (tests.rls_id('c.tenant'), 'Doomed', '+14155550999');
select tests.authenticate_as('rls-a-agent@test.local');
with d as (delete from public.tenants where id = tests.rls_id('c.tenant') returning 1)
select is(count(*)::int, 0, 'agent: cannot delete the tenant') from d;
select tests.authenticate_as('rls-a-owner@test.local');
with d as (delete from public.tenants where id = tests.rls_id('c.tenant') returning 1)
select is(count(*)::int, 1, 'owner: can delete their tenant') from d;

select tests.clear_authentication();
select is((select count(*)::int from public.tenants where id = tests.rls_id('c.tenant')), 0,
  'deleting the tenant is not blocked by the last-owner rule');
select is((select count(*)::int from public.contacts where tenant_id = tests.rls_id('c.tenant')), 0,
  'deleting the tenant deleted its data');
select is((select count(*)::int from public.tenants where id in (tests.rls_id('a.tenant'), tests.rls_id('b.tenant'))), 2,
  'the other tenants are untouched');

select * from finish();
rollback;
