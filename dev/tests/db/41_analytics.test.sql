-- public.analytics on a small hand-counted fixture, through RLS as the tenant's members; who may
-- ask; which windows exist.
begin;
select plan(30);

select tests.cron_tenant('stats-shop', 'stats-owner@test.local') as t \gset
select tests.cron_tenant('stats-other', 'stats-stranger@test.local') as t_other \gset
select tests.cron_member(:'t', 'stats-agent@test.local', 'agent') as agent \gset

select tests.cron_contact(:'t', 'Xena', '+15550410001', true, '{}', '{}', 'xena@example.com') as x \gset
insert into public.conversations (tenant_id, contact_id, channel) values (:'t', :'x', 'sms') returning id as c_sms \gset
insert into public.conversations (tenant_id, contact_id, channel) values (:'t', :'x', 'whatsapp') returning id as c_wa \gset
insert into public.conversations (tenant_id, contact_id, channel) values (:'t', :'x', 'email') returning id as c_mail \gset
-- Noise in another tenant that must not be counted.
select tests.cron_contact(:'t_other', 'Yan', '+15550410002', true) as y \gset
select tests.cron_conversation(:'t_other', :'y', 'sms', interval '1 day') as c_other \gset

-- The fixture (created_at explicit; statuses as history):
--   sms:      inbound 2 days ago; manual reply 300 s later, delivered; a bulk row failed; a
--             reminder undelivered; a manual row still queued (after the reply)
--   whatsapp: inbound 1 day ago; auto_reply 60 s later, read
--   email:    inbound 3 days ago, never answered; a transactional row sent
--   40 days ago: one more inbound sms (outside 30 days, inside 90)
-- Anchored at 10:00 UTC (the tenant's timezone) so no row crosses midnight whenever this runs.
select date_trunc('day', now()) + interval '10 hours' as ten \gset
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status, created_at)
values
  (:'t', :'c_sms', :'x', 'inbound', 'sms', 'inbound', 'q1', 'received', (:'ten'::timestamptz - interval '2 days')),
  (:'t', :'c_sms', :'x', 'outbound', 'sms', 'manual', 'a1', 'delivered', (:'ten'::timestamptz - interval '2 days') + interval '300 seconds'),
  (:'t', :'c_sms', :'x', 'outbound', 'sms', 'bulk', 'b', 'failed', (:'ten'::timestamptz - interval '2 days') + interval '1 hour'),
  (:'t', :'c_sms', :'x', 'outbound', 'sms', 'reminder', 'r', 'undelivered', (:'ten'::timestamptz - interval '2 days') + interval '2 hours'),
  (:'t', :'c_wa', :'x', 'inbound', 'whatsapp', 'inbound', 'q2', 'received', (:'ten'::timestamptz - interval '1 day')),
  (:'t', :'c_wa', :'x', 'outbound', 'whatsapp', 'auto_reply', 'a2', 'read', (:'ten'::timestamptz - interval '1 day') + interval '60 seconds'),
  (:'t', :'c_mail', :'x', 'inbound', 'email', 'inbound', 'q3', 'received', (:'ten'::timestamptz - interval '3 days')),
  (:'t', :'c_mail', :'x', 'outbound', 'email', 'transactional', 't', 'sent', (:'ten'::timestamptz - interval '3 days') + interval '1 hour'),
  (:'t', :'c_sms', :'x', 'inbound', 'sms', 'inbound', 'old', 'received', now() - interval '40 days');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
values (:'t', :'c_sms', :'x', 'outbound', 'sms', 'manual', 'later', 'queued');

-- As the owner, through RLS ----------------------------------------------------------------------
select tests.authenticate_as('stats-owner@test.local');
select is((public.analytics(:'t', 30) ->> 'sent')::integer, 4,
  'sent: delivered + read + undelivered + sent rows');
select is((public.analytics(:'t', 30) ->> 'received')::integer, 3, 'received: inbound rows in 30 days');
select is((public.analytics(:'t', 30) ->> 'delivered')::integer, 2, 'delivered: delivered + read');
select is((public.analytics(:'t', 30) ->> 'delivered_rate')::numeric, 0.5, 'delivered rate 2/4');
select is((public.analytics(:'t', 30) ->> 'failed')::integer, 2, 'failed: failed + undelivered');
select is((public.analytics(:'t', 30) ->> 'conversations_with_inbound')::integer, 3,
  'three conversations had inbound messages');
