-- The pg_cron jobs: promote scheduled rows, re-engage idle conversations (once per idle period,
-- personalised), mark dormant, the dispatcher kick, the schedule itself. "Twice" is checked here in
-- one session; two concurrent sessions are checked by dev/tests/stack/cron_concurrency.test.ts.
begin;
select plan(45);

-- Fixtures ------------------------------------------------------------------------------------------
select tests.cron_tenant('cron-salon', 'cron-owner@test.local') as t \gset
select tests.cron_tenant('cron-quiet', 'cron-owner2@test.local') as t2 \gset
update public.automations set enabled = false where tenant_id = :'t2' and kind = 'reengagement';

-- Ana: consent, a past appointment (the last topic); Ben: consent, no topic; Cleo: no consent;
-- Dan: consent but opted out of SMS; Eve: consent, only 3 days idle; Finn: consent, WhatsApp;
-- Gus: no consent, idle 15 days (dormant); Hal: consent, a paid order; Ida: other tenant, off.
select tests.cron_contact(:'t', 'Ana Lima', '+15550400001', true) as ana \gset
select tests.cron_contact(:'t', 'Ben Ode', '+15550400002', true) as ben \gset
select tests.cron_contact(:'t', 'Cleo Park', '+15550400003', false) as cleo \gset
select tests.cron_contact(:'t', 'Dan Roe', '+15550400004', true, '{}', '{}', null, '{sms}') as dan \gset
select tests.cron_contact(:'t', 'Eve Sol', '+15550400005', true) as eve \gset
select tests.cron_contact(:'t', 'Finn Ray', '+15550400006', true) as finn \gset
select tests.cron_contact(:'t', 'Gus Tan', '+15550400007', false) as gus \gset
select tests.cron_contact(:'t', 'Hal Moss', '+15550400008', true) as hal \gset
select tests.cron_contact(:'t2', 'Ida Vale', '+15550400009', true) as ida \gset

insert into public.appointments (tenant_id, contact_id, service, starts_at, status)
values (:'t', :'ana', 'Balayage', now() - interval '9 days', 'completed');
insert into public.orders (tenant_id, contact_id, order_number, status, total, tracking_number, tracking_url)
values (:'t', :'hal', 'A-1042', 'fulfilled', 80, '1Z1', 'https://t.example/1Z1');
-- The shipment notice the business trigger queued belongs to the past in this story.
delete from public.messages where tenant_id = :'t';

select tests.cron_conversation(:'t', :'ana', 'sms', interval '8 days') as c_ana \gset
select tests.cron_conversation(:'t', :'ben', 'sms', interval '8 days') as c_ben \gset
select tests.cron_conversation(:'t', :'cleo', 'sms', interval '8 days') as c_cleo \gset
select tests.cron_conversation(:'t', :'dan', 'sms', interval '8 days') as c_dan \gset
select tests.cron_conversation(:'t', :'eve', 'sms', interval '3 days') as c_eve \gset
select tests.cron_conversation(:'t', :'finn', 'whatsapp', interval '8 days') as c_finn \gset
select tests.cron_conversation(:'t', :'gus', 'sms', interval '15 days') as c_gus \gset
select tests.cron_conversation(:'t', :'hal', 'sms', interval '8 days') as c_hal \gset
select tests.cron_conversation(:'t2', :'ida', 'sms', interval '8 days') as c_ida \gset

-- A new tenant's re-engagement uses the built-in topic-aware text (tenant t2 keeps that default);
-- tenant t picks its own template and personalises it with the last service.
select is((select template_id from public.automations where tenant_id = :'t2' and kind = 'reengagement'),
  null, 'by default re-engagement has no template: the built-in text names the last topic');
update public.templates set body = 'Hi {first_name}, time for another {service} at {business_name}?'
where tenant_id = :'t' and name = 'We miss you';
update public.automations
set template_id = (select id from public.templates where tenant_id = :'t' and name = 'We miss you')
where tenant_id = :'t' and kind = 'reengagement';

-- promote_scheduled ------------------------------------------------------------------------------
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body,
  status, scheduled_for)
values
  (:'t', :'c_eve', :'eve', 'outbound', 'sms', 'reminder', 'due reminder', 'scheduled', now() - interval '1 minute'),
  (:'t', :'c_eve', :'eve', 'outbound', 'sms', 'reminder', 'future reminder', 'scheduled', now() + interval '1 day');

