-- The dispatcher's writers (20261202200000): claim_sends (ready and held jobs, template
-- rendering, template_error), prepare_sends (sender, attempt rows, email threading, superseded
-- attempts, the attempt fence), record_send_results (each outcome, the fence, bad outcomes),
-- apply_enhanced_body, and who may call them.
begin;
select plan(36);

select tests.ob_isolate_queue();
select tests.ob_tenant('ob-writers') as tenant \gset
select tests.ob_contact(:'tenant', p_email => 'writers@example.com') as contact \gset
select tests.ob_conversation(:'contact', 'sms') as conv \gset
insert into public.phone_numbers (tenant_id, e164) values (:'tenant', '+14155550111');
select phone from public.contacts where id = :'contact' \gset

-- A plain SMS comes back ready: sender picked, attempt row pending with the body's SHA-256 ----------
select (tests.ob_send(:'conv')).id as m1 \gset
create temp table j1 as select j from private.claim_sends(10, 60, '+15005550006', 'Ops <o@x.test>') j;
select is((select count(*)::int from j1), 1, 'one job for the one due row');
select is((select j->>'ready' from j1), 'true', 'a plain SMS is ready at once');
select is((select j->>'from' from j1), '+14155550111', 'the tenant''s number sends it');
select is((select j->>'to' from j1), :'phone', 'to the contact''s phone');
select is((select (j->>'attempt')::int from j1), 1, 'attempt 1');
select results_eq(
  format('select outcome, to_address, from_address, body_sha256 from private.send_attempts where message_id = %L', :'m1'),
  $$ values ('pending', $$ || quote_literal(:'phone') || $$, '+14155550111',
    encode(sha256(convert_to('Hello from the outbox tests', 'UTF8')), 'hex')) $$,
  'the attempt row is written before the send: pending, To/From, body hash'
);

-- record_send_results: sent ------------------------------------------------------------------------
select is(private.record_send_results(jsonb_build_array(jsonb_build_object('id', :'m1',
  'attempt', 1, 'outcome', 'sent', 'sid', 'SMw1', 'segments', 1, 'from', '+14155550111'))), 1,
  'one result applied');
select results_eq(
  format('select status, provider_sid, segments from public.messages where id = %L', :'m1'),
  $$ values ('sent', 'SMw1', 1) $$, 'sent: the message is sent with its sid');
select is((select outcome from private.send_attempts where message_id = :'m1'), 'sent',
  'sent: its attempt row is settled');

-- unknown keeps the row sending; the next claim holds it for reconcile; prepare supersedes ---------
select tests.ob_isolate_queue();
select (tests.ob_send(:'conv')).id as m2 \gset
select j from private.claim_sends(10, 60, null, null) j \gset
select private.record_send_results(jsonb_build_array(jsonb_build_object('id', :'m2',
  'attempt', 1, 'outcome', 'unknown')));
select is((select status from public.messages where id = :'m2'), 'sending',
  'unknown: the message stays sending under its lease');
select is((select outcome from private.send_attempts where message_id = :'m2'), 'unknown',
  'unknown: the attempt row says so');
update public.messages set lease_until = now() - interval '1 second' where id = :'m2';
select private.expire_leases();
create temp table j2 as select j from private.claim_sends(10, 60, null, null) j
  where j->>'id' = :'m2';
select is((select j->>'ready' from j2), 'false', 'an unsettled earlier attempt holds the row');
select is((select j->'unsettled'->>'from' from j2), '+14155550111',
  'with what reconcile looks for (From)');
select is((select j->>'ai_step' from j2), null, 'and no AI step');
select is((select count(*)::int from private.send_attempts where message_id = :'m2'), 1,
  'no new attempt row while held');
select is((select count(*)::int from private.prepare_sends(
  jsonb_build_array(jsonb_build_object('id', :'m2', 'attempt', 2)))), 1,
  'prepare_sends after the lookup found nothing');
select results_eq(
  format('select attempt, outcome from private.send_attempts where message_id = %L order by attempt', :'m2'),
  $$ values (1, 'reconciled'), (2, 'pending') $$,
  'the new attempt supersedes the old one');
select is((select count(*)::int from private.prepare_sends(
  jsonb_build_array(jsonb_build_object('id', :'m2', 'attempt', 1)))), 0,
  'prepare_sends is fenced by the attempt');

-- retry and failed go through record_send_result's rules; a stale attempt changes nothing ---------
select private.record_send_results(jsonb_build_array(jsonb_build_object('id', :'m2',
  'attempt', 1, 'outcome', 'failed', 'code', '21211', 'message', 'stale', 'permanent', true)));
select is((select status from public.messages where id = :'m2'), 'sending',
  'a stale attempt''s error changes nothing');
select private.record_send_results(jsonb_build_array(jsonb_build_object('id', :'m2',
  'attempt', 2, 'outcome', 'retry', 'code', '30003', 'message', 'unreachable')));
select results_eq(
  format('select status, error_code, next_attempt_at > now() from public.messages where id = %L', :'m2'),
  $$ values ('queued', '30003', true) $$, 'retry: queued again with backoff');
