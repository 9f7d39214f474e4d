-- Team invitations (migrations/20261202400000_tenant_invitations.sql), per actor: the owner who
-- invites, an agent of the same business, the owner of another business, anon, and the invitee —
-- including someone who only typed the invitee's address into a sign-up form and never confirmed
-- it. Also that nothing answers whether an address has an account.
begin;
select plan(36);

select tests.rls_fixture();
select tests.create_user('inv-invitee@test.local');
-- A sign-up for the invitee's second address that was never confirmed (an attacker's claim).
select tests.create_user('inv-squat@test.local');
update auth.users set email_confirmed_at = null where email = 'inv-squat@test.local';

-- Anon ----------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'x@test.local', 'agent')$$,
  '42501', null, 'anon: cannot invite');
select throws_ok($$select public.accept_invitation(gen_random_uuid())$$, '42501', null,
  'anon: cannot accept');
select throws_ok($$select * from public.tenant_invitations$$, '42501', null,
  'anon: cannot read invitations');

-- Owner invites ------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-owner@test.local');
select tests.rls_put('inv.1',
  (public.invite_member(tests.rls_id('a.tenant'), '  INV-Invitee@Test.Local ', 'agent')).id);
select is((select email from public.tenant_invitations where id = tests.rls_id('inv.1')),
  'inv-invitee@test.local', 'owner: the address is stored trimmed and lower-cased');
select tests.rls_put('inv.nobody',
  (public.invite_member(tests.rls_id('a.tenant'), 'nobody-has-this@test.local', 'agent')).id);
select is((select count(*)::int from public.tenant_invitations i
  where i.tenant_id = tests.rls_id('a.tenant')), 2,
  'owner: an address with an account and one without are invited alike (no account lookup)');
select is((select count(*)::int from public.tenant_members m
  where m.user_id = tests.user_id('inv-invitee@test.local')), 0,
  'owner: inviting adds nobody to the team');
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'inv-invitee@test.local', 'agent')$$,
  'PT429', 'an invitation to inv-invitee@test.local was sent less than a minute ago',
  'owner: the same address cannot be mailed again within a minute');
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'rls-a-agent@test.local', 'agent')$$,
  '23505', 'rls-a-agent@test.local is already a member of this tenant',
  'owner: an existing team member is refused (the owner already sees the team)');
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'xx:;x@x.x', 'agent')$$,
  '22023', null, 'owner: an address GoTrue would refuse is refused');
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'y@test.local', 'admin')$$,
  '22023', null, 'owner: an unknown role is refused');
select throws_ok($$insert into public.tenant_invitations (tenant_id, email, role)
  values (tests.rls_id('a.tenant'), 'direct@test.local', 'owner')$$, '42501', null,
  'owner: cannot insert an invitation directly');
select throws_ok($$update public.tenant_invitations set role = 'owner'$$, '42501', null,
  'owner: cannot update invitations directly');

-- Agent of the same business ------------------------------------------------------------------------
select tests.authenticate_as('rls-a-agent@test.local');
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'z@test.local', 'owner')$$,
  '42501', null, 'agent: cannot invite');
select is((select count(*)::int from public.tenant_invitations), 0, 'agent: sees no invitations');
select throws_ok($$select public.revoke_invitation(tests.rls_id('inv.nobody'))$$, '42501', null,
  'agent: cannot revoke');

-- Owner of another business -------------------------------------------------------------------------
select tests.authenticate_as('rls-b-owner@test.local');
select is((select count(*)::int from public.tenant_invitations), 0,
  'another business: sees none of A''s invitations');
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'w@test.local', 'owner')$$,
  '42501', null, 'another business: cannot invite into A');
select throws_ok($$select public.revoke_invitation(tests.rls_id('inv.1'))$$, '42501', null,
  'another business: cannot revoke A''s invitation');
select throws_ok($$select public.accept_invitation(tests.rls_id('inv.1'))$$, 'P0002', null,
  'another business: the link alone does not let them in');