select is(private.promote_scheduled(), 1, 'promote_scheduled promotes the one due scheduled row');
select is(
  (select status || ' ' || (next_attempt_at = now())::text from public.messages
   where conversation_id = :'c_eve' and body = 'due reminder'),
  'queued true', 'the promoted row is queued and due now');
select is(
  (select status from public.messages where conversation_id = :'c_eve' and body = 'future reminder'),
  'scheduled', 'a row scheduled for later stays scheduled');
select is(private.promote_scheduled(), 0, 'a second run promotes nothing');
select is(
  (select count(*)::integer from public.messages where conversation_id = :'c_eve' and status = 'queued'),
  1, 'and duplicates nothing');

-- reengage_idle ------------------------------------------------------------------------------------
-- (The demo seed's idle conversations are re-engaged too: count ours.)
select cmp_ok(private.reengage_idle(), '>=', 3, 'reengage_idle writes to the eligible idle conversations');
select is(
  (select count(*)::integer from public.messages where tenant_id = :'t' and kind = 'reengagement'),
  3, 'three of them are ours: Ana, Ben and Hal');
select is(
  (select count(*)::integer from public.messages where conversation_id = :'c_ana' and kind = 'reengagement'),
  1, 'Ana gets one re-engagement message');
select is(
  (select body from public.messages where conversation_id = :'c_ana' and kind = 'reengagement'),
  'Hi Ana, time for another Balayage at Cron Salon?',
  'personalised with her last service through the tenant''s template');
select is(
  (select template_id from public.messages where conversation_id = :'c_ana' and kind = 'reengagement'),
  (select template_id from public.automations where tenant_id = :'t' and kind = 'reengagement'),
  'the message records the template it used');
select is(
  (select status from public.messages where conversation_id = :'c_ana' and kind = 'reengagement'),
  'queued', 'the message is queued (quiet hours may defer next_attempt_at, not the status)');
select matches(
  (select body from public.messages where conversation_id = :'c_ben' and kind = 'reengagement'),
  '^Hi Ben, it''s been a while! .*Cron Salon.* Reply STOP to opt out\.$',
  'without a known topic, the built-in generic text (the template needs {service})');
select matches(
  (select body from public.messages where conversation_id = :'c_hal' and kind = 'reengagement'),
  'order A-1042',
  'with a last order as topic, the text mentions the order');
select is(
  (select count(*)::integer from public.messages
   where conversation_id in (:'c_cleo', :'c_dan', :'c_eve', :'c_finn', :'c_gus', :'c_ida')
     and kind = 'reengagement'),
  0, 'nothing for no consent, opted out, not idle, WhatsApp outside the window, or automation off');
select isnt(
  (select last_reengaged_at from public.conversations where id = :'c_ana'), null,
  'last_reengaged_at is set where a message went');
select is(
  (select last_reengaged_at from public.conversations where id = :'c_cleo'), null,
  'and not where none went');
select isnt(
  (select reengage_checked_at from public.conversations where id = :'c_cleo'), null,
  'an ineligible idle conversation is marked as decided, so it is not re-examined every minute');
select is(
  (select reengage_checked_at from public.conversations where id = :'c_eve'), null,
  'a conversation that is not idle is left alone');
select ok(
  (select last_message_at > now() - interval '1 minute' from public.conversations where id = :'c_ana'),
  'the re-engagement message is the conversation''s last message');

select is(private.reengage_idle(), 0, 'a second run writes nothing');
select is(
  (select count(*)::integer from public.messages where tenant_id = :'t' and kind = 'reengagement'),
  3, 'still exactly three re-engagement messages');

-- Seven days after the re-engagement message nothing new happened: same idle period, no message.
update public.conversations set last_message_at = now() - interval '8 days',
  reengage_checked_at = now() - interval '8 days', last_reengaged_at = now() - interval '8 days'
where id = :'c_ben';
select is(private.reengage_idle(), 0, 'our own message does not start a new idle period');

-- Time travel: our message went out 15 days ago, Ana wrote back 7.5 days ago and has been quiet
-- since: a new idle period, one new message.
update public.conversations set reengage_checked_at = now() - interval '15 days',
  last_reengaged_at = now() - interval '15 days', last_message_at = now() - interval '7 days 12 hours'
where id = :'c_ana';
select is(private.reengage_idle(), 1, 'a new idle period gets a new message');
select is(
  (select count(*)::integer from public.messages where conversation_id = :'c_ana' and kind = 'reengagement'),
  2, 'Ana has had two re-engagement messages, one per idle period');

-- The unique index is the last line of defence against a duplicate for the same idle period.
select throws_ok(
  format($$insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
    kind, body, status, automation_key)
    select tenant_id, conversation_id, contact_id, direction, channel, kind, body, 'queued',
      automation_key from public.messages where conversation_id = %L and kind = 'reengagement'
    limit 1$$, :'c_ana'),
  '23505', null, 'a second re-engagement row for the same idle period is refused');

