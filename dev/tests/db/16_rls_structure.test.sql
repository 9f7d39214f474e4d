-- Structural guarantees over the whole public schema (they also cover tables added later), and the
-- membership helpers themselves.
begin;
select plan(31);

-- Every table: RLS, no anon privilege, explicit per-command policies -----------------------------------
select is((select array_agg(c.relname::text order by c.relname) from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity),
  null, 'every public table has row-level security enabled');
select is_empty($$select table_name, privilege_type from information_schema.role_table_grants
  where grantee in ('anon', 'PUBLIC') and table_schema = 'public'$$,
  'anon (and PUBLIC) hold no privilege on any public table');
select is_empty($$select table_name, column_name from information_schema.column_privileges
  where grantee in ('anon', 'PUBLIC') and table_schema = 'public'$$,
  'anon (and PUBLIC) hold no column privilege in public');
select is_empty($$select c.relname from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
    and not has_table_privilege('service_role', c.oid, 'select, insert, update, delete')$$,
  'service_role keeps full access to every public table');
select is_empty($$select tablename, policyname from pg_policies where schemaname = 'public' and cmd = 'ALL'$$,
  'no policy covers all commands at once: one policy per command');
select is_empty($$select tablename, policyname, roles from pg_policies
  where schemaname = 'public' and roles <> '{authenticated}'$$,
  'every policy is for authenticated only');
select is_empty($$select c.relname from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
    and has_table_privilege('authenticated', c.oid, 'select')
    and not exists (select 1 from pg_policies p where p.schemaname = 'public'
      and p.tablename = c.relname and p.cmd = 'SELECT')$$,
  'every table authenticated can read has a select policy');
select is_empty($$select tablename, policyname from pg_policies where schemaname = 'public'
  and (coalesce(qual, '') ~ 'auth\.uid\(\)' or coalesce(with_check, '') ~ 'auth\.uid\(\)')
  and not (coalesce(qual, '') || coalesce(with_check, '')) ~ 'SELECT auth\.uid\(\)'$$,
  'policies call auth.uid() only inside a sub-select (evaluated once)');
select is_empty($$select tablename, policyname from pg_policies where schemaname = 'public'
  and cmd in ('INSERT', 'UPDATE') and with_check is null$$,
  'every insert and update policy has a WITH CHECK');
select is_empty($$select c.table_name from information_schema.column_privileges c
  where c.grantee = 'authenticated' and c.table_schema = 'public' and c.column_name = 'tenant_id'
    and c.privilege_type = 'UPDATE'
    and not exists (select 1 from pg_trigger tg
      where tg.tgrelid = format('public.%I', c.table_name)::regclass
        and tg.tgfoid = 'private.keep_tenant_id'::regproc)$$,
  'authenticated may update tenant_id only where a trigger keeps it (upserts), so rows never move');
select is_empty($$select c.relname from pg_class c
  where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
    and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id')
    and not exists (select 1 from pg_trigger tg
      where tg.tgrelid = c.oid and tg.tgfoid = 'private.keep_tenant_id'::regproc)$$,
  'every tenant table refuses a change of tenant_id by trigger');

-- The helpers -------------------------------------------------------------------------------------
select is_empty($$select p.proname from pg_proc p
  where p.pronamespace = 'private'::regnamespace
    and p.proname in ('is_member', 'is_owner', 'member_tenant_ids')
    and not (p.prosecdef and p.proconfig @> array['search_path=""'] and p.provolatile = 's')$$,
  'membership helpers are security definer, stable, with an empty search_path');

select tests.rls_fixture();
select tests.authenticate_as('rls-a-owner@test.local');
select ok(private.is_member(tests.rls_id('a.tenant')) and private.is_owner(tests.rls_id('a.tenant')),
  'owner: is_member and is_owner of their tenant');
select ok(not private.is_member(tests.rls_id('b.tenant')) and not private.is_owner(tests.rls_id('b.tenant')),
  'owner: neither of another tenant');
-- Even a member of both tenants cannot move any row from one to the other.
select tests.clear_authentication();
insert into public.tenant_members (tenant_id, user_id, role) values (tests.rls_id('b.tenant'), tests.rls_id('a.owner'), 'owner');
select tests.authenticate_as('rls-a-owner@test.local');
select throws_ok(format('update public.%I set tenant_id = %L where tenant_id = %L', t,
    tests.rls_id('b.tenant'), tests.rls_id('a.tenant')),
  '42501', null, format('an owner of both tenants cannot move %s rows between them', t))
from unnest(array['tenant_members', 'phone_numbers', 'contacts', 'calls', 'conversations',
  'templates', 'automations', 'bulk_sends', 'orders', 'appointments', 'messages']) as t;
select tests.authenticate_as('rls-a-agent@test.local');
select ok(private.is_member(tests.rls_id('a.tenant')) and not private.is_owner(tests.rls_id('a.tenant')),
  'agent: member but not owner');
select is(array(select private.member_tenant_ids()), array[tests.rls_id('a.tenant')],
  'agent: member_tenant_ids() lists their tenant');
select is(array(select private.member_tenant_ids('owner')), '{}'::uuid[],
  'agent: member_tenant_ids(''owner'') is empty');
select tests.authenticate_as_anon();
select throws_ok($$select private.is_member(tests.rls_id('a.tenant'))$$, '42501', null,
  'anon: cannot call the helpers');
select tests.authenticate_as_service_role();
select ok(not private.is_member(tests.rls_id('a.tenant')), 'service role (no user): is a member of nothing');

-- The public RPCs of tenancy are for signed-in users only -----------------------------------------
select tests.clear_authentication();
select is_empty($$select p.oid::regprocedure from pg_proc p
  where p.pronamespace = 'public'::regnamespace
    and p.proname in ('create_tenant', 'invite_member', 'revoke_invitation', 'accept_invitation',
      'my_invitations', 'change_member_role', 'remove_member', 'list_members')
    and (has_function_privilege('anon', p.oid, 'execute')
      or not has_function_privilege('authenticated', p.oid, 'execute')
      or not p.prosecdef or not p.proconfig @> array['search_path=""'])$$,
  'tenancy RPCs: authenticated only, security definer, empty search_path');

select * from finish();
rollback;
