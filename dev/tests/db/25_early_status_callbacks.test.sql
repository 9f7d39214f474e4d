-- Status callbacks that arrive before the send's result (20261202700000): kept, applied when the
-- sid lands (dispatcher result, reconcile), forward only, only to a business that sends through
-- the signing account; expired; and the table is out of every actor's reach.
begin;
select plan(29);

select tests.ob_isolate_queue();
select tests.rls_put('es.a', tests.ob_tenant('es-a'));
select tests.rls_put('es.b', tests.ob_tenant('es-b'));
select tests.rls_put('es.p', tests.ob_tenant('es-p'));
update public.tenants set platform_provisioned = true where id = tests.rls_id('es.p');
insert into private.tenant_credentials (tenant_id, account_sid, auth_token_ciphertext, key_version, auth_token_last4)
values (tests.rls_id('es.a'), 'AC' || repeat('a', 32), 'x', 1, 'aaaa'),
  (tests.rls_id('es.b'), 'AC' || repeat('e', 32), 'x', 1, 'eeee');
select tests.rls_put('es.conv', tests.ob_conversation(tests.ob_contact(tests.rls_id('es.a'))));
select tests.rls_put('es.pconv', tests.ob_conversation(tests.ob_contact(tests.rls_id('es.p'))));

-- A claimed message (sending, attempt 1, no sid yet), as the dispatcher holds it mid-send.
create or replace function pg_temp.sending(p_conv text) returns uuid
language plpgsql as $$
declare
  v_id uuid := (tests.ob_send(tests.rls_id(p_conv))).id;
begin
  update public.messages m set status = 'sending', attempts = 1,
    lease_until = now() + interval '1 minute'
  where m.id = v_id;
  insert into private.send_attempts (message_id, attempt, channel, to_address)
  values (v_id, 1, 'sms', '+14155550100');
  return v_id;
end;
$$;
create or replace function pg_temp.result(p_id uuid, p_outcome text, p_sid text) returns integer
language sql as $$
  select private.record_send_results(jsonb_build_array(jsonb_build_object(
    'id', p_id, 'attempt', 1, 'outcome', p_outcome, 'sid', p_sid)))
$$;
create or replace function pg_temp.kept(p_sid text) returns integer
language sql as $$ select count(*)::integer from private.early_status_callbacks where provider_sid = p_sid $$;
create or replace function pg_temp.st(p_id uuid) returns text
language sql as $$ select status || coalesce('/' || error_code, '') from public.messages where id = p_id $$;
create or replace function pg_temp.keep(p_account text, p_sid text, p_status text, p_code text default null,
  p_platform text default null) returns uuid
language sql as $$
  select (private.keep_early_status_callback('AC' || repeat(p_account, 32),
    case when p_platform is null then null else 'AC' || repeat(p_platform, 32) end,
    p_sid, p_status, p_code)).id
$$;

-- delivered before the result: kept, then applied when the dispatcher writes 'sent' ------------
select tests.rls_put('es.m1', pg_temp.sending('es.conv'));
select is(pg_temp.keep('a', 'SMes1', 'delivered'), null, 'early: no message has the sid yet');
select is(pg_temp.kept('SMes1'), 1, 'early: the callback is kept');
select pg_temp.result(tests.rls_id('es.m1'), 'sent', 'SMes1');
select is(pg_temp.st(tests.rls_id('es.m1')), 'delivered', 'result lands: the kept callback moves it to delivered');
select ok((select delivered_at is not null and sent_at is not null from public.messages where id = tests.rls_id('es.m1')),
  'result lands: sent_at and delivered_at set');
select is(pg_temp.kept('SMes1'), 0, 'result lands: the kept callback is deleted');

-- several early ones, out of order and duplicated: forward only, as on arrival ------------------
select tests.rls_put('es.m2', pg_temp.sending('es.conv'));
select pg_temp.keep('a', 'SMes2', 'read');
select pg_temp.keep('a', 'SMes2', 'delivered');
select pg_temp.keep('a', 'SMes2', 'delivered');
select pg_temp.keep('a', 'SMes2', 'failed', '30008');
select is(pg_temp.kept('SMes2'), 3, 'a duplicate callback is kept once');
select pg_temp.result(tests.rls_id('es.m2'), 'sent', 'SMes2');
select is(pg_temp.st(tests.rls_id('es.m2')), 'read', 'out of order: read stays read; a late failed changes nothing');

-- the first error is kept
select tests.rls_put('es.m3', pg_temp.sending('es.conv'));
select pg_temp.keep('a', 'SMes3', 'undelivered', '30005');
select pg_temp.result(tests.rls_id('es.m3'), 'sent', 'SMes3');
select is(pg_temp.st(tests.rls_id('es.m3')), 'undelivered/30005', 'an early undelivered keeps its error code');

-- through a reconcile: the result was unknown, the lookup later finds the copy -------------------
select tests.rls_put('es.m4', pg_temp.sending('es.conv'));
select pg_temp.result(tests.rls_id('es.m4'), 'unknown', null);
select pg_temp.keep('a', 'SMes4', 'delivered');
select is(pg_temp.st(tests.rls_id('es.m4')), 'sending', 'unknown outcome: still sending, callback kept');
select pg_temp.result(tests.rls_id('es.m4'), 'reconciled', 'SMes4');
select is(pg_temp.st(tests.rls_id('es.m4')), 'delivered', 'reconcile attaches the sid: the kept callback applies');

