-- private.kick_dispatch() calls the dispatch edge function through pg_net with the URL and key
-- from Vault (migration 20261202100100): what it leaves in net.http_request_queue (url, headers,
-- body, timeout, how many with fan-out), nothing without secrets or without due rows. Everything
-- queued here is rolled back, so nothing is ever sent.
begin;
select plan(22);

select tests.ob_isolate_queue();
delete from net.http_request_queue;
delete from private.settings where key = 'dispatch_parallel';
-- A test stack stores real secrets; this file decides its own.
delete from vault.secrets where name in ('project_url', 'service_key');

select tests.ob_tenant('kick-http') as t \gset
select tests.ob_conversation(tests.ob_contact(:'t')) as conv \gset

-- As if the earlier requests had been answered: nothing in flight.
create function pg_temp.new_transaction() returns void language sql as $$
  delete from private.dispatch_kicks;
  delete from net.http_request_queue;
$$;

-- No secrets ---------------------------------------------------------------------------------------
select lives_ok(format('select tests.ob_send(%L)', :'conv'), 'without Vault secrets an insert still works');
select is((select count(*)::integer from net.http_request_queue), 0, 'and queues no HTTP request');
select is(private.kick_dispatch('test') ->> 'requests', '0', 'a kick reports no request');
select vault.create_secret('https://ref.example.test/', 'project_url');
select pg_temp.new_transaction();
select is(private.kick_dispatch('test') ->> 'requests', '0', 'the URL alone is not enough');

-- Both secrets -------------------------------------------------------------------------------------
select vault.create_secret('sk-test-key', 'service_key');
select pg_temp.new_transaction();
select is(private.kick_dispatch('test') ->> 'requests', '1', 'with both secrets one request is queued');
select is(
  (select jsonb_build_object('method', method, 'url', url, 'headers', headers,
     'timeout', timeout_milliseconds) from net.http_request_queue),
  jsonb_build_object('method', 'POST', 'url', 'https://ref.example.test/functions/v1/dispatch',
    'headers', jsonb_build_object('Content-Type', 'application/json', 'apikey', 'sk-test-key',
      'Authorization', 'Bearer sk-test-key'),
    'timeout', 5000),
  'a POST to <project_url>/functions/v1/dispatch with apikey and bearer key, 5 s timeout');
select is(
  (select array_agg(k order by k) from net.http_request_queue,
     jsonb_object_keys(convert_from(body, 'UTF8')::jsonb) k),
  array['at', 'due', 'reason'], 'the body is exactly {reason, due, at}');
select is(
  (select convert_from(body, 'UTF8')::jsonb ->> 'reason' from net.http_request_queue), 'test',
  'carrying the reason');
select is(private.kick_dispatch('again') ->> 'requests', '0',
  'a second kick in the same transaction adds nothing');
select is((select count(*)::integer from net.http_request_queue), 1, 'one request in all');

-- Fan-out ------------------------------------------------------------------------------------------
select pg_temp.new_transaction();
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body, status)
select cv.tenant_id, cv.id, cv.contact_id, 'outbound', 'sms', 'manual', 'bulk ' || g, 'queued'
from public.conversations cv, generate_series(1, 250) g where cv.id = :'conv';
select is((select count(*)::integer from net.http_request_queue), 2,
  'a 250-row insert statement queues dispatch_parallel (default 2) requests');
-- As another transaction sees it (the old per-transaction counter reset): still in flight.
select set_config('switchboard.dispatch_requests', '', true);
select is(private.kick_dispatch('cron') ->> 'requests', '0',
  'while both are in flight another kick (an insert elsewhere, the cron minute) adds none');
insert into net._http_response (id, status_code) select request_id, 200 from private.dispatch_kicks;
select is(private.kick_dispatch('cron') ->> 'requests', '2',
  'once pg_net recorded their answers the next kick posts again');
insert into private.settings (key, value) values ('dispatch_parallel', '5');
select pg_temp.new_transaction();
select is(private.kick_dispatch('cron') ->> 'requests', '3',
  'with dispatch_parallel 5, one request per 100 due rows (251 due: 3)');
select pg_temp.new_transaction();
select is(private.kick_dispatch('continue') ->> 'requests', '1',
  'a continuation posts one request whatever the backlog (the in-flight count never grows)');
select pg_temp.new_transaction();
update private.settings set value = 'lots' where key = 'dispatch_parallel';
select is(private.kick_dispatch('cron') ->> 'requests', '2', 'a malformed setting means the default');

-- A broken Vault (here: the view gone, rolled back below) never makes the insert fail.
select pg_temp.new_transaction();
alter view vault.decrypted_secrets rename to decrypted_secrets_away;
select lives_ok(format('select tests.ob_send(%L)', :'conv'), 'with Vault broken an insert still works');
select is((select count(*)::integer from net.http_request_queue), 0, 'and the kick queued nothing');
alter view vault.decrypted_secrets_away rename to decrypted_secrets;

-- Nothing due ----------------------------------------------------------------------------------------
select tests.ob_isolate_queue();
select pg_temp.new_transaction();
select is(private.kick_dispatch('cron'), jsonb_build_object('reason', 'cron', 'due', 0,
  'at', now(), 'requests', 0), 'nothing due: no request (the cron minute costs no invocation)');
select is((select count(*)::integer from net.http_request_queue), 0, 'the queue stays empty');

-- Who may kick -----------------------------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select private.kick_dispatch('x')$$, '42501', null, 'anon cannot kick');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select lives_ok($$select private.kick_dispatch('x')$$, 'the service role can');
select tests.clear_authentication();

select * from finish();
rollback;
