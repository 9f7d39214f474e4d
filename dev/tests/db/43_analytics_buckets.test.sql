-- public.analytics first_response_buckets (the first-response time distribution): each band edge,
-- the same "first response" as the mean and median, the window, members only, an empty tenant.
begin;
select plan(20);

select tests.cron_tenant('buckets-shop', 'buckets-owner@test.local') as t \gset
select tests.cron_tenant('buckets-empty', 'buckets-lonely@test.local') as t_empty \gset
select tests.cron_tenant('buckets-other', 'buckets-stranger@test.local') as t_other \gset
select tests.cron_member(:'t', 'buckets-agent@test.local', 'agent') as agent \gset

-- One contact and one sms conversation per case (a conversation is unique per contact+channel).
create temp table fx (n integer primary key, contact_id uuid, conversation_id uuid);
insert into fx (n, contact_id)
select n, tests.cron_contact(:'t', 'Case ' || n, '+1555043' || lpad(n::text, 4, '0'), true)
from generate_series(1, 15) n;
with c as (
  insert into public.conversations (tenant_id, contact_id, channel)
  select :'t', fx.contact_id, 'sms' from fx
  returning id, contact_id
)
update fx set conversation_id = c.id from c where c.contact_id = fx.contact_id;

-- Every case's first inbound message is at b (3 days ago, 10:00 UTC = the tenant's timezone, so
-- no row crosses midnight whenever this runs); `after` is relative to b. First response, by case:
--    1  manual 60 s                                   < 5 min
--    2  auto_reply 299 s (just under 5 min)           < 5 min
--    3  manual 300 s (exactly 5 min)                  5-15 min
--    4  bulk at 10 s (not a response), manual 600 s   5-15 min
--    5  failed manual at 30 s (not one), manual 20 min 15-60 min
--    6  manual 3599 s                                 15-60 min
--    7  manual 3600 s (exactly 1 h)                   1-4 h
--    8  second inbound at 1 h, manual at 1 h 1 min:   1-4 h (3660 s, from the FIRST inbound)
--    9  manual 14400 s (exactly 4 h)                  4-24 h
--   10  manual 86399 s                                4-24 h
--   11  manual 86400 s (exactly 24 h)                 >= 24 h
--   12  a manual message 10 min BEFORE the inbound, nothing after: unanswered
--   13  not used: contact without messages (no inbound, not counted at all)
--   14  inbound 40 days ago, manual 60 s later: < 5 min, in the 90-day window only
--   15  manual at the same instant (0 s)             < 5 min
-- Delays in 30 days: 0, 60, 299, 300, 600, 1200, 3599, 3600, 3660, 14400, 86399, 86400
--   -> buckets [3, 2, 2, 2, 2, 1], 12 responded of 13, median (1200 + 3599) / 2 = 2399.5,
--      mean 200517 / 12 = 16709.75 -> 16709.8.
select date_trunc('day', now()) + interval '10 hours' - interval '3 days' as b \gset
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body,
  status, created_at)
select :'t', fx.conversation_id, fx.contact_id, v.direction, 'sms', v.kind, 'case ' || v.n,
  v.status, :'b'::timestamptz + v.after
from (values
  (1, 'inbound', 'inbound', 'received', interval '0'),
  (1, 'outbound', 'manual', 'delivered', interval '60 seconds'),
  (2, 'inbound', 'inbound', 'received', interval '0'),
  (2, 'outbound', 'auto_reply', 'read', interval '299 seconds'),
  (3, 'inbound', 'inbound', 'received', interval '0'),
  (3, 'outbound', 'manual', 'sent', interval '300 seconds'),
  (4, 'inbound', 'inbound', 'received', interval '0'),
  (4, 'outbound', 'bulk', 'delivered', interval '10 seconds'),
  (4, 'outbound', 'manual', 'delivered', interval '600 seconds'),
  (5, 'inbound', 'inbound', 'received', interval '0'),
  (5, 'outbound', 'manual', 'failed', interval '30 seconds'),
  (5, 'outbound', 'manual', 'delivered', interval '20 minutes'),
  (6, 'inbound', 'inbound', 'received', interval '0'),
  (6, 'outbound', 'manual', 'delivered', interval '3599 seconds'),
  (7, 'inbound', 'inbound', 'received', interval '0'),
  (7, 'outbound', 'manual', 'delivered', interval '3600 seconds'),
  (8, 'inbound', 'inbound', 'received', interval '0'),
  (8, 'inbound', 'inbound', 'received', interval '1 hour'),
  (8, 'outbound', 'manual', 'delivered', interval '1 hour 1 minute'),
  (9, 'inbound', 'inbound', 'received', interval '0'),
  (9, 'outbound', 'manual', 'delivered', interval '14400 seconds'),
  (10, 'inbound', 'inbound', 'received', interval '0'),
  (10, 'outbound', 'manual', 'delivered', interval '86399 seconds'),
  (11, 'inbound', 'inbound', 'received', interval '0'),
  (11, 'outbound', 'manual', 'delivered', interval '86400 seconds'),
  (12, 'outbound', 'manual', 'delivered', interval '-10 minutes'),
  (12, 'inbound', 'inbound', 'received', interval '0'),
  (14, 'inbound', 'inbound', 'received', interval '-37 days'),
  (14, 'outbound', 'manual', 'delivered', interval '-37 days' + interval '60 seconds'),
  (15, 'inbound', 'inbound', 'received', interval '0'),
  (15, 'outbound', 'manual', 'delivered', interval '0')
) v (n, direction, kind, status, after)
join fx using (n);

