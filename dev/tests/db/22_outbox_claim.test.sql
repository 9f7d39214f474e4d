-- claim_due_messages: due order, leases, rows already claimed are never handed out again, the rules
-- re-checked at claim, quiet hours at claim, the per-tenant rate limit; expire_leases.
begin;
select plan(31);

select tests.ob_isolate_queue();
select tests.ob_tenant('ob-claim') as tenant \gset
select tests.ob_contact(:'tenant') as contact \gset
select tests.ob_conversation(:'contact', 'sms') as conv \gset

-- Claim order and leases ----------------------------------------------------------------------------
select (tests.ob_send(:'conv')).id as m1 \gset
select (tests.ob_send(:'conv')).id as m2 \gset
select (tests.ob_send(:'conv')).id as m3 \gset
select (tests.ob_send(:'conv')).id as m_later \gset
update public.messages set next_attempt_at = now() - interval '3 minutes' where id = :'m1';
update public.messages set next_attempt_at = now() - interval '2 minutes' where id = :'m2';
update public.messages set next_attempt_at = now() - interval '1 minute' where id = :'m3';
update public.messages set next_attempt_at = now() + interval '5 minutes' where id = :'m_later';

create temp table claimed1 as select * from private.claim_due_messages(2, 90);
select results_eq(
  'select id from claimed1 order by next_attempt_at',
  format('values (%L::uuid), (%L::uuid)', :'m1', :'m2'),
  'claim(2) returns the two oldest due rows'
);
select results_eq(
  'select status, attempts, lease_until from claimed1',
  $$ values ('sending', 1, now() + interval '90 seconds'), ('sending', 1, now() + interval '90 seconds') $$,
  'claimed rows are sending, attempts 1, leased for p_lease_seconds'
);
select is(
  (select status from public.messages where id = :'m1'),
  'sending',
  'the claim is stored, not just returned'
);

create temp table claimed2 as select * from private.claim_due_messages(10);
select results_eq(
  'select id, lease_until from claimed2',
  format($$ values (%L::uuid, now() + interval '60 seconds') $$, :'m3'),
  'a second claim gets only the row nobody holds (not the sending ones, not the future one); default lease 60 s'
);
select is(
  (select count(*)::integer from private.claim_due_messages(10)),
  0,
  'a third claim finds nothing due'
);
select is(
  (select count(*)::integer from (
    select id from claimed1 union all select id from claimed2) c),
  (select count(distinct id)::integer from (
    select id from claimed1 union all select id from claimed2) c),
  'no row was handed out twice'
);
select is(
  (select count(*)::integer from private.claim_due_messages(0)),
  0,
  'claim(0) claims nothing'
);

-- Leases expire ------------------------------------------------------------------------------------------
update public.messages set lease_until = now() - interval '1 second', provider_sid = 'SMlost1'
where id = :'m1';
select is(private.expire_leases(), 1, 'expire_leases re-queues exactly the expired row');
select results_eq(
  format('select status, next_attempt_at, lease_until, attempts, provider_sid from public.messages where id = %L', :'m1'),
  $$ values ('queued', now(), null::timestamptz, 1, 'SMlost1') $$,
  '… due now, lease cleared, attempts and provider_sid kept for reconciliation'
);
select is((select status from public.messages where id = :'m2'), 'sending',
  'a row whose lease has not expired stays sending');
select results_eq(
  'select id, attempts from private.claim_due_messages(10)',
  format('values (%L::uuid, 2)', :'m1'),
  'the expired row is claimed again as attempt 2'
);

-- Rules re-checked at claim --------------------------------------------------------------------------
select tests.ob_isolate_queue();
select (tests.ob_send(:'conv')).id as m_optout \gset
update public.contacts set opted_out_channels = '{sms}', opted_out_at = now() where id = :'contact';
select is((select count(*)::integer from private.claim_due_messages(10)), 0,
  'a contact who opted out after enqueue is not sent to');
select results_eq(
  format('select status, error_code from public.messages where id = %L', :'m_optout'),
  $$ values ('canceled', 'opted_out') $$,
  '… the row is canceled with error_code opted_out'
);
update public.contacts set opted_out_channels = '{}' where id = :'contact';

select tests.ob_contact(:'tenant', p_whatsapp => '+14155550777') as c_wa \gset
select tests.ob_conversation(:'c_wa', 'whatsapp', now() - interval '1 hour') as conv_wa \gset
select (tests.ob_send(:'conv_wa')).id as m_wa \gset
update public.conversations set last_inbound_at = now() - interval '25 hours' where id = :'conv_wa';
select is((select count(*)::integer from private.claim_due_messages(10)), 0,
  'a WhatsApp window that closed after enqueue blocks the claim');
select results_eq(
  format('select status, error_code, failed_at from public.messages where id = %L', :'m_wa'),
  $$ values ('failed', 'whatsapp_window_closed', now()) $$,
  '… the row fails with whatsapp_window_closed'
);

select (tests.ob_send(:'conv')).id as m_newphone \gset
update public.contacts set phone = '+14155550123' where id = :'contact';
select results_eq(
  'select id, to_address from private.claim_due_messages(10)',
  format($$ values (%L::uuid, '+14155550123') $$, :'m_newphone'),
  'the claim sends to the contact''s current number'
);

