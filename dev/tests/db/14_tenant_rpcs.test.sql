-- create_tenant, invite_member (members join by accepting: dev/tests/db/17_invitations), change_member_role and remove_member: who may call them, what they
-- do, and the rule that a tenant always keeps an owner.
begin;
select plan(35);

select tests.create_user('rpc-1@test.local');
select tests.create_user('rpc-2@test.local');
select tests.create_user('rpc-3@test.local');
select tests.create_user('rpc-4@test.local');

-- Anon may call none of them ------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.create_tenant('Anon Shop')$$, '42501', null, 'anon: cannot create a tenant');
select throws_ok($$select public.invite_member(gen_random_uuid(), 'rpc-1@test.local', 'agent')$$,
  '42501', null, 'anon: cannot invite members');
select throws_ok($$select public.change_member_role(gen_random_uuid(), gen_random_uuid(), 'agent')$$,
  '42501', null, 'anon: cannot change roles');
select throws_ok($$select public.remove_member(gen_random_uuid(), gen_random_uuid())$$,
  '42501', null, 'anon: cannot remove members');

-- create_tenant -------------------------------------------------------------------------------------
select tests.authenticate_as('rpc-1@test.local');
select lives_ok($$select tests.rls_put('rpc.t1', (public.create_tenant('RPC Test: Salon & Spa')).id)$$,
  'a signed-in user can create a tenant');
select is((select slug from public.tenants where id = tests.rls_id('rpc.t1')), 'rpc-test-salon-spa',
  'the slug is derived from the name');
select is((select role from public.tenant_members where tenant_id = tests.rls_id('rpc.t1')
  and user_id = tests.user_id('rpc-1@test.local')), 'owner', 'the creator is its owner');
select ok(private.is_owner(tests.rls_id('rpc.t1')), 'is_owner() agrees');
select is((select name from public.tenants where id = tests.rls_id('rpc.t1')), 'RPC Test: Salon & Spa',
  'the creator can read the new tenant through RLS');

select tests.authenticate_as('rpc-2@test.local');
select is((public.create_tenant('RPC test salon spa')).slug, 'rpc-test-salon-spa-2',
  'a taken derived slug gets a number');
select is((public.create_tenant('  RPC Test -- Salon/Spa  ')).slug, 'rpc-test-salon-spa-3',
  'and the next one the next number');
select is((public.create_tenant('RPC Explicit', 'rpc-explicit-slug')).slug, 'rpc-explicit-slug',
  'an explicit slug is used as given');
select throws_ok($$select public.create_tenant('Other', 'rpc-explicit-slug')$$,
  '23505', 'slug already taken: rpc-explicit-slug', 'a taken explicit slug is an error');
select throws_ok($$select public.create_tenant('Other', 'Not a slug!')$$,
  '22023', null, 'an invalid explicit slug is an error');
select throws_ok($$select public.create_tenant('   ')$$,
  '22023', 'a tenant name needs 1 to 200 characters', 'a blank name is an error');
select ok((public.create_tenant('!!')).slug ~ '^tenant(-[0-9]+)?$',
  'a name without letters or digits still gets a valid slug');

-- Members (added here directly; invitations are tested in 17_invitations) ---------------------------
reset role;
insert into public.tenant_members (tenant_id, user_id, role) values
  (tests.rls_id('rpc.t1'), tests.user_id('rpc-2@test.local'), 'agent'),
  (tests.rls_id('rpc.t1'), tests.user_id('rpc-3@test.local'), 'agent');
select ok(not exists (select 1 from pg_proc where proname = 'add_member'),
  'add_member (which revealed accounts and added people unasked) is gone');
select tests.authenticate_as('rpc-2@test.local');
select throws_ok($$select public.invite_member(tests.rls_id('rpc.t1'), 'rpc-4@test.local', 'agent')$$,
  '42501', 'only an owner of the tenant can manage its members', 'an agent cannot invite members');
