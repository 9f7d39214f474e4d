-- Orders and appointments under RLS, tried by an owner, an agent, a member of another tenant (the
-- stranger), anon and the service role.
begin;
select plan(44);

select tests.rls_fixture();

-- Owner of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-owner@test.local');

select is(tests.rls_visible('orders', array[tests.rls_id('a.order')]), 1, 'owner: sees their orders');
select is(tests.rls_visible('orders', array[tests.rls_id('b.order')]), 0, 'owner: not another tenant''s');
select lives_ok($$insert into public.orders (tenant_id, contact_id, order_number, total)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'RLS-a-2', 25)$$, 'owner: can record an order');
select throws_ok($$insert into public.orders (tenant_id, contact_id, order_number)
  values (tests.rls_id('a.tenant'), tests.rls_id('b.contact'), 'RLS-a-3')$$,
  '42501', 'new row violates row-level security policy for table "orders"',
  'owner: cannot record an order for another tenant''s contact');
with u as (update public.orders set total = 12.5 where id = tests.rls_id('a.order') returning 1)
select is(count(*)::int, 1, 'owner: can update an order') from u;
with u as (update public.orders set total = 0 where id = tests.rls_id('b.order') returning 1)
select is(count(*)::int, 0, 'owner: cannot update another tenant''s order') from u;
select throws_ok($$update public.orders set tenant_id = tests.rls_id('b.tenant') where id = tests.rls_id('a.order')$$,
  '42501', null, 'owner: cannot move an order to another tenant');
select throws_ok($$delete from public.orders where id = tests.rls_id('a.order')$$,
  '42501', null, 'owner: cannot delete an order (cancel it)');

select is(tests.rls_visible('appointments', array[tests.rls_id('a.appointment')]), 1, 'owner: sees their appointments');
select is(tests.rls_visible('appointments', array[tests.rls_id('b.appointment')]), 0, 'owner: not another tenant''s');
select lives_ok($$insert into public.appointments (tenant_id, contact_id, service, starts_at)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'Colour', now() + interval '20 days')$$,
  'owner: can book an appointment');
select throws_ok($$insert into public.appointments (tenant_id, contact_id, service, starts_at)
  values (tests.rls_id('b.tenant'), tests.rls_id('b.contact'), 'Colour', now() + interval '20 days')$$,
  '42501', 'new row violates row-level security policy for table "appointments"',
  'owner: cannot book in another tenant (WITH CHECK)');
with u as (update public.appointments set notes = 'Bring photos' where id = tests.rls_id('a.appointment') returning 1)
select is(count(*)::int, 1, 'owner: can update an appointment') from u;
with u as (update public.appointments set notes = 'x' where id = tests.rls_id('b.appointment') returning 1)
select is(count(*)::int, 0, 'owner: cannot update another tenant''s appointment') from u;
select throws_ok($$update public.appointments set contact_id = tests.rls_id('b.contact') where id = tests.rls_id('a.appointment')$$,
  '42501', null, 'owner: cannot re-point an appointment at another contact');
select throws_ok($$delete from public.appointments where id = tests.rls_id('a.appointment')$$,
  '42501', null, 'owner: cannot delete an appointment (cancel it)');

-- Agent of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-agent@test.local');

select is(tests.rls_visible('orders', array[tests.rls_id('a.order')]), 1, 'agent: sees orders');
select lives_ok($$insert into public.orders (tenant_id, contact_id, order_number)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'RLS-a-4')$$, 'agent: can record an order');
with u as (update public.orders set tracking_number = '1Z999' where id = tests.rls_id('a.order') returning 1)
select is(count(*)::int, 1, 'agent: can update an order') from u;
select throws_ok($$delete from public.orders where id = tests.rls_id('a.order')$$,
  '42501', null, 'agent: cannot delete an order');

select is(tests.rls_visible('appointments', array[tests.rls_id('a.appointment')]), 1, 'agent: sees appointments');
select lives_ok($$insert into public.appointments (tenant_id, contact_id, service, starts_at)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'Trim', now() + interval '30 days')$$,
  'agent: can book an appointment');
with u as (update public.appointments set duration_minutes = 45 where id = tests.rls_id('a.appointment') returning 1)
select is(count(*)::int, 1, 'agent: can update an appointment') from u;
select throws_ok($$delete from public.appointments where id = tests.rls_id('a.appointment')$$,
  '42501', null, 'agent: cannot delete an appointment');

-- Stranger: owner of B ----------------------------------------------------------------------------
select tests.authenticate_as('rls-b-owner@test.local');

select is(tests.rls_visible('orders', array[tests.rls_id('a.order')]), 0, 'stranger: sees none of A''s orders');
select throws_ok($$insert into public.orders (tenant_id, contact_id, order_number)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'RLS-x')$$, '42501', null,
  'stranger: cannot record an order in A');
with u as (update public.orders set total = 0 where id = tests.rls_id('a.order') returning 1)
select is(count(*)::int, 0, 'stranger: cannot update A''s order') from u;
select throws_ok($$delete from public.orders where id = tests.rls_id('a.order')$$,
  '42501', null, 'stranger: cannot delete orders');

select is(tests.rls_visible('appointments', array[tests.rls_id('a.appointment')]), 0, 'stranger: sees none of A''s appointments');
select throws_ok($$insert into public.appointments (tenant_id, contact_id, service, starts_at)
  values (tests.rls_id('b.tenant'), tests.rls_id('a.contact'), 'x', now() + interval '5 days')$$, '42501', null,
  'stranger: cannot book A''s contact under their own tenant');
with u as (update public.appointments set status = 'canceled' where id = tests.rls_id('a.appointment') returning 1)
select is(count(*)::int, 0, 'stranger: cannot cancel A''s appointment') from u;
select throws_ok($$delete from public.appointments where id = tests.rls_id('a.appointment')$$,
  '42501', null, 'stranger: cannot delete appointments');

-- Anon --------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();

select throws_ok($$select * from public.orders$$, '42501', null, 'anon: cannot read orders');
select throws_ok($$insert into public.orders (tenant_id, contact_id, order_number)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'x')$$, '42501', null, 'anon: cannot insert orders');
select throws_ok($$update public.orders set total = 0$$, '42501', null, 'anon: cannot update orders');
select throws_ok($$delete from public.orders$$, '42501', null, 'anon: cannot delete orders');
select throws_ok($$select * from public.appointments$$, '42501', null, 'anon: cannot read appointments');
select throws_ok($$insert into public.appointments (tenant_id, contact_id, service, starts_at)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'x', now())$$, '42501', null,
  'anon: cannot insert appointments');
select throws_ok($$update public.appointments set notes = 'x'$$, '42501', null, 'anon: cannot update appointments');
select throws_ok($$delete from public.appointments$$, '42501', null, 'anon: cannot delete appointments');

-- Service role ------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();

select is(tests.rls_visible('orders', array[tests.rls_id('a.order'), tests.rls_id('b.order')]), 2,
  'service role: sees every order');
select is(tests.rls_visible('appointments', array[tests.rls_id('a.appointment'), tests.rls_id('b.appointment')]), 2,
  'service role: sees every appointment');

-- The agent's change really landed (not just "one row matched").
select tests.clear_authentication();
select is((select tracking_number from public.orders where id = tests.rls_id('a.order')), '1Z999',
  'the agent''s order update was stored');
select is((select duration_minutes from public.appointments where id = tests.rls_id('a.appointment')), 45,
  'the agent''s appointment update was stored');

select * from finish();
rollback;
