-- record_send_result (success, retry with backoff and jitter, 3 attempts, permanent errors, 21610
-- opt-out, idempotency, stale results) and record_status_callback (forward only, first error
-- kept, duplicates and out-of-order callbacks, unknown sids).
begin;
select plan(44);

select tests.ob_isolate_queue();
select tests.ob_tenant('ob-results') as tenant \gset
select tests.ob_contact(:'tenant', p_email => 'results@example.com') as contact \gset
select tests.ob_conversation(:'contact', 'sms') as conv \gset

-- Claims one fresh message (nothing else is due) and returns its id.
create function pg_temp.claim_one(p_conv uuid) returns uuid
language plpgsql as $$
declare
  v_id uuid;
  v_claimed uuid;
begin
  perform tests.ob_isolate_queue();
  v_id := (tests.ob_send(p_conv)).id;
  select id into v_claimed from private.claim_due_messages(1) where id = v_id;
  if v_claimed is null then
    raise exception 'claim_one: % was not claimed', v_id;
  end if;
  return v_id;
end;
$$;

-- Makes a queued message due again (as if its backoff had passed) and claims it.
create function pg_temp.reclaim(p_id uuid) returns integer
language plpgsql as $$
declare
  v_attempts integer;
begin
  perform tests.ob_isolate_queue();
  update public.messages set next_attempt_at = now() where id = p_id;
  select attempts into v_attempts from private.claim_due_messages(1) where id = p_id;
  return v_attempts;
end;
$$;

-- Success ---------------------------------------------------------------------------------------------
select pg_temp.claim_one(:'conv') as ok1 \gset
select results_eq(
  format($$ select status, sent_at, provider_sid, segments, from_address, lease_until, attempts
     from private.record_send_result(%L, 'SMok1', p_segments => 2, p_from_address => '+14155550100') $$, :'ok1'),
  $$ values ('sent', now(), 'SMok1', 2, '+14155550100', null::timestamptz, 1) $$,
  'success: sent with sent_at, provider_sid, segments, from_address; lease cleared'
);
select row_to_json(m)::text as ok1_row from public.messages m where id = :'ok1' \gset
select is(
  (select row_to_json(r)::text from private.record_send_result(:'ok1', 'SMok1', p_segments => 2,
    p_from_address => '+14155550100') r),
  :'ok1_row',
  'the same success again changes nothing'
);
select is(
  (select provider_sid from private.record_send_result(:'ok1', 'SMother')),
  'SMok1',
  'a second, different success does not overwrite the first'
);
select is(
  (select status from private.record_send_result(:'ok1', null, '30003', 'Unreachable')),
  'sent',
  'an error reported for a sent message changes nothing'
);
select is(private.record_send_result(gen_random_uuid(), 'SMnone'), null,
  'an unknown message id returns null');

-- Transient errors: backoff, then failed after the 3rd attempt -----------------------------------------
select pg_temp.claim_one(:'conv') as tr \gset
select * from private.record_send_result(:'tr', null, '30003', 'Unreachable destination handset') \gset r_
select is(array[:'r_status', :'r_error_code', :'r_error_message'],
  array['queued', '30003', 'Unreachable destination handset'],
  'a transient error puts the message back in the queue with the error');
select ok(:'r_next_attempt_at'::timestamptz between now() + interval '24 seconds' and now() + interval '36 seconds',
  'retry 1 is due after 30 s ± 20 %');
select is((select lease_until from public.messages where id = :'tr'), null, '… and its lease is cleared');
select row_to_json(m)::text as tr_row from public.messages m where id = :'tr' \gset
select is(
  (select row_to_json(r)::text from private.record_send_result(:'tr', null, '30003', 'Unreachable destination handset') r),
  :'tr_row',
  'the same error reported twice changes nothing the second time'
);
select is(pg_temp.reclaim(:'tr'), 2, 'the retry is claimed as attempt 2');
select * from private.record_send_result(:'tr', null, '30008', 'Unknown error') \gset r_
select ok(:'r_status' = 'queued' and
  :'r_next_attempt_at'::timestamptz between now() + interval '48 seconds' and now() + interval '72 seconds',
  'retry 2 is due after 60 s ± 20 % (the backoff doubles)');
