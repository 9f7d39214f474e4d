-- AI auto-replies, the SQL side: which inbound messages enqueue an auto_reply (keywords, auto-
-- responders, repeats, echo, cap, pause, hand-off, business hours), one reply per burst, a human
-- reply pausing the AI, the prompt context (this conversation and contact only) and writing the
-- model's decision back.
begin;
select plan(56);

-- Fixtures: tenant A (auto-reply on) with two contacts, tenant B (on) for isolation.
create temp table ids (k text primary key, v uuid) on commit drop;
insert into ids values
  ('a', tests.inbound_tenant('ai70-a', '+14155550700')),
  ('b', tests.inbound_tenant('ai70-b', '+14155550799'));
update public.tenants set auto_reply_enabled = true, holding_message = null
where id in ((select v from ids where k = 'a'), (select v from ids where k = 'b'));

create function pg_temp.id(p text) returns uuid language sql as $$ select v from ids where k = p $$;
-- An inbound SMS from p_from to tenant A's number.
create function pg_temp.sms(p_from text, p_body text, p_to text default '+14155550700') returns jsonb
language sql as $$ select tests.sms_in(p_from, p_to, p_body) $$;
create function pg_temp.pending(p_conv uuid) returns bigint language sql as $$
  select count(*) from public.messages
  where conversation_id = p_conv and kind = 'auto_reply' and status = 'queued' $$;
create function pg_temp.replies(p_conv uuid) returns bigint language sql as $$
  select count(*) from public.messages where conversation_id = p_conv and kind = 'auto_reply' $$;

-- One inbound message -> one auto_reply ---------------------------------------------------------
select pg_temp.sms('+14155551001', 'Do you have time on Friday?') as r \gset first_
insert into ids values ('conv1', (:'first_r'::jsonb ->> 'conversation_id')::uuid);
select is(pg_temp.replies(pg_temp.id('conv1')), 1::bigint, 'an inbound message enqueues one auto_reply');
select is((select body from public.messages where conversation_id = pg_temp.id('conv1') and kind = 'auto_reply'),
  '', 'its body is empty until the dispatcher composes it');
select ok((select next_attempt_at > now() from public.messages
  where conversation_id = pg_temp.id('conv1') and kind = 'auto_reply'),
  'it is due after the debounce, not at once');
select is((select channel || '/' || direction || '/' || status from public.messages
  where conversation_id = pg_temp.id('conv1') and kind = 'auto_reply'),
  'sms/outbound/queued', 'on the inbound''s channel, queued');

select is((select last_message_preview from public.conversations where id = pg_temp.id('conv1')),
  'Do you have time on Friday?', 'the empty placeholder leaves the inbox preview alone');
select public.record_inbound('whatsapp', 'whatsapp:+14155551011', 'whatsapp:+14155550700', 'Hola, are you open?',
  'SMwa' || replace(gen_random_uuid()::text, '-', '')) as r \gset wa_
select is((select status || '/' || channel from public.messages
  where conversation_id = (:'wa_r'::jsonb ->> 'conversation_id')::uuid and kind = 'auto_reply'),
  'queued/whatsapp', 'a first WhatsApp message gets a queued reply (inside the 24 h window)');

-- Burst: two more messages before it is claimed -> still one, pushed back.
select next_attempt_at as before from public.messages
where conversation_id = pg_temp.id('conv1') and kind = 'auto_reply' \gset
select pg_temp.sms('+14155551001', 'Around 3pm');
select pg_temp.sms('+14155551001', 'for a haircut');
select is(pg_temp.replies(pg_temp.id('conv1')), 1::bigint, 'a burst of three inbound messages gets one auto_reply');
select ok((select next_attempt_at >= :'before'::timestamptz from public.messages
  where conversation_id = pg_temp.id('conv1') and kind = 'auto_reply'),
  'the burst pushes its due time, never earlier');