-- Someone who signed up with an address they cannot read -------------------------------------------
select tests.authenticate_as('rls-a-owner@test.local');
select tests.rls_put('inv.squat',
  (public.invite_member(tests.rls_id('a.tenant'), 'inv-squat@test.local', 'owner')).id);
select tests.authenticate_as('inv-squat@test.local');
select is((select count(*)::int from public.tenant_invitations), 0,
  'unconfirmed address: sees no invitation');
select throws_ok($$select public.accept_invitation(tests.rls_id('inv.squat'))$$, 'P0002', null,
  'unconfirmed address: cannot accept the invitation to it');
select is((select count(*)::int from public.my_invitations()), 0,
  'unconfirmed address: my_invitations is empty');

-- The invitee ---------------------------------------------------------------------------------------
select tests.authenticate_as('inv-invitee@test.local');
select is((select count(*)::int from public.tenant_invitations), 1,
  'invitee: sees the invitation to their address');
select results_eq($$select tenant_name, role from public.my_invitations()$$,
  $$values ('RLS a'::text, 'agent'::text)$$, 'invitee: my_invitations names the business and role');
select is((public.accept_invitation(tests.rls_id('inv.1'))).role, 'agent',
  'invitee: accepting makes them a member with the invited role');
select ok(private.is_member(tests.rls_id('a.tenant')), 'invitee: is now a member');
select throws_ok($$select public.accept_invitation(tests.rls_id('inv.1'))$$, 'P0002', null,
  'invitee: an invitation works once');
select throws_ok($$select public.accept_invitation(tests.rls_id('inv.nobody'))$$, 'P0002', null,
  'invitee: an invitation to another address does not work for them');

-- Expiry and revocation ----------------------------------------------------------------------------
select tests.create_user('inv-late@test.local');
select tests.create_user('inv-revoked@test.local');
select tests.authenticate_as('rls-a-owner@test.local');
select tests.rls_put('inv.late',
  (public.invite_member(tests.rls_id('a.tenant'), 'inv-late@test.local', 'agent')).id);
select tests.rls_put('inv.revoked',
  (public.invite_member(tests.rls_id('a.tenant'), 'inv-revoked@test.local', 'agent')).id);
select is((public.revoke_invitation(tests.rls_id('inv.revoked'))).revoked_at is not null, true,
  'owner: revokes an open invitation');
select throws_ok($$select public.revoke_invitation(tests.rls_id('inv.revoked'))$$, 'P0002', null,
  'owner: a revoked invitation cannot be revoked again');
reset role;
update public.tenant_invitations set expires_at = now() - interval '1 second'
where id = tests.rls_id('inv.late');
select tests.authenticate_as('inv-late@test.local');
select throws_ok($$select public.accept_invitation(tests.rls_id('inv.late'))$$, 'P0002',
  'this invitation has expired; ask an owner to send a new one', 'invitee: an expired invitation fails');
select is((select count(*)::int from public.my_invitations()), 0,
  'invitee: an expired invitation is not offered');
select tests.authenticate_as('inv-revoked@test.local');
select throws_ok($$select public.accept_invitation(tests.rls_id('inv.revoked'))$$, 'P0002', null,
  'invitee: a revoked invitation fails');
select ok(not private.is_member(tests.rls_id('a.tenant')), 'invitee: after a revoked invitation, not a member');

select tests.authenticate_as('rls-a-owner@test.local');
-- Throttle: 20 sends per tenant per hour.
select lives_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'bulk' || g || '@test.local', 'agent')
  from generate_series(1, 15) g$$, 'owner: up to 20 invitations an hour');
select throws_ok($$select public.invite_member(tests.rls_id('a.tenant'), 'bulk-over@test.local', 'agent')$$,
  'PT429', null, 'owner: the 21st invitation within an hour is refused');

select * from finish();
rollback;
