-- private.record_inbound_many (twilio-inbound's grouped writes): one record_inbound per item, in
-- the given order of results, a bad item failing alone, retries inside one group, and who may
-- call it.
begin;
select plan(12);

create temp table t as select tests.inbound_tenant('many-clinic', '+15550003700') as a;
grant select on t to service_role;

create temp table items as select jsonb_build_array(
  jsonb_build_object('channel', 'sms', 'from', '+15550003702', 'to', '+15550003700',
    'body', 'second sender', 'provider_sid', 'SMmany2', 'media', '[]'::jsonb, 'tenant_id', (select a from t)),
  jsonb_build_object('channel', 'sms', 'from', '+15550003701', 'to', '+15550003700',
    'body', 'first sender', 'provider_sid', 'SMmany1', 'media', '[]'::jsonb, 'tenant_id', (select a from t)),
  jsonb_build_object('channel', 'sms', 'from', '+12345678', 'to', '+15550003700',
    'body', 'bad sender', 'provider_sid', 'SMmany3', 'media', '[]'::jsonb, 'tenant_id', (select a from t)),
  jsonb_build_object('channel', 'sms', 'from', '+15550003702', 'to', '+15550003700',
    'body', 'second sender', 'provider_sid', 'SMmany2', 'media', '[]'::jsonb, 'tenant_id', (select a from t))
) as j;
grant select on items to anon, authenticated, service_role;

-- Who may call it: the service role, nobody else.
select tests.create_user('many-owner@example.com');
select tests.authenticate_as('many-owner@example.com');
select throws_ok($$ select private.record_inbound_many((select j from items)) $$, '42501', null,
  'a signed-in user cannot call record_inbound_many');
select tests.authenticate_as_anon();
select throws_ok($$ select private.record_inbound_many((select j from items)) $$, '42501', null,
  'anon cannot call record_inbound_many');

select tests.authenticate_as_service_role();
select throws_ok($$ select private.record_inbound_many('{"not": "an array"}') $$, '22023', null,
  'anything but an array is refused');

-- An item that fails late (its contact and conversation already written) takes them back with it.
reset role;
create function pg_temp.refuse_message() returns trigger language plpgsql as $f$
begin
  if new.body = 'refuse me' then
    raise exception 'refused (test)' using errcode = '23514';
  end if;
  return new;
end $f$;
create trigger refuse_message before insert on public.messages
  for each row execute function pg_temp.refuse_message();
select tests.authenticate_as_service_role();
create temp table late as select private.record_inbound_many(jsonb_build_array(
  jsonb_build_object('channel', 'sms', 'from', '+15550003709', 'to', '+15550003700',
    'body', 'refuse me', 'provider_sid', 'SMmany9', 'media', '[]'::jsonb, 'tenant_id', (select a from t))
)) as r;
select is((select r -> 0 -> 'error' ->> 'code' from late), '23514', 'a late failure is reported with its SQLSTATE');
select is((select count(*)::integer from public.contacts c where c.phone = '+15550003709'), 0,
  'and leaves neither contact nor conversation behind');
reset role;
drop trigger refuse_message on public.messages;
select tests.authenticate_as_service_role();
create temp table r as select private.record_inbound_many((select j from items)) as r;
select is(jsonb_array_length((select r from r)), 4, 'one result per item');
select is((select r -> 1 -> 'ok' ->> 'duplicate' from r), 'false', 'the first sender''s message is new');
select is((select r -> 0 -> 'ok' ->> 'duplicate' from r), 'false',
  'the second sender''s first copy is new (results stay in the given order)');
select is((select r -> 3 -> 'ok' ->> 'duplicate' from r), 'true', 'its retry in the same group is a duplicate');
select is((select r -> 2 -> 'error' ->> 'code' from r), '22023', 'the bad sender fails with its SQLSTATE');
select is((select count(*)::integer from public.messages where provider_sid in ('SMmany1', 'SMmany2', 'SMmany3')), 2,
  'the two good messages are stored once each, the bad one not at all');
select is((select count(*)::integer from public.contacts c where c.tenant_id = (select a from t)), 2,
  'the bad item left no contact behind');

select * from finish();
rollback;