-- Debounce comes from private.settings.
insert into private.settings (key, value) values ('auto_reply_debounce_ms', '0')
on conflict (key) do update set value = excluded.value;
select is(private.auto_reply_debounce(), interval '0', 'the debounce is configurable (0 for benchmarks)');
delete from private.settings where key = 'auto_reply_debounce_ms';
select is(private.auto_reply_debounce(), interval '2 seconds', 'the default debounce is 2 s');

-- Keywords never reach the AI -------------------------------------------------------------------
select pg_temp.sms('+14155551002', 'STOP') as r \gset stop_
select is(pg_temp.replies((:'stop_r'::jsonb ->> 'conversation_id')::uuid), 0::bigint, 'STOP gets no auto_reply');
select pg_temp.sms('+14155551003', ' help! ') as r \gset help_
select is(pg_temp.replies((:'help_r'::jsonb ->> 'conversation_id')::uuid), 0::bigint, 'HELP gets no auto_reply');
select is((select count(*) from public.messages where conversation_id = (:'help_r'::jsonb ->> 'conversation_id')::uuid
  and automation_key = 'help_reply'), 1::bigint, 'HELP gets the tenant''s help text instead');
select pg_temp.sms('+14155551003', 'START') as r \gset start_
select is(pg_temp.replies((:'start_r'::jsonb ->> 'conversation_id')::uuid), 0::bigint, 'START gets no auto_reply');

-- Auto-responders -----------------------------------------------------------------------------------
select public.record_inbound(p_channel => 'email', p_from => 'Out Of Office <ooo@example.com>', p_to => null,
  p_body => 'I am away until Monday.', p_provider_sid => 'ai70-ooo', p_subject => 'Automatic reply',
  p_email_message_id => '<ooo@example.com>', p_auto_submitted => true, p_tenant_id => pg_temp.id('a')) as r \gset ooo_
select is(pg_temp.replies((:'ooo_r'::jsonb ->> 'conversation_id')::uuid), 0::bigint,
  'an Auto-Submitted email gets no auto_reply');
select is((select auto_submitted from public.messages where id = (:'ooo_r'::jsonb ->> 'message_id')::uuid),
  true, 'the inbound row records that it came from an auto-responder');
select public.record_inbound(p_channel => 'email', p_from => 'Real Person <real@example.com>', p_to => null,
  p_body => 'What are your opening hours?', p_provider_sid => 'ai70-real', p_subject => 'Hours',
  p_email_message_id => '<q1@example.com>', p_tenant_id => pg_temp.id('a')) as r \gset mail_
select is((select in_reply_to || ' ' || channel from public.messages
  where conversation_id = (:'mail_r'::jsonb ->> 'conversation_id')::uuid and kind = 'auto_reply'),
  '<q1@example.com> email', 'a person''s email gets an email auto_reply threaded to it');

-- The same text again and again (a bot), or our own text echoed --------------------------------
select pg_temp.sms('+14155551004', 'Your code is 1234') as r \gset rep_
insert into ids values ('rep', (:'rep_r'::jsonb ->> 'conversation_id')::uuid);
select pg_temp.sms('+14155551004', 'your code is  1234');
select pg_temp.sms('+14155551004', 'Your code is 1234') as r \gset rep3_
select is(private.auto_reply_skip_reason(m), 'repeated_text', 'the third identical inbound message in a row is a bot loop')
from public.messages m where m.id = (:'rep3_r'::jsonb ->> 'message_id')::uuid;
select is(pg_temp.replies(pg_temp.id('rep')), 1::bigint, 'the first of them was answered (one reply)');

select pg_temp.sms('+14155551005', 'hello') as r \gset echo_
insert into ids values ('echo', (:'echo_r'::jsonb ->> 'conversation_id')::uuid);
update public.messages set status = 'canceled' where conversation_id = pg_temp.id('echo') and kind = 'auto_reply';
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
select tenant_id, conversation_id, contact_id, 'outbound', 'sms', 'manual', 'Thanks, we will call you back.', 'queued'
from public.messages where id = (:'echo_r'::jsonb ->> 'message_id')::uuid;
select pg_temp.sms('+14155551005', 'Thanks, we will call you back.') as r \gset echo2_
select is(private.auto_reply_skip_reason(m), 'echo', 'our own last text echoed back is not answered')
from public.messages m where m.id = (:'echo2_r'::jsonb ->> 'message_id')::uuid;
select is(pg_temp.pending(pg_temp.id('echo')), 0::bigint, 'the echo enqueued nothing');

