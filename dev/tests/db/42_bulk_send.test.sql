-- public.bulk_send: audience by tags/attributes/consent, counts per skip reason, one message per
-- eligible contact, conversations created, scheduling, validation, and who may send.
begin;
select plan(32);

select tests.cron_tenant('bulk-shop', 'bulk-owner@test.local') as t \gset
select tests.cron_tenant('bulk-other', 'bulk-stranger@test.local') as t_other \gset
select tests.cron_member(:'t', 'bulk-agent@test.local', 'agent') as agent \gset

-- Audience "vip": Bea and Eli can receive; Cal has no promotional consent; Dee opted out of SMS;
-- Fay has no phone. Gil is not a vip.
select tests.cron_contact(:'t', 'Bea Stone', '+15550420001', true, '{vip}') as bea \gset
select tests.cron_contact(:'t', 'Cal', '+15550420002', false, '{vip}') as cal \gset
select tests.cron_contact(:'t', 'Dee', '+15550420003', true, '{vip}', '{}', null, '{sms}') as dee \gset
select tests.cron_contact(:'t', 'Eli Marsh', '+15550420004', true, '{vip,new}', '{"city": "Paris"}') as eli \gset
select tests.cron_contact(:'t', 'Fay', null, true, '{vip}', '{}', 'fay@example.com') as fay \gset
select tests.cron_contact(:'t', 'Gil', '+15550420006', true, '{regular}') as gil \gset
-- Bea already has an SMS conversation; Eli does not.
select tests.cron_conversation(:'t', :'bea', 'sms', interval '2 days') as c_bea \gset
select tests.cron_contact(:'t_other', 'Other', '+15550420007', true, '{vip}') as other \gset
insert into public.templates (tenant_id, name, body) values (:'t_other', 'Theirs', 'Hi {first_name}')
returning id as other_template \gset

-- As the owner ----------------------------------------------------------------------------------
select tests.authenticate_as('bulk-owner@test.local');
select public.bulk_send(:'t', 'sms', 'Hi {first_name}, 20% off at {business_name} this week!',
  p_tags => '{vip}', p_name => 'Spring promo') as r \gset
select is((:'r'::jsonb ->> 'targeted')::integer, 5, 'five vips are targeted');
select is((:'r'::jsonb ->> 'queued')::integer, 2, 'two messages are queued');
select is(:'r'::jsonb -> 'skipped',
  '{"no_promotional_consent": 1, "opted_out": 1, "no_address": 1}'::jsonb,
  'the other three are skipped, counted by reason');
select is(
  (select array_agg(contact_id order by contact_id) from public.messages
   where bulk_send_id = (:'r'::jsonb ->> 'bulk_send_id')::uuid),
  (select array_agg(id order by id) from unnest(array[:'bea'::uuid, :'eli'::uuid]) id),
  'exactly Bea and Eli get a message');
select is(
  (select body from public.messages where bulk_send_id = (:'r'::jsonb ->> 'bulk_send_id')::uuid
   and contact_id = :'bea'),
  'Hi Bea, 20% off at Bulk Shop this week!', 'the body is rendered per contact');
select is(
  (select array_agg(distinct kind || '/' || status || '/' || direction || '/' || channel)
   from public.messages where bulk_send_id = (:'r'::jsonb ->> 'bulk_send_id')::uuid),
  array['bulk/queued/outbound/sms'], 'as queued outbound bulk SMS');
select is(
  (select conversation_id from public.messages where bulk_send_id = (:'r'::jsonb ->> 'bulk_send_id')::uuid
   and contact_id = :'bea'),
  :'c_bea'::uuid, 'in Bea''s existing conversation');
select is(
  (select count(*)::integer from public.conversations where tenant_id = :'t' and contact_id = :'eli' and channel = 'sms'),
  1, 'and a new conversation for Eli');
select is(
  (select count(*)::integer from public.conversations where tenant_id = :'t' and contact_id in (:'cal', :'dee', :'fay')),
  0, 'skipped contacts get no conversation');
select is(
  (select jsonb_build_object('name', name, 'targeted', targeted, 'queued', queued, 'skipped', skipped,
     'created_by', created_by = tests.user_id('bulk-owner@test.local'), 'audience', audience)
   from public.bulk_sends where id = (:'r'::jsonb ->> 'bulk_send_id')::uuid),
  jsonb_build_object('name', 'Spring promo', 'targeted', 5, 'queued', 2,
    'skipped', '{"no_promotional_consent": 1, "opted_out": 1, "no_address": 1}'::jsonb,
    'created_by', true, 'audience', '{"tags": ["vip"], "attributes": {}}'::jsonb),
  'the bulk_sends row records the audience and the counts');

-- Attributes narrow the audience.
select is(public.bulk_send(:'t', 'sms', 'Bonjour', p_attributes => '{"city": "Paris"}') - 'bulk_send_id',
  '{"targeted": 1, "queued": 1, "skipped": {}}'::jsonb, 'attributes select Eli only');