select tests.authenticate_as('rpc-4@test.local');
select throws_ok($$select public.invite_member(tests.rls_id('rpc.t1'), 'rpc-4@test.local', 'owner')$$,
  '42501', 'only an owner of the tenant can manage its members', 'a stranger cannot invite themselves');

-- list_members ------------------------------------------------------------------------------------
select tests.authenticate_as('rpc-3@test.local');
select results_eq($$select email, role from public.list_members(tests.rls_id('rpc.t1'))$$,
  $$values ('rpc-1@test.local', 'owner'), ('rpc-2@test.local', 'agent'), ('rpc-3@test.local', 'agent')$$,
  'a member lists the members with emails, owners first');
select tests.authenticate_as('rpc-4@test.local');
select throws_ok($$select * from public.list_members(tests.rls_id('rpc.t1'))$$,
  '42501', 'only members of the tenant can list its members', 'a stranger cannot list them');

-- change_member_role ----------------------------------------------------------------------------------
select throws_ok($$select public.change_member_role(tests.rls_id('rpc.t1'), tests.user_id('rpc-4@test.local'), 'owner')$$,
  '42501', null, 'a stranger cannot change roles');
select tests.authenticate_as('rpc-2@test.local');
select throws_ok($$select public.change_member_role(tests.rls_id('rpc.t1'), tests.user_id('rpc-2@test.local'), 'owner')$$,
  '42501', null, 'an agent cannot promote themselves');

select tests.authenticate_as('rpc-1@test.local');
select throws_ok($$select public.change_member_role(tests.rls_id('rpc.t1'), tests.user_id('rpc-1@test.local'), 'agent')$$,
  '23514', 'a tenant must keep at least one owner', 'the last owner cannot be demoted');
select is((public.change_member_role(tests.rls_id('rpc.t1'), tests.user_id('rpc-2@test.local'), 'owner')).role,
  'owner', 'an owner can promote an agent');
select is((public.change_member_role(tests.rls_id('rpc.t1'), tests.user_id('rpc-1@test.local'), 'agent')).role,
  'agent', 'with another owner, an owner can step down');
select throws_ok($$select public.change_member_role(tests.rls_id('rpc.t1'), tests.user_id('rpc-4@test.local'), 'agent')$$,
  '42501', null, 'the former owner, now an agent, can no longer change roles');

-- remove_member ---------------------------------------------------------------------------------------
select tests.authenticate_as('rpc-2@test.local');
select throws_ok($$select public.remove_member(tests.rls_id('rpc.t1'), tests.user_id('rpc-2@test.local'))$$,
  '23514', 'a tenant must keep at least one owner', 'the last owner cannot leave');
select throws_ok($$select public.change_member_role(tests.rls_id('rpc.t1'), tests.user_id('rpc-2@test.local'), 'agent')$$,
  '23514', 'a tenant must keep at least one owner', 'nor step down');
select throws_ok($$select public.remove_member(tests.rls_id('rpc.t1'), tests.user_id('rpc-4@test.local'))$$,
  'P0002', null, 'removing a non-member is a clear error');
select lives_ok($$select public.remove_member(tests.rls_id('rpc.t1'), tests.user_id('rpc-1@test.local'))$$,
  'an owner can remove a member');

select tests.authenticate_as('rpc-3@test.local');
select throws_ok($$select public.remove_member(tests.rls_id('rpc.t1'), tests.user_id('rpc-2@test.local'))$$,
  '42501', null, 'an agent cannot remove others');
select lives_ok($$select public.remove_member(tests.rls_id('rpc.t1'), tests.user_id('rpc-3@test.local'))$$,
  'an agent can leave');
select is(tests.rls_visible('tenants', array[tests.rls_id('rpc.t1')]), 0, 'after leaving, the tenant is out of sight');

select tests.clear_authentication();
select is((select array_agg(u.email::text order by u.email) from public.tenant_members m
  join auth.users u on u.id = m.user_id where m.tenant_id = tests.rls_id('rpc.t1')),
  array['rpc-2@test.local'], 'the tenant ends with its one remaining owner');

select * from finish();
rollback;
