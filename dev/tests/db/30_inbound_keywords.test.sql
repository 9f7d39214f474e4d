-- STOP / START / HELP keywords of inbound messages (record_inbound, acting as the service role as
-- the webhooks do). One tenant receiving on +15550003000; each case writes from its own number.
begin;
select plan(44);

select tests.inbound_tenant('kw-salon', '+15550003000');
create temp table kw as select id as tenant_id from public.tenants where slug = 'kw-salon';
grant select on kw to service_role;

-- The contact of a number in this tenant.
create function pg_temp.contact(p_phone text) returns public.contacts language sql as $$
  select c.* from public.contacts c where c.phone = p_phone
    and c.tenant_id = (select tenant_id from kw)
$$;

select tests.authenticate_as_service_role();

-- Opt-out keywords, in several spellings: any case, whitespace and punctuation around.
select is(tests.sms_in('+15550003001', '+15550003000', 'STOP') ->> 'keyword', 'stop', 'STOP is an opt-out keyword');
select is((pg_temp.contact('+15550003001')).opted_out_channels, array['sms'], 'STOP opts the contact out of sms');
select isnt((pg_temp.contact('+15550003001')).opted_out_at, null, 'STOP sets opted_out_at');
select is(tests.sms_in('+15550003002', '+15550003000', 'stopall') ->> 'keyword', 'stop', 'STOPALL (lower case) is an opt-out keyword');
select is((pg_temp.contact('+15550003002')).opted_out_channels, array['sms'], 'STOPALL opts out');
select is(tests.sms_in('+15550003003', '+15550003000', ' Unsubscribe ') ->> 'keyword', 'stop', 'UNSUBSCRIBE with spaces is an opt-out keyword');
select is((pg_temp.contact('+15550003003')).opted_out_channels, array['sms'], 'UNSUBSCRIBE opts out');
select is(tests.sms_in('+15550003004', '+15550003000', 'cancel.') ->> 'keyword', 'stop', 'CANCEL with a full stop is an opt-out keyword');
select is((pg_temp.contact('+15550003004')).opted_out_channels, array['sms'], 'CANCEL opts out');
select is(tests.sms_in('+15550003005', '+15550003000', 'End!') ->> 'keyword', 'stop', 'END with ! is an opt-out keyword');
select is((pg_temp.contact('+15550003005')).opted_out_channels, array['sms'], 'END opts out');
select is(tests.sms_in('+15550003006', '+15550003000', E'QUIT?\n') ->> 'keyword', 'stop', 'QUIT with ? and a newline is an opt-out keyword');
select is((pg_temp.contact('+15550003006')).opted_out_channels, array['sms'], 'QUIT opts out');
select is(tests.sms_in('+15550003007', '+15550003000', '"revoke"') ->> 'keyword', 'stop', 'REVOKE in quotes is an opt-out keyword');
select is((pg_temp.contact('+15550003007')).opted_out_channels, array['sms'], 'REVOKE opts out');
select is(tests.sms_in('+15550003008', '+15550003000', 'OptOut') ->> 'keyword', 'stop', 'OPTOUT in mixed case is an opt-out keyword');
select is((pg_temp.contact('+15550003008')).opted_out_channels, array['sms'], 'OPTOUT opts out');
select is(tests.sms_in('+15550003009', '+15550003000', '  stop. ') ->> 'keyword', 'stop', '"  stop. " is STOP');
select is((pg_temp.contact('+15550003009')).opted_out_channels, array['sms'], '"  stop. " opts out');
select is(tests.sms_in('+15550003010', '+15550003000', 'Stop!') ->> 'keyword', 'stop', '"Stop!" is STOP');
select is((pg_temp.contact('+15550003010')).opted_out_channels, array['sms'], '"Stop!" opts out');

-- Not keywords: a sentence containing one, two keywords, a longer word.
select is(tests.sms_in('+15550003011', '+15550003000', 'please stop calling') ->> 'keyword', null, '"please stop calling" is not a keyword');
select is((pg_temp.contact('+15550003011')).opted_out_channels, '{}'::text[], '"please stop calling" does not opt out');
select is((pg_temp.contact('+15550003011')).opted_out_at, null, '"please stop calling" leaves opted_out_at empty');
select is(tests.sms_in('+15550003012', '+15550003000', 'stop stop') ->> 'keyword', null, '"stop stop" is not a keyword');
select is(tests.sms_in('+15550003013', '+15550003000', 'stopped') ->> 'keyword', null, '"stopped" is not a keyword');