-- The cap: auto_reply_cap_per_hour claimed/sent auto-replies --------------------------------------
update public.tenants set auto_reply_cap_per_hour = 1 where id = pg_temp.id('a');
select pg_temp.sms('+14155551006', 'Question one') as r \gset cap_
insert into ids values ('cap', (:'cap_r'::jsonb ->> 'conversation_id')::uuid);
update public.messages set status = 'sending', attempts = 1
where conversation_id = pg_temp.id('cap') and kind = 'auto_reply';
update public.messages set status = 'sent', body = 'Answer one'
where conversation_id = pg_temp.id('cap') and kind = 'auto_reply';
select pg_temp.sms('+14155551006', 'Question two') as r \gset cap2_
select is(private.auto_reply_skip_reason(m), 'cap', 'the hourly cap stops further auto-replies')
from public.messages m where m.id = (:'cap2_r'::jsonb ->> 'message_id')::uuid;
select is(pg_temp.replies(pg_temp.id('cap')), 1::bigint, 'nothing beyond the cap is enqueued');
update public.tenants set auto_reply_cap_per_hour = 3 where id = pg_temp.id('a');
select pg_temp.sms('+14155551006', 'Question three');
select is(pg_temp.replies(pg_temp.id('cap')), 2::bigint, 'below the cap (default 3) it answers again');

-- A member's reply pauses the AI and cancels the waiting auto-reply ------------------------------
select tests.create_user('ai70-agent@test.local') as agent \gset
insert into public.tenant_members (tenant_id, user_id, role) values (pg_temp.id('a'), :'agent', 'agent');
select tests.authenticate_as('ai70-agent@test.local');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status, sent_by)
select tenant_id, conversation_id, contact_id, 'outbound', 'sms', 'manual', 'Friday 3pm works!', 'queued', :'agent'
from public.messages where id = (:'first_r'::jsonb ->> 'message_id')::uuid;
select tests.clear_authentication();
select is((select status || '/' || error_code from public.messages
  where conversation_id = pg_temp.id('conv1') and kind = 'auto_reply'),
  'canceled/human_replied', 'a member''s reply cancels the waiting auto_reply');
select ok((select ai_paused_until between now() + interval '59 minutes' and now() + interval '61 minutes'
  from public.conversations where id = pg_temp.id('conv1')), 'and pauses the AI for ai_pause_minutes (60)');
select pg_temp.sms('+14155551001', 'Great, see you then') as r \gset after_
select is(private.auto_reply_skip_reason(m), 'ai_paused', 'while paused, inbound messages get no auto_reply')
from public.messages m where m.id = (:'after_r'::jsonb ->> 'message_id')::uuid;
select is(pg_temp.pending(pg_temp.id('conv1')), 0::bigint, 'nothing is waiting in the paused conversation');

-- Conversation and tenant switches ------------------------------------------------------------------
update public.conversations set needs_human = true where id = pg_temp.id('rep');
select pg_temp.sms('+14155551004', 'anyone there?') as r \gset nh_
select is(private.auto_reply_skip_reason(m), 'needs_human', 'a conversation waiting for a person gets no auto_reply')
from public.messages m where m.id = (:'nh_r'::jsonb ->> 'message_id')::uuid;
update public.conversations set needs_human = false, status = 'spam' where id = pg_temp.id('rep');
select is(private.auto_reply_skip_reason(m), 'conversation_spam', 'nor does spam')
from public.messages m where m.id = (:'nh_r'::jsonb ->> 'message_id')::uuid;
update public.tenants set auto_reply_enabled = false where id = pg_temp.id('b');
select pg_temp.sms('+14155551007', 'Hi B', '+14155550799') as r \gset off_
select is(pg_temp.replies((:'off_r'::jsonb ->> 'conversation_id')::uuid), 0::bigint, 'a tenant with auto-reply off gets none');
update public.tenants set auto_reply_enabled = true where id = pg_temp.id('b');