select is(pg_temp.reclaim(:'tr'), 3, 'the retry is claimed as attempt 3');
select * from private.record_send_result(:'tr', null, '30008', 'Unknown error') \gset r_
select is(array[:'r_status', :'r_error_code', :'r_error_message', :'r_failed_at'::timestamptz::text],
  array['failed', '30008', 'Unknown error', now()::text],
  'after the 3rd attempt a transient error is final: failed with the provider''s error');

-- Backoff bounds and jitter, sampled.
create temp table backoff as
  select n, extract(epoch from private.retry_backoff(n))::double precision as secs
  from generate_series(1, 4) n, generate_series(1, 200);
select is(
  (select count(*)::integer from backoff where secs < 0.8 * 30 * 2 ^ (n - 1) or secs > 1.2 * 30 * 2 ^ (n - 1)),
  0,
  'every delay is within 30 s * 2^(attempts-1) ± 20 %'
);
select ok(
  (select count(distinct secs) from backoff where n = 1) > 150,
  'delays are jittered (200 samples, nearly all distinct)'
);
select ok(
  (select max(secs) from backoff where n = 1) - (select min(secs) from backoff where n = 1) > 6,
  'the jitter spreads over most of the ± 20 % band'
);
select is(extract(epoch from private.retry_backoff(20)) <= 3600 * 1.2, true,
  'the delay is capped at an hour (plus jitter)');

-- Permanent errors and 21610 ----------------------------------------------------------------------------------
select pg_temp.claim_one(:'conv') as perm \gset
select results_eq(
  format($$ select status, attempts, error_code, failed_at from private.record_send_result(%L, null,
     '21211', 'Invalid To phone number', p_permanent => true) $$, :'perm'),
  $$ values ('failed', 1, '21211', now()) $$,
  'a permanent error fails at once, on the first attempt'
);

select pg_temp.claim_one(:'conv') as unsub \gset
select is(
  (select status from private.record_send_result(:'unsub', null, '21610',
    'Attempt to send to unsubscribed recipient')),
  'failed',
  '21610 fails at once even when not flagged permanent'
);
select results_eq(
  format('select opted_out_channels, opted_out_at from public.contacts where id = %L', :'contact'),
  $$ values ('{sms}'::text[], now()) $$,
  '21610 opts the contact out of that channel (only) and sets opted_out_at'
);
update public.contacts set opted_out_at = '2026-01-01 00:00Z' where id = :'contact';
select is(
  (select row_to_json(r)::text from private.record_send_result(:'unsub', null, '21610',
    'Attempt to send to unsubscribed recipient') r),
  (select row_to_json(m)::text from public.messages m where id = :'unsub'),
  'the same 21610 report again leaves the message as it is'
);
select is((select opted_out_at from public.contacts where id = :'contact'), '2026-01-01 00:00Z'::timestamptz,
  '… and the contact too');
select is((tests.ob_send(:'conv')).error_code, 'opted_out', 'the next SMS to them is blocked');
select is((tests.ob_send(tests.ob_conversation(:'contact', 'email'))).status, 'queued',
  'their email still goes');
update public.contacts set opted_out_channels = '{}', opted_out_at = null where id = :'contact';

-- Stale results ----------------------------------------------------------------------------------------------
-- Attempt 1's lease expires, the row is claimed again (attempt 2), then attempt 1's error arrives.
select pg_temp.claim_one(:'conv') as stale \gset
update public.messages set lease_until = now() - interval '1 second' where id = :'stale';
select is(private.expire_leases(), 1, 'the lease of attempt 1 expires');
select is(pg_temp.reclaim(:'stale'), 2, 'the row is claimed again as attempt 2');
select results_eq(
  format($$ select status, attempts, error_code from private.record_send_result(%L, null, '30003',
     'late', p_attempt => 1) $$, :'stale'),
  $$ values ('sending', 2, null::text) $$,
  'a stale attempt''s error does not touch the newer attempt'
);
select is(
  (select status from private.record_send_result(:'stale', 'SMstale', p_attempt => 1)),
  'sent',
  'but its success is recorded: the provider did take the message'
);