-- Quiet hours at claim: the window started after the rows were queued --------------------------------
select tests.ob_isolate_queue();
select (tests.ob_send(:'conv', 'reminder')).id as m_rem \gset
select (tests.ob_send(:'conv', 'transactional')).id as m_tx \gset
update public.tenants set timezone = 'Asia/Tokyo',
  quiet_hours_start = ((now() at time zone 'Asia/Tokyo') - interval '1 hour')::time,
  quiet_hours_end = ((now() at time zone 'Asia/Tokyo') + interval '1 hour')::time
where id = :'tenant';
select results_eq(
  'select id from private.claim_due_messages(10)',
  format('values (%L::uuid)', :'m_tx'),
  'inside quiet hours only the transactional message is claimed'
);
select results_eq(
  format('select status, next_attempt_at, attempts from public.messages where id = %L', :'m_rem'),
  $$ values ('queued', now() + interval '1 hour', 0) $$,
  '… the reminder stays queued until the quiet hours end, without using an attempt'
);
update public.tenants set quiet_hours_start = '00:00', quiet_hours_end = '00:00', timezone = 'UTC'
where id = :'tenant';

-- Rate limit ------------------------------------------------------------------------------------------
select tests.ob_isolate_queue();
select tests.ob_tenant('ob-claim-slow', p_rate => 2) as t_slow \gset
select tests.ob_conversation(tests.ob_contact(:'t_slow')) as conv_slow \gset
select tests.ob_tenant('ob-claim-fast', p_rate => 100) as t_fast \gset
select tests.ob_conversation(tests.ob_contact(:'t_fast')) as conv_fast \gset
\o /dev/null
select tests.ob_send(:'conv_slow') from generate_series(1, 5);
select tests.ob_send(:'conv_fast') from generate_series(1, 3);
\o

create temp table claimed_rate as select * from private.claim_due_messages(100);
select results_eq(
  'select tenant_id, count(*)::integer from claimed_rate group by 1 order by 1',
  format('select * from (values (%L::uuid, 2), (%L::uuid, 3)) v order by 1', :'t_slow', :'t_fast'),
  'a tenant at 2 per minute gets 2 of its 5 rows; another tenant in the same claim is not held back'
);
select results_eq(
  format($$ select status, next_attempt_at, count(*)::integer from public.messages
     where tenant_id = %L and status = 'queued' group by 1, 2 $$, :'t_slow'),
  $$ values ('queued', date_trunc('minute', now()) + interval '1 minute', 3) $$,
  'the other 3 stay queued until the next minute'
);
select is(
  (select claimed from private.tenant_send_counters
   where tenant_id = :'t_slow' and minute = date_trunc('minute', now())),
  2,
  'the tenant''s counter for this minute holds 2'
);
update public.messages set next_attempt_at = now() where tenant_id = :'t_slow' and status = 'queued';
select is((select count(*)::integer from private.claim_due_messages(100)), 0,
  'made due again within the same minute, they are still held back');
update public.tenants set send_rate_per_minute = 4 where id = :'t_slow';
update public.messages set next_attempt_at = now() where tenant_id = :'t_slow' and status = 'queued';
select is((select count(*)::integer from private.claim_due_messages(100)), 2,
  'a higher limit lets exactly the difference through this minute');
select is(
  (select claimed from private.tenant_send_counters
   where tenant_id = :'t_slow' and minute = date_trunc('minute', now())),
  4,
  'the counter now holds 4'
);

-- Rows held back by the rate limit do not hide other tenants' due rows behind them.
select tests.ob_isolate_queue();
select tests.ob_tenant('ob-claim-bulk', p_rate => 1) as t_bulk \gset
select tests.ob_conversation(tests.ob_contact(:'t_bulk')) as conv_bulk \gset
\o /dev/null
select tests.ob_send(:'conv_bulk') from generate_series(1, 5);
\o
update public.messages set next_attempt_at = now() - interval '1 minute' where tenant_id = :'t_bulk';
select (tests.ob_send(:'conv_fast')).id as f1 \gset
select (tests.ob_send(:'conv_fast')).id as f2 \gset
select results_eq(
  'select tenant_id, count(*)::integer from private.claim_due_messages(3) group by 1 order by 1',
  format('select * from (values (%L::uuid, 1), (%L::uuid, 2)) v order by 1', :'t_bulk', :'t_fast'),
  'claim(3) behind 5 older rows of a tenant at 1/min: 1 of those, then the 2 rows behind them'
);

-- A new minute starts from zero.
update private.tenant_send_counters set minute = minute - interval '1 minute' where tenant_id = :'t_slow';
update public.messages set next_attempt_at = now() where tenant_id = :'t_slow' and status = 'queued';
select is((select count(*)::integer from private.claim_due_messages(100)), 1,
  'in a new minute the tenant may send again (its last row)');
select results_eq(
  format('select minute, claimed from private.tenant_send_counters where tenant_id = %L', :'t_slow'),
  $$ values (date_trunc('minute', now()), 1) $$,
  '… and its counter restarted for the current minute'
);
select is((select count(*)::integer from private.tenant_send_counters where tenant_id = :'t_fast'), 1,
  'every new tenant gets its counter row');

-- Only the dispatcher (service role) may claim.
select tests.authenticate_as_service_role();
select lives_ok('select private.claim_due_messages(1)', 'the service role may claim');
select tests.clear_authentication();
\o /dev/null
select tests.create_user('ob-claim-user@example.com');
\o
select tests.authenticate_as('ob-claim-user@example.com');
select throws_ok('select private.claim_due_messages(1)', '42501', null, 'a signed-in user may not claim');
select throws_ok('select private.expire_leases()', '42501', null, 'nor expire leases');
select tests.clear_authentication();

select * from finish();
rollback;