-- Business hours ------------------------------------------------------------------------------------
select ok(private.within_business_hours('{"mon":["09:00","17:00"]}', 'UTC', '2026-11-23 10:00Z'), 'Monday 10:00 is within 09-17');
select ok(not private.within_business_hours('{"mon":["09:00","17:00"]}', 'UTC', '2026-11-23 17:00Z'), 'closing time is outside');
select ok(not private.within_business_hours('{"mon":["09:00","17:00"],"sun":null}', 'UTC', '2026-11-22 10:00Z'), 'a null day is closed');
select ok(private.within_business_hours('{"mon":["09:00","17:00"]}', 'America/New_York', '2026-11-23 15:00Z'),
  'hours are in the tenant''s timezone (10:00 in New York)');
select ok(private.within_business_hours('{"fri":["22:00","02:00"]}', 'UTC', '2026-11-27 23:30Z'), 'a close before the open crosses midnight');
update public.tenants set auto_reply_hours = 'within_hours', business_hours = '{}' where id = pg_temp.id('b');
select pg_temp.sms('+14155551008', 'Open?', '+14155550799') as r \gset closed_
select is(private.auto_reply_skip_reason(m), 'outside_hours', 'within_hours: no auto_reply while closed')
from public.messages m where m.id = (:'closed_r'::jsonb ->> 'message_id')::uuid;
update public.tenants set auto_reply_hours = 'outside_hours' where id = pg_temp.id('b');
select is(private.auto_reply_skip_reason(m), null, 'outside_hours: answers while closed')
from public.messages m where m.id = (:'closed_r'::jsonb ->> 'message_id')::uuid;

-- The prompt context: this conversation and this contact only ------------------------------------
select pg_temp.sms('+14155551009', 'Is my order shipped?') as r \gset ctx_
insert into ids values ('ctx_conv', (:'ctx_r'::jsonb ->> 'conversation_id')::uuid),
  ('ctx_contact', (:'ctx_r'::jsonb ->> 'contact_id')::uuid);
insert into ids select 'ctx_reply', id from public.messages where conversation_id = pg_temp.id('ctx_conv') and kind = 'auto_reply';
update public.contacts set name = 'Zed Zebra' where id = pg_temp.id('ctx_contact');
insert into public.orders (tenant_id, contact_id, order_number, status, total)
values (pg_temp.id('a'), pg_temp.id('ctx_contact'), 'ORD-CTX-1', 'pending', 42),
  (pg_temp.id('a'), (select contact_id from public.messages where id = (:'first_r'::jsonb ->> 'message_id')::uuid),
   'ORD-OTHER-CONTACT', 'pending', 1);
insert into public.appointments (tenant_id, contact_id, service, starts_at, status)
values (pg_temp.id('a'), pg_temp.id('ctx_contact'), 'Beard trim', now() + interval '3 days', 'booked'),
  (pg_temp.id('a'), pg_temp.id('ctx_contact'), 'Old visit', now() - interval '3 days', 'completed');
select private.auto_reply_context(pg_temp.id('ctx_reply')) as ctx \gset
select is(:'ctx'::jsonb -> 'tenant' ->> 'name', 'Ai70 A', 'the context names the tenant');
select is(:'ctx'::jsonb -> 'contact' ->> 'first_name', 'Zed', 'greets the contact by first name only');
select ok((:'ctx'::jsonb -> 'messages') @> '[{"from": "customer", "body": "Is my order shipped?"}]',
  'messages: this conversation''s');
select ok(not (:'ctx'::jsonb::text like '%Do you have time on Friday%'),
  'no other conversation''s message');
select is(jsonb_path_query_array(:'ctx'::jsonb, '$.orders[*].order_number'), '["ORD-CTX-1"]'::jsonb,
  'orders: this contact''s open orders only');
