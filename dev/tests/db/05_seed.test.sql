-- seed.sql (applied to the test cluster like to `task dev`'s) gives the demo what it promises.
begin;
select plan(12);

select ok(exists (select 1 from auth.users where email = 'demo@switchboard.local'
    and encrypted_password = extensions.crypt('switchboard-demo', encrypted_password)
    and email_confirmed_at is not null),
  'demo@switchboard.local signs in with switchboard-demo');
select ok(exists (select 1 from auth.identities i join auth.users u on u.id = i.user_id
    where u.email = 'demo@switchboard.local' and i.provider = 'email'),
  'the demo user has an email identity, as GoTrue creates');

create temp table demo as
  select m.tenant_id as id from public.tenant_members m join auth.users u on u.id = m.user_id
  where u.email = 'demo@switchboard.local' and m.role = 'owner';
select is((select count(*)::int from demo), 1, 'the demo owner owns one business');
select is((select m.role from public.tenant_members m join auth.users u on u.id = m.user_id
    where u.email = 'agent@switchboard.local' and m.tenant_id = (select id from demo)),
  'agent', 'agent@switchboard.local is its agent');
select ok(exists (select 1 from public.tenant_members m join auth.users u on u.id = m.user_id
    where u.email = 'other@switchboard.local' and m.role = 'owner'
      and m.tenant_id <> (select id from demo)),
  'other@switchboard.local owns another business');

select cmp_ok((select count(*)::int from public.contacts where tenant_id = (select id from demo)),
  '>=', 50, 'about 50 contacts');
select is((select array_agg(distinct channel order by channel) from public.conversations
    where tenant_id = (select id from demo)), array['email', 'sms', 'whatsapp'],
  'conversations on SMS, WhatsApp and email');
select is((select array_agg(distinct direction order by direction) from public.messages
    where tenant_id = (select id from demo)), array['inbound', 'outbound'],
  'history in both directions');
select cmp_ok((select count(distinct status)::int from public.messages
    where tenant_id = (select id from demo) and direction = 'outbound'), '>=', 3,
  'outbound messages in several statuses');
select cmp_ok((select count(*)::int from public.appointments
    where tenant_id = (select id from demo) and starts_at > now() and status in ('booked', 'confirmed')),
  '>', 0, 'upcoming appointments');
select cmp_ok((select count(distinct status)::int from public.orders where tenant_id = (select id from demo)),
  '>=', 3, 'orders in several states');
select cmp_ok((select count(*)::int from public.templates where tenant_id = (select id from demo)),
  '>', 0, 'templates');

select * from finish();
rollback;