-- A success after the lease expired and before anyone re-claimed it.
select pg_temp.claim_one(:'conv') as late \gset
update public.messages set lease_until = now() - interval '1 second' where id = :'late';
select is(private.expire_leases(), 1, 'the lease expires');
select results_eq(
  format($$ select status, provider_sid from private.record_send_result(%L, 'SMlate') $$, :'late'),
  $$ values ('sent', 'SMlate') $$,
  'the late success moves the re-queued row to sent, so it is not sent again'
);
select pg_temp.claim_one(:'conv') as q_err \gset
update public.messages set lease_until = now() - interval '1 second' where id = :'q_err';
select private.expire_leases() as expired \gset
select is(
  (select status from private.record_send_result(:'q_err', null, '30003', 'late')),
  'queued',
  'a late error for a re-queued row changes nothing'
);

-- Status callbacks ------------------------------------------------------------------------------------------------
create function pg_temp.sent_row(p_conv uuid, p_sid text) returns uuid
language sql as $$
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    status, provider_sid, sent_at)
  select cv.tenant_id, cv.id, cv.contact_id, 'outbound', cv.channel, 'manual', 'sent', p_sid, now()
  from public.conversations cv where cv.id = p_conv
  returning id
$$;
select pg_temp.sent_row(:'conv', 'SMcb1') as cb1 \gset
select results_eq(
  $$ select status, delivered_at from private.record_status_callback('SMcb1', 'delivered') $$,
  $$ values ('delivered', now()) $$,
  'delivered: sets delivered_at'
);
update public.messages set delivered_at = '2026-01-01 00:00Z' where id = :'cb1';
select results_eq(
  $$ select status, delivered_at from private.record_status_callback('SMcb1', 'delivered') $$,
  $$ values ('delivered', '2026-01-01 00:00Z'::timestamptz) $$,
  'a duplicate delivered callback changes nothing'
);
select results_eq(
  $$ select status, error_code from private.record_status_callback('SMcb1', 'undelivered', '30005', 'Unknown destination') $$,
  $$ values ('delivered', null::text) $$,
  'undelivered after delivered is ignored'
);
select results_eq(
  $$ select status, read_at from private.record_status_callback('SMcb1', 'read') $$,
  $$ values ('read', now()) $$,
  'read after delivered: read_at'
);
select is((private.record_status_callback('SMcb1', 'sent')).status, 'read', 'a late sent callback is ignored');

select pg_temp.sent_row(:'conv', 'SMcb2') as cb2 \gset
select results_eq(
  $$ select status, delivered_at, read_at from private.record_status_callback('SMcb2', 'read') $$,
  $$ values ('read', now(), now()) $$,
  'read arriving before delivered: read, and delivered_at filled in'
);
select is((private.record_status_callback('SMcb2', 'delivered')).status, 'read',
  'the delivered callback arriving after read changes nothing');

select pg_temp.sent_row(:'conv', 'SMcb3') as cb3 \gset
select results_eq(
  $$ select status, error_code, error_message, failed_at
     from private.record_status_callback('SMcb3', 'undelivered', '30005', 'Unknown destination handset') $$,
  $$ values ('undelivered', '30005', 'Unknown destination handset', now()) $$,
  'undelivered from sent: the provider''s error and failed_at'
);
select results_eq(
  $$ select status, error_code from private.record_status_callback('SMcb3', 'failed', '30008', 'Unknown error') $$,
  $$ values ('undelivered', '30005') $$,
  'a later failure callback keeps the first status and error code'
);
select is((private.record_status_callback('SMcb3', 'queued')).status, 'undelivered',
  'informational statuses (queued) change nothing');
select is(private.record_status_callback('SMnosuch', 'delivered'), null,
  'an unknown provider_sid returns null');

-- The dispatcher's batch writer applies the same success rule as record_send_result.
select tests.ob_isolate_queue();
create temp table rs as select pg_temp.claim_one(:'conv') as claimed,
  (tests.ob_send(:'conv')).id as unclaimed;
select is(private.record_sends_succeeded(jsonb_build_array(
    jsonb_build_object('id', (select claimed from rs), 'sid', 'SMbatch1', 'segments', 1),
    jsonb_build_object('id', (select unclaimed from rs), 'sid', 'SMbatch2', 'segments', 1))),
  1, 'record_sends_succeeded moves only the claimed row');
select is((select status from public.messages where id = (select unclaimed from rs)), 'queued',
  'a queued row never claimed is not marked sent by the batch writer either');

select * from finish();
rollback;