select is(jsonb_path_query_array(:'ctx'::jsonb, '$.appointments[*].service'), '["Beard trim"]'::jsonb,
  'appointments: this contact''s upcoming ones only');

-- Writing the decision back -------------------------------------------------------------------------
update public.messages set status = 'sending', attempts = 1 where id = pg_temp.id('ctx_reply');
select is((private.auto_reply_apply(pg_temp.id('ctx_reply'), 2, 'reply', 'stale')) ->> 'proceed', 'false',
  'a stale attempt cannot write');
select is((private.auto_reply_apply(pg_temp.id('ctx_reply'), 1, 'reply', 'It ships tomorrow.')) ->> 'proceed', 'true',
  'a reply proceeds');
select is((select body from public.messages where id = pg_temp.id('ctx_reply')), 'It ships tomorrow.', 'with its text as body');
select is((select last_message_preview from public.conversations where id = pg_temp.id('ctx_conv')),
  'It ships tomorrow.', 'and the composed reply becomes the inbox preview');

-- hand-off without a holding message: canceled, needs_human
update public.messages set body = '' where id = pg_temp.id('ctx_reply');
select private.auto_reply_apply(pg_temp.id('ctx_reply'), 1, 'handoff', null, 'asks for a refund') ->> 'status' as st \gset
select is(:'st'::text, 'canceled', 'a hand-off without a holding message cancels the reply');
select is((select error_code from public.messages where id = pg_temp.id('ctx_reply')), 'ai_handoff', 'with error_code ai_handoff');
select is((select needs_human::text || ': ' || needs_human_reason from public.conversations where id = pg_temp.id('ctx_conv')),
  'true: asks for a refund', 'and the conversation needs a person, with the reason');

-- hand-off with a holding message; provider error
update public.conversations set needs_human = false, needs_human_reason = null where id = pg_temp.id('ctx_conv');
update public.tenants set holding_message = 'A team member will get back to you shortly.' where id = pg_temp.id('a');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status, attempts)
select tenant_id, conversation_id, contact_id, 'outbound', 'sms', 'auto_reply', '', 'queued', 1
from public.messages where id = pg_temp.id('ctx_reply') returning id as r2 \gset
update public.messages set status = 'sending', attempts = 2 where id = :'r2';
select is(private.auto_reply_apply(:'r2', 2, 'handoff', null, 'complaint') ->> 'body',
  'A team member will get back to you shortly.', 'a hand-off sends the tenant''s holding message');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status, attempts)
select tenant_id, conversation_id, contact_id, 'outbound', 'sms', 'auto_reply', '', 'queued', 1
from public.messages where id = pg_temp.id('ctx_reply') returning id as r3 \gset
update public.messages set status = 'sending', attempts = 2 where id = :'r3';
select private.auto_reply_apply(:'r3', 2, 'error', null, 'anthropic 500: overloaded');
select is((select status || '/' || error_code from public.messages where id = :'r3'), 'failed/ai_error',
  'a provider error fails the reply with ai_error (never retried)');
select is((select needs_human_reason from public.conversations where id = pg_temp.id('ctx_conv')),
  'ai_error: anthropic 500: overloaded', 'and hands the conversation to a person');

-- The record_inbound wrapper keeps the original's privileges.
select ok(not has_function_privilege('authenticated',
  'public.record_inbound(text, text, text, text, text, jsonb, text, text, text, boolean, uuid, text)', 'execute')
  and not has_function_privilege('anon',
  'public.record_inbound(text, text, text, text, text, jsonb, text, text, text, boolean, uuid, text)', 'execute')
  and has_function_privilege('service_role',
  'public.record_inbound(text, text, text, text, text, jsonb, text, text, text, boolean, uuid, text)', 'execute'),
  'record_inbound: service role only, as before');
select ok(not has_function_privilege('authenticated', 'private.auto_reply_context(uuid)', 'execute')
  and not has_function_privilege('authenticated', 'private.auto_reply_apply(uuid, integer, text, text, text)', 'execute'),
  'members cannot call the prompt context or the decision writer');

select * from finish();
rollback;