-- the sid landed before the callback: applied at once, nothing kept
select tests.rls_put('es.m5', pg_temp.sending('es.conv'));
select pg_temp.result(tests.rls_id('es.m5'), 'sent', 'SMes5');
select is(pg_temp.keep('a', 'SMes5', 'delivered'), tests.rls_id('es.m5'), 'sid already there: applied to the message');
select is(pg_temp.st(tests.rls_id('es.m5')) || '/' || pg_temp.kept('SMes5'), 'delivered/0', 'and nothing is kept');

-- another business's account: kept, never applied to this business's message -------------------
select tests.rls_put('es.m6', pg_temp.sending('es.conv'));
select pg_temp.keep('e', 'SMes6', 'failed', '30007');
select pg_temp.keep('e', 'SMes6', 'delivered', null, 'e');
select pg_temp.result(tests.rls_id('es.m6'), 'sent', 'SMes6');
select is(pg_temp.st(tests.rls_id('es.m6')), 'sent', 'another account''s early callback does not touch the message');
select is(pg_temp.kept('SMes6'), 2, 'and stays kept (until it expires)');

-- the platform account, for a provisioned business without its own ----------------------------
select tests.rls_put('es.m7', pg_temp.sending('es.pconv'));
select pg_temp.keep('9', 'SMes7', 'delivered', null, '9');
select pg_temp.keep('a', 'SMes7', 'failed', '30007', '9');
select pg_temp.result(tests.rls_id('es.m7'), 'sent', 'SMes7');
select is(pg_temp.st(tests.rls_id('es.m7')), 'delivered', 'platform account: applied to a provisioned business');
select is(pg_temp.kept('SMes7'), 1, 'a business''s own account cannot act for the platform''s messages');

-- what is not kept ------------------------------------------------------------------------------
select pg_temp.keep('a', 'SMes8', 'queued');
select is(pg_temp.kept('SMes8'), 0, 'a state that is not one of ours is not kept');
insert into private.early_status_callbacks (account_sid, provider_sid, status)
select 'AC' || repeat('e', 32), 'SMfill' || g, 'delivered' from generate_series(1, private.max_early_status_callbacks()) g;
select pg_temp.keep('e', 'SMes9', 'delivered');
select is(pg_temp.kept('SMes9'), 0, 'an account at its cap keeps no more');
select pg_temp.keep('a', 'SMes9', 'delivered');
select is(pg_temp.kept('SMes9'), 1, 'other accounts are not held back by it');

-- expiry ------------------------------------------------------------------------------------------
update private.early_status_callbacks set received_at = now() - interval '25 hours' where account_sid = 'AC' || repeat('e', 32);
select is(private.expire_early_status_callbacks(), private.max_early_status_callbacks() + 2,
  'expiry: callbacks older than a day are deleted');
select is(pg_temp.kept('SMes9'), 1, 'expiry: a fresh one stays');
select is((select schedule from cron.job where jobname = 'switchboard-expire-early-callbacks'), '*/10 * * * *',
  'expiry runs from pg_cron every ten minutes');

-- nobody reaches the table ------------------------------------------------------------------------
select is((select relrowsecurity from pg_class where oid = 'private.early_status_callbacks'::regclass), true,
  'RLS is enabled');
select is_empty($$select policyname from pg_policies where schemaname = 'private' and tablename = 'early_status_callbacks'$$,
  'and there is no policy');
select tests.create_user('es-owner@test.local');
select tests.create_user('es-agent@test.local');
select tests.create_user('es-stranger@test.local');
insert into public.tenant_members (tenant_id, user_id, role) values
  (tests.rls_id('es.a'), tests.user_id('es-owner@test.local'), 'owner'),
  (tests.rls_id('es.a'), tests.user_id('es-agent@test.local'), 'agent'),
  (tests.rls_id('es.b'), tests.user_id('es-stranger@test.local'), 'owner');

create or replace function pg_temp.denied(p_who text) returns text
language plpgsql as $$
declare
  v_denied text[] := '{}';
  v_stmt text;
begin
  foreach v_stmt in array array[
    'select count(*) from private.early_status_callbacks',
    $q$insert into private.early_status_callbacks (account_sid, provider_sid, status) values ('AC' || repeat('a', 32), 'SMx', 'delivered')$q$,
    $q$update private.early_status_callbacks set status = 'failed'$q$,
    'delete from private.early_status_callbacks',
    $q$select private.keep_early_status_callback('AC' || repeat('a', 32), null, 'SMx', 'delivered')$q$,
    'select private.expire_early_status_callbacks()'
  ] loop
    begin
      execute v_stmt;
    exception when insufficient_privilege then
      v_denied := v_denied || split_part(v_stmt, ' ', 1);
    end;
  end loop;
  return p_who || ': ' || array_to_string(v_denied, ',');
end;
$$;
grant execute on function pg_temp.denied(text) to authenticated, anon, service_role;
select tests.authenticate_as('es-owner@test.local');
select is(pg_temp.denied('owner'), 'owner: select,insert,update,delete,select,select', 'owner: cannot read, write or call');
select tests.authenticate_as('es-agent@test.local');
select is(pg_temp.denied('agent'), 'agent: select,insert,update,delete,select,select', 'agent: cannot read, write or call');
select tests.authenticate_as('es-stranger@test.local');
select is(pg_temp.denied('stranger'), 'stranger: select,insert,update,delete,select,select', 'another business: cannot read, write or call');
select tests.authenticate_as_anon();
select is(pg_temp.denied('anon'), 'anon: select,insert,update,delete,select,select', 'anon: cannot read, write or call');
select tests.authenticate_as_service_role();
select is(pg_temp.denied('service'), 'service: select,insert,update,delete,select', 'service role: only through keep_early_status_callback');
select tests.clear_authentication();

select * from finish();
rollback;