-- Bucket i's count (0-based, fastest first) in a result.
create function pg_temp.bucket(p_result jsonb, p_i integer) returns integer
language sql immutable as $$
  select (p_result -> 'first_response_buckets' -> p_i ->> 'conversations')::integer
$$;

-- As the owner, through RLS ---------------------------------------------------------------------
select tests.authenticate_as('buckets-owner@test.local');
select public.analytics(:'t', 30) as a30 \gset
select is(:'a30'::jsonb -> 'first_response_buckets',
  '[{"from_seconds": 0, "to_seconds": 300, "conversations": 3},
    {"from_seconds": 300, "to_seconds": 900, "conversations": 2},
    {"from_seconds": 900, "to_seconds": 3600, "conversations": 2},
    {"from_seconds": 3600, "to_seconds": 14400, "conversations": 2},
    {"from_seconds": 14400, "to_seconds": 86400, "conversations": 2},
    {"from_seconds": 86400, "to_seconds": null, "conversations": 1}]'::jsonb,
  'six bands, fastest first, with their edges and counts');
select is(pg_temp.bucket(:'a30', 0), 3, '< 5 min: 0 s, 60 s and 299 s (the upper edge is exclusive)');
select is(pg_temp.bucket(:'a30', 1), 2,
  '5-15 min: exactly 300 s, and 600 s after a bulk message that is not a response');
select is(pg_temp.bucket(:'a30', 2), 2, '15-60 min: 20 min after a failed reply, and 3599 s');
select is(pg_temp.bucket(:'a30', 3), 2,
  '1-4 h: exactly 1 h, and 3660 s counted from the first inbound message, not the second');
select is(pg_temp.bucket(:'a30', 4), 2, '4-24 h: exactly 4 h, and 86399 s');
select is(pg_temp.bucket(:'a30', 5), 1, '>= 24 h: exactly 24 h');
select is((:'a30'::jsonb ->> 'responded_conversations')::integer, 12,
  'a reply sent before the inbound message is not a response');
select is((:'a30'::jsonb ->> 'conversations_with_inbound')::integer, 13,
  'the unanswered conversation counts as having inbound messages');
select is(
  (select sum((x ->> 'conversations')::integer)::integer
   from jsonb_array_elements(:'a30'::jsonb -> 'first_response_buckets') x),
  (:'a30'::jsonb ->> 'responded_conversations')::integer,
  'the buckets add up to the responded conversations');
select is((:'a30'::jsonb #>> '{first_response_seconds,median}')::numeric, 2399.5,
  'the median is over the same delays as the buckets');
select is((:'a30'::jsonb #>> '{first_response_seconds,mean}')::numeric, 16709.8,
  'and so is the mean');
select is(public.analytics(:'t', 7) -> 'first_response_buckets', :'a30'::jsonb -> 'first_response_buckets',
  '7 days: the same buckets (everything but case 14 is 3 days old)');
select is(pg_temp.bucket(public.analytics(:'t', 90), 0), 4,
  '90 days: the 40-day-old conversation joins the < 5 min band');
select is(pg_temp.bucket(public.analytics(:'t', 90), 5), 1, '90 days: the other bands are unchanged');

-- An agent of the tenant, the service role, a stranger -------------------------------------------
select tests.authenticate_as('buckets-agent@test.local');
select is(public.analytics(:'t', 30) -> 'first_response_buckets', :'a30'::jsonb -> 'first_response_buckets',
  'an agent sees the same distribution');
select tests.authenticate_as_service_role();
select is(public.analytics(:'t', 30) -> 'first_response_buckets', :'a30'::jsonb -> 'first_response_buckets',
  'so does the service role');
select tests.authenticate_as('buckets-stranger@test.local');
select throws_ok(format('select public.analytics(%L, 30)', :'t'), '42501', 'not a member of this tenant',
  'a member of another tenant gets an error, not our distribution');
select is(
  (select sum((x ->> 'conversations')::integer)::integer
   from jsonb_array_elements(public.analytics(:'t_other', 30) -> 'first_response_buckets') x),
  0, 'and their own tenant''s distribution does not include ours');

-- An empty tenant: six zero bands, not nulls or a missing key.
select tests.authenticate_as('buckets-lonely@test.local');
select is(
  (select jsonb_agg(x ->> 'conversations') from jsonb_array_elements(
     public.analytics(:'t_empty', 365) -> 'first_response_buckets') x),
  '["0", "0", "0", "0", "0", "0"]'::jsonb, 'no conversations: six bands of zero');
select tests.clear_authentication();

select * from finish();
rollback;