select is((public.bulk_send(:'t', 'sms', 'Hi', p_tags => '{vip,new}') ->> 'targeted')::integer, 1,
  'several tags must all match');
select is((public.bulk_send(:'t', 'sms', 'Hi', p_tags => '{nobody}') - 'bulk_send_id'),
  '{"targeted": 0, "queued": 0, "skipped": {}}'::jsonb, 'an empty audience sends nothing');

-- Email reaches Fay (who has no phone), not the others without an email address.
select is((public.bulk_send(:'t', 'email', 'News', p_tags => '{vip}') -> 'skipped' ->> 'no_address')::integer, 3,
  'on email, Bea, Dee and Eli (no email address) are skipped as no_address');

-- WhatsApp free-form text outside the 24 h window is skipped.
select is((public.bulk_send(:'t', 'whatsapp', 'Hi', p_tags => '{vip}') -> 'skipped' ->> 'whatsapp_window_closed')::integer,
  3, 'WhatsApp free-form text to Bea, Dee and Eli (silent for 24 h) is skipped');

-- Scheduled for later.
select public.bulk_send(:'t', 'sms', 'Tomorrow!', p_tags => '{vip}',
  p_scheduled_for => now() + interval '1 day') as rs \gset
select is(
  (select array_agg(distinct status || ' ' || (scheduled_for = now() + interval '1 day')::text)
   from public.messages where bulk_send_id = (:'rs'::jsonb ->> 'bulk_send_id')::uuid),
  array['scheduled true'], 'with p_scheduled_for the rows are scheduled for then');
select is((:'rs'::jsonb ->> 'queued')::integer, 2, 'and count as queued');

-- A template of the tenant.
select public.bulk_send(:'t', 'sms', p_template_id => (select id from public.templates
  where tenant_id = :'t' and name = 'We miss you'), p_tags => '{vip}') as rt \gset
select matches(
  (select body from public.messages where bulk_send_id = (:'rt'::jsonb ->> 'bulk_send_id')::uuid and contact_id = :'eli'),
  '^Hi Eli, it has been a while! Bulk Shop', 'a template is rendered per contact');
select is(
  (select count(*)::integer from public.messages where bulk_send_id = (:'rt'::jsonb ->> 'bulk_send_id')::uuid
   and template_id is not null),
  2, 'and recorded on each message');

-- Validation.
select throws_ok(format('select public.bulk_send(%L, %L, p_template_id => %L)', :'t', 'sms', :'other_template'),
  '22023', 'template not found in this tenant', 'another tenant''s template is refused');
select throws_ok(format('select public.bulk_send(%L, %L)', :'t', 'sms'), '22023',
  'a body or a template is required', 'a body or a template is required');
select throws_ok(format('select public.bulk_send(%L, %L, %L)', :'t', 'fax', 'Hi'), '22023', null,
  'an unknown channel is refused');
select throws_ok(format('select public.bulk_send(%L, %L, %L)', :'t', 'sms', 'Hi {nickname}'), '22023', null,
  'an unknown variable is refused (render_template)');
select is(
  (select count(*)::integer from public.bulk_sends where tenant_id = :'t'),
  8, 'each campaign has its bulk_sends row');
select is((select count(*)::integer from public.messages where tenant_id = :'t_other'), 0,
  'nothing was sent in the other tenant');

-- Who may send ------------------------------------------------------------------------------------
select tests.authenticate_as('bulk-agent@test.local');
select throws_ok(format('select public.bulk_send(%L, %L, %L)', :'t', 'sms', 'Hi'), '42501',
  'only an owner of this tenant can send a bulk message', 'an agent cannot send a campaign');
select tests.authenticate_as('bulk-stranger@test.local');
select throws_ok(format('select public.bulk_send(%L, %L, %L)', :'t', 'sms', 'Hi'), '42501',
  'only an owner of this tenant can send a bulk message', 'an owner of another tenant cannot either');
select is((public.bulk_send(:'t_other', 'sms', 'Hi', p_tags => '{vip}') ->> 'queued')::integer, 1,
  'but they can in their own tenant');
select tests.authenticate_as_anon();
select throws_ok(format('select public.bulk_send(%L, %L, %L)', :'t', 'sms', 'Hi'), '42501', null,
  'anon cannot call it');
select tests.authenticate_as_service_role();
select is((public.bulk_send(:'t', 'sms', 'Service', p_tags => '{vip}') ->> 'queued')::integer, 2,
  'the service role can');
select throws_ok(format('select public.bulk_send(%L, %L, %L)', gen_random_uuid(), 'sms', 'Hi'), 'P0002',
  'no such tenant', 'a tenant that does not exist is an error');
select tests.clear_authentication();
select is(
  (select count(*)::integer from public.messages where body = 'Service' and sent_by is null),
  2, 'its messages have no sender user');

select * from finish();
rollback;