select is((public.analytics(:'t', 30) ->> 'responded_conversations')::integer, 2,
  'two got a human or AI reply');
select is((public.analytics(:'t', 30) ->> 'response_rate')::numeric, 0.6667, 'response rate 2/3');
select is((public.analytics(:'t', 30) #>> '{first_response_seconds,mean}')::numeric, 180.0,
  'mean first response (300 s + 60 s) / 2');
select is((public.analytics(:'t', 30) #>> '{first_response_seconds,median}')::numeric, 180.0,
  'median first response');
select is(public.analytics(:'t', 30) -> 'by_channel' -> 'sms',
  '{"sent": 2, "received": 1, "delivered": 1, "failed": 2}'::jsonb, 'sms figures');
select is(public.analytics(:'t', 30) -> 'by_channel' -> 'whatsapp',
  '{"sent": 1, "received": 1, "delivered": 1, "failed": 0}'::jsonb, 'whatsapp figures');
select is(public.analytics(:'t', 30) -> 'by_channel' -> 'email',
  '{"sent": 1, "received": 1, "delivered": 0, "failed": 0}'::jsonb, 'email figures');
select is(public.analytics(:'t', 30) -> 'by_status',
  '{"scheduled": 0, "queued": 1, "sending": 0, "sent": 1, "delivered": 1, "read": 1, "failed": 1,
    "undelivered": 1, "canceled": 0}'::jsonb,
  'outbound rows per status, zeros included');
select is(jsonb_array_length(public.analytics(:'t', 30) -> 'daily'), 30, 'one daily entry per day');
select is(
  (select d from jsonb_array_elements(public.analytics(:'t', 30) -> 'daily') d
   where d ->> 'date' = ((:'ten'::timestamptz - interval '2 days'))::date::text),
  jsonb_build_object('date', ((:'ten'::timestamptz - interval '2 days'))::date, 'sent', 2, 'received', 1, 'failed', 2),
  'the day two days ago: the reply and the undelivered reminder sent, one received, two failed');
select is(
  (select sum((d ->> 'received')::integer)::integer from jsonb_array_elements(public.analytics(:'t', 30) -> 'daily') d),
  3, 'the daily series adds up to the total');
select is((public.analytics(:'t', 90) ->> 'received')::integer, 4, '90 days include the old message');
select is((public.analytics(:'t', 7) ->> 'received')::integer, 3, '7 days do not');
select is(jsonb_array_length(public.analytics(:'t', 365) -> 'daily'), 365, '365 daily entries');
select throws_ok(format('select public.analytics(%L, 10)', :'t'), '22023', null,
  'a window other than 7/30/90/365 days is refused');
select throws_ok(format('select public.analytics(%L, null)', :'t'), '22023', null, 'so is null');

-- As the agent: the same numbers --------------------------------------------------------------------
select tests.authenticate_as('stats-agent@test.local');
select is((public.analytics(:'t', 30) ->> 'sent')::integer, 4, 'an agent sees the same figures');
select is((public.analytics(:'t', 30) ->> 'response_rate')::numeric, 0.6667, 'including the response rate');

-- A member of another tenant, anon, the service role ----------------------------------------------
select tests.authenticate_as('stats-stranger@test.local');
select throws_ok(format('select public.analytics(%L, 30)', :'t'), '42501', 'not a member of this tenant',
  'a member of another tenant gets an error, not zeros');
select is((public.analytics(:'t_other', 30) ->> 'received')::integer, 1,
  'and their own tenant''s figures do not include ours');
select tests.authenticate_as_anon();
select throws_ok(format('select public.analytics(%L, 30)', :'t'), '42501', null, 'anon cannot call it');
select tests.authenticate_as_service_role();
select is((public.analytics(:'t', 30) ->> 'sent')::integer, 4, 'the service role can ask about any tenant');
select tests.clear_authentication();

-- An empty tenant: zeros and nulls, not errors.
delete from public.messages where tenant_id = :'t_other';
select tests.authenticate_as('stats-stranger@test.local');
select is(public.analytics(:'t_other', 7) ->> 'delivered_rate', null,
  'no sends: the delivered rate is null rather than a division by zero');
select is((public.analytics(:'t_other', 7) ->> 'sent')::integer, 0, 'and sent is 0');
select tests.clear_authentication();

select * from finish();
rollback;