-- STOP twice keeps one entry.
select tests.sms_in('+15550003001', '+15550003000', 'STOP');
select is((pg_temp.contact('+15550003001')).opted_out_channels, array['sms'], 'a second STOP keeps one sms entry');

-- Opt back in: START, UNSTOP, YES remove the channel; other channels stay opted out.
select tests.clear_authentication();
update public.contacts set opted_out_channels = array['sms', 'email'], opted_out_at = now() - interval '1 day'
where id = (pg_temp.contact('+15550003002')).id;
select tests.authenticate_as_service_role();
select is(tests.sms_in('+15550003002', '+15550003000', 'START') ->> 'keyword', 'start', 'START is an opt-in keyword');
select is((pg_temp.contact('+15550003002')).opted_out_channels, array['email'], 'START removes sms only');
select isnt((pg_temp.contact('+15550003002')).opted_out_at, null, 'opted_out_at stays while email is still opted out');
select is(tests.sms_in('+15550003003', '+15550003000', 'unstop') ->> 'keyword', 'start', 'UNSTOP is an opt-in keyword');
select is((pg_temp.contact('+15550003003')).opted_out_channels, '{}'::text[], 'UNSTOP opts back in');
select is((pg_temp.contact('+15550003003')).opted_out_at, null, 'no channel left: opted_out_at cleared');
select is(tests.sms_in('+15550003004', '+15550003000', 'Yes.') ->> 'keyword', 'start', 'YES is an opt-in keyword');
select is((pg_temp.contact('+15550003004')).opted_out_channels, '{}'::text[], 'YES opts back in');

-- HELP / INFO: the tenant's help text comes back and is queued as a transactional reply.
select is(tests.sms_in('+15550003020', '+15550003000', 'help', 'SMkwhelp') ->> 'reply_text',
  'Help for kw-salon: call 555-0100.', 'HELP returns the tenant''s help text');
select results_eq(
  $$ select m.kind, m.status in ('queued', 'failed', 'canceled'), m.body, m.to_address
     from public.messages m
     where m.conversation_id = (select conversation_id from public.messages where provider_sid = 'SMkwhelp')
       and m.direction = 'outbound' $$,
  $$ values ('transactional', true, 'Help for kw-salon: call 555-0100.', '+15550003020') $$,
  'HELP queues one transactional reply with the help text to the sender');
select is(tests.sms_in('+15550003021', '+15550003000', ' INFO ') ->> 'keyword', 'help', 'INFO is a help keyword');
select is(tests.sms_in('+15550003022', '+15550003000', 'Info?') ->> 'reply_text',
  'Help for kw-salon: call 555-0100.', 'INFO returns the help text');
select is(tests.sms_in('+15550003023', '+15550003000', 'I need help with my booking') ->> 'reply_text', null,
  'a sentence with "help" gets no help text');
select is((pg_temp.contact('+15550003020')).opted_out_channels, '{}'::text[], 'HELP does not opt out');

-- The channel matters: STOP on WhatsApp opts out of WhatsApp only.
select public.record_inbound('whatsapp', 'whatsapp:+15550003030', 'whatsapp:+15550003000', 'STOP', 'SMkwwa1');
select is((select opted_out_channels from public.contacts where whatsapp = '+15550003030'
  and tenant_id = (select tenant_id from kw)), array['whatsapp'], 'STOP on WhatsApp opts out of whatsapp');

-- Auto-submitted mail (an out-of-office saying "stop") is never a keyword.
select is(public.record_inbound('email', 'robot@example.com', null, 'STOP', '<ooo-1@example.com>',
  p_auto_submitted => true, p_tenant_id => (select tenant_id from kw)) ->> 'keyword', null,
  'auto-submitted mail is not a keyword');
select is((select opted_out_channels from public.contacts where email = 'robot@example.com'
  and tenant_id = (select tenant_id from kw)), '{}'::text[], 'auto-submitted STOP does not opt out');

select * from finish();
rollback;