select is((select outcome from private.send_attempts where message_id = :'m2' and attempt = 2),
  'retry', 'retry: the attempt row is settled');
select throws_ok(
  $$ select private.record_send_results('[{"id": "00000000-0000-0000-0000-000000000000", "attempt": 1, "outcome": "delivered"}]') $$,
  '22023', null, 'an unknown outcome is refused');

-- reconciled: the provider's copy was found ---------------------------------------------------------
update public.messages set next_attempt_at = now() where id = :'m2';
select j from private.claim_sends(10, 60, null, null) j \gset
select private.record_send_results(jsonb_build_array(jsonb_build_object('id', :'m2',
  'attempt', 3, 'outcome', 'reconciled', 'sid', 'SMfound')));
select results_eq(
  format('select status, provider_sid from public.messages where id = %L', :'m2'),
  $$ values ('sent', 'SMfound') $$, 'reconciled: sent with the found sid');

-- Templates: rendered at the claim; a missing variable fails the row --------------------------------
select tests.ob_isolate_queue();
insert into public.templates (tenant_id, name, body) values (:'tenant', 'Hi', 'Hi {first_name}!')
  returning id as tpl \gset
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
  body, status, template_id, variables)
values (:'tenant', :'conv', :'contact', 'outbound', 'sms', 'transactional', '', 'queued', :'tpl',
  '{"first_name": "Pat"}') returning id as m3 \gset
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
  body, status, template_id, variables)
values (:'tenant', :'conv', :'contact', 'outbound', 'sms', 'transactional', '', 'queued', :'tpl',
  '{}') returning id as m4 \gset
create temp table j3 as select j from private.claim_sends(10, 60, null, null) j;
select is((select j->>'body' from j3 where j->>'id' = :'m3'), 'Hi Pat!', 'the job carries the render');
select is((select body from public.messages where id = :'m3'), 'Hi Pat!', 'and the row keeps it');
select results_eq(
  format('select status, error_code from public.messages where id = %L', :'m4'),
  $$ values ('failed', 'template_error') $$, 'a template that cannot be rendered fails its row');
select is((select count(*)::int from j3 where j->>'id' = :'m4'), 0, 'and is not handed out');

-- AI steps are held; apply_enhanced_body is fenced -----------------------------------------------
select tests.ob_isolate_queue();
update public.templates set ai_enhance = true where id = :'tpl';
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
  body, status, template_id, variables)
values (:'tenant', :'conv', :'contact', 'outbound', 'sms', 'transactional', '', 'queued', :'tpl',
  '{"first_name": "Sam"}') returning id as m5 \gset
create temp table j4 as select j from private.claim_sends(10, 60, null, null) j;
select results_eq('select j->>''ready'', j->>''ai_step'', j->>''body'' from j4',
  $$ values ('false', 'enhance', 'Hi Sam!') $$, 'an ai_enhance template is held for the AI step');
select is(private.apply_enhanced_body(:'m5', 9, 'Hello Sam!'), false, 'a stale attempt cannot write the body');
select is(private.apply_enhanced_body(:'m5', 1, 'Hello Sam!'), true, 'the claim''s attempt can');
select is((select body from public.messages where id = :'m5'), 'Hello Sam!', 'the enhanced body is on the row');
select throws_ok(format('select private.apply_enhanced_body(%L, 1, %L)', :'m5', '  '), '22023',
  null, 'an empty enhancement is refused');

-- Email: threading ids, subject and From written by prepare_sends ----------------------------------
select tests.ob_isolate_queue();
select tests.ob_conversation(:'contact', 'email') as econv \gset
update public.conversations set subject = 'Booking' where id = :'econv';
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
  body, status, email_message_id)
values (:'tenant', :'econv', :'contact', 'inbound', 'email', 'inbound', 'Hello?', 'received',
  '<in-1@mail.test>');
select (tests.ob_send(:'econv')).id as m6 \gset
create temp table j5 as select j from private.claim_sends(10, 60, null, 'Ops <o@x.test>') j;
select results_eq(
  'select j->>''to'', j->>''from'', j->>''subject'', j->>''in_reply_to'' from j5',
  $$ values ('writers@example.com', 'Ops <o@x.test>', 'Re: Booking', '<in-1@mail.test>') $$,
  'email job: To, default From, Re: subject, In-Reply-To the last inbound mail');
select results_eq(
  format('select email_message_id, in_reply_to from public.messages where id = %L', :'m6'),
  format('values (%L, %L)', '<' || :'m6' || '@switchboard.local>', '<in-1@mail.test>'),
  'the threading ids are on the row');
select is((select outcome from private.send_attempts where message_id = :'m6'), 'pending',
  'the email attempt row is pending');

-- Who may call them --------------------------------------------------------------------------------
select ok(not has_function_privilege('authenticated', 'private.claim_sends(integer, integer, text, text)', 'execute')
  and not has_function_privilege('anon', 'private.record_send_results(jsonb)', 'execute')
  and not has_function_privilege('authenticated', 'private.prepare_sends(jsonb, text, text)', 'execute'),
  'members and anon cannot call the dispatcher''s writers');

select * from finish();
rollback;
