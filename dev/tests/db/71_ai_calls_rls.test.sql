-- public.ai_calls under RLS: members of a tenant read its AI calls; a member of another tenant,
-- anon and authenticated writers get nothing; only the service role (the dispatcher) inserts.
begin;
select plan(10);

create temp table ids (k text primary key, v uuid) on commit drop;
grant select on ids to authenticated, anon, service_role;
insert into ids values
  ('a', tests.inbound_tenant('ai71-a')),
  ('b', tests.inbound_tenant('ai71-b')),
  ('a_owner', tests.create_user('ai71-a-owner@test.local')),
  ('a_agent', tests.create_user('ai71-a-agent@test.local')),
  ('b_owner', tests.create_user('ai71-b-owner@test.local'));
insert into public.tenant_members (tenant_id, user_id, role) values
  ((select v from ids where k = 'a'), (select v from ids where k = 'a_owner'), 'owner'),
  ((select v from ids where k = 'a'), (select v from ids where k = 'a_agent'), 'agent'),
  ((select v from ids where k = 'b'), (select v from ids where k = 'b_owner'), 'owner');
insert into public.ai_calls (tenant_id, purpose, provider, model, latency_ms, input_tokens, output_tokens, outcome)
values ((select v from ids where k = 'a'), 'auto_reply', 'anthropic', 'claude-haiku-4-5', 420, 900, 40, 'reply'),
  ((select v from ids where k = 'b'), 'enhance', 'gemini', 'gemini-2.5-flash', 310, 500, 60, 'fallback');

-- Owner and agent of A
select tests.authenticate_as('ai71-a-owner@test.local');
select is((select count(*) from public.ai_calls where tenant_id in (select v from ids where k in ('a', 'b'))),
  1::bigint, 'owner: sees only their tenant''s AI calls');
select throws_ok($$insert into public.ai_calls (tenant_id, purpose, provider, model, latency_ms, outcome)
  values ((select v from ids where k = 'a'), 'auto_reply', 'anthropic', 'm', 1, 'reply')$$,
  '42501', null, 'owner: cannot write AI calls');
select throws_ok($$update public.ai_calls set outcome = 'error'$$, '42501', null, 'owner: cannot edit AI calls');
select throws_ok($$delete from public.ai_calls$$, '42501', null, 'owner: cannot delete AI calls');
select tests.authenticate_as('ai71-a-agent@test.local');
select is((select model from public.ai_calls where tenant_id in (select v from ids where k in ('a', 'b'))),
  'claude-haiku-4-5', 'agent: sees their tenant''s AI calls too');

-- Stranger (owner of B)
select tests.authenticate_as('ai71-b-owner@test.local');
select is((select count(*) from public.ai_calls where tenant_id = (select v from ids where k = 'a')),
  0::bigint, 'stranger: sees nothing of another tenant');

-- anon
select tests.authenticate_as_anon();
select throws_ok($$select count(*) from public.ai_calls$$, '42501', null, 'anon: no access at all');

-- service role: the dispatcher
select tests.authenticate_as_service_role();
select lives_ok($$insert into public.ai_calls (tenant_id, purpose, provider, model, latency_ms, outcome, error_code)
  values ((select v from ids where k = 'a'), 'auto_reply', 'gemini', 'gemini-2.5-flash', 8000, 'error', 'timeout')$$,
  'service role: records AI calls');
select is((select count(*) from public.ai_calls where tenant_id = (select v from ids where k = 'a')),
  2::bigint, 'service role: reads every tenant''s AI calls');
select tests.clear_authentication();
select throws_ok($$insert into public.ai_calls (tenant_id, purpose, provider, model, latency_ms, outcome)
  values ((select v from ids where k = 'a'), 'chat', 'anthropic', 'm', 1, 'reply')$$,
  '23514', null, 'purpose is checked');

select * from finish();
rollback;