-- A tenant that waits longer than 7 days (automation offset) is not written to yet.
update public.automations set enabled = true, offset_minutes = 14 * 1440
where tenant_id = :'t2' and kind = 'reengagement';
update public.conversations set reengage_checked_at = null where id = :'c_ida';
select is(private.reengage_idle(), 0, 'a 14-day offset holds back an 8-day idle conversation');
select is(
  (select reengage_checked_at from public.conversations where id = :'c_ida'), null,
  'and leaves it undecided for later');

-- mark_dormant -------------------------------------------------------------------------------------
select cmp_ok(private.mark_dormant(), '>=', 1, 'mark_dormant marks conversations idle 14+ days');
select is((select status from public.conversations where id = :'c_gus'), 'dormant', 'Gus is dormant');
select is((select status from public.conversations where id = :'c_eve'), 'open', 'Eve stays open');
select is(private.mark_dormant(), 0, 'a second run changes nothing');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
values (:'t', :'c_gus', :'gus', 'inbound', 'sms', 'inbound', 'hi again', 'received');
select is((select status from public.conversations where id = :'c_gus'), 'open',
  'a dormant conversation reopens when the contact writes (and the job does not re-close it)');
select is(private.mark_dormant(), 0, 'a fresh conversation is not idle');

-- kick_dispatch -------------------------------------------------------------------------------------
select is(private.kick_dispatch('test') ->> 'reason', 'test', 'kick_dispatch reports its reason');
select ok((private.kick_dispatch('test') ->> 'due')::integer >= 1,
  'and how many rows are due (the promoted reminder at least)');

-- What the kick sends through pg_net and Vault: 44_kick_dispatch_http.test.sql.

-- Spy on the kick (the replacement is rolled back with the test): one kick per insert statement
-- that creates due rows, none for scheduled rows.
create temporary table kicks (reason text);
grant all on kicks to public;
create or replace function private.kick_dispatch(p_reason text default 'cron') returns jsonb
language plpgsql set search_path = '' as $$
begin
  insert into pg_temp.kicks values (p_reason);
  return '{}';
end;
$$;
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
select :'t', :'c_eve', :'eve', 'outbound', 'sms', 'manual', 'now ' || g, 'queued' from generate_series(1, 3) g;
select is((select count(*)::integer from kicks where reason = 'enqueued'), 1,
  'inserting three due rows in one statement kicks once');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body,
  status, scheduled_for)
values (:'t', :'c_eve', :'eve', 'outbound', 'sms', 'manual', 'later', 'scheduled', now() + interval '1 hour');
select is((select count(*)::integer from kicks), 1, 'inserting a scheduled row does not kick');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body,
  status, scheduled_for)
values (:'t', :'c_eve', :'eve', 'outbound', 'sms', 'manual', 'was due', 'scheduled', now() - interval '1 second');
select is(private.promote_scheduled(), 1, 'promote_scheduled promotes it once due');
select is((select count(*)::integer from kicks where reason = 'promoted'), 1,
  'and kicks the dispatcher for it');

-- cron_tick and the schedule -------------------------------------------------------------------------
select is(
  (select array_agg(k order by k) from jsonb_object_keys(private.cron_tick()) k),
  array['dormant', 'expired', 'kick', 'promoted', 'reengaged'],
  'cron_tick runs every job and reports no errors');
select is(
  (select count(*)::integer from cron.job where jobname like 'switchboard-%' and schedule = '* * * * *'),
  5, 'five switchboard jobs are scheduled every minute');
select is(
  (select command from cron.job where jobname = 'switchboard-expire-leases'),
  'select private.expire_leases()', 'lease expiry is scheduled');

-- Nobody but the database itself runs the jobs.
select tests.authenticate_as('cron-owner@test.local');
select throws_ok('select private.reengage_idle()', '42501', null,
  'a signed-in user cannot run a cron job');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select throws_ok('select private.mark_dormant()', '42501', null,
  'nor can the service role (only kick_dispatch is granted to it)');
select tests.clear_authentication();

select * from finish();
rollback;
