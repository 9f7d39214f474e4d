-- The message status machine: every (from, to) pair is tried on a real row; exactly the moves
-- listed below may happen, everything else is refused with 23514.
begin;
select plan(14);

select tests.ob_tenant('ob-machine') as tenant \gset
select tests.ob_contact(:'tenant') as contact \gset
select tests.ob_conversation(:'contact', 'sms') as conv \gset

-- Puts a fresh row in p_from (the way the system would get it there), tries to move it to p_to,
-- and says whether the trigger let it. Only the status machine's refusal (23514) counts as "no".
create function pg_temp.make_row(p_conv uuid, p_status text) returns uuid
language plpgsql as $$
declare
  v_id uuid;
begin
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    status, scheduled_for)
  select cv.tenant_id, cv.id, cv.contact_id,
    case when p_status = 'received' then 'inbound' else 'outbound' end, cv.channel,
    case when p_status = 'received' then 'inbound' else 'manual' end,
    case when p_status = 'sending' then 'queued' else p_status end,
    now() + interval '1 day'
  from public.conversations cv where cv.id = p_conv
  returning id into v_id;
  if p_status = 'sending' then
    update public.messages set status = 'sending' where id = v_id;
  end if;
  return v_id;
end;
$$;

create function pg_temp.status_of(p_id uuid) returns text
language plpgsql as $$
begin
  return (select status from public.messages where id = p_id);
end;
$$;

create function pg_temp.try_move(p_conv uuid, p_from text, p_to text) returns boolean
language plpgsql as $$
declare
  v_id uuid := pg_temp.make_row(p_conv, p_from);
begin
  update public.messages set status = p_to where id = v_id;
  return true;
exception when check_violation then
  return false;
end;
$$;

create temp table statuses (s text);
insert into statuses values ('scheduled'), ('queued'), ('sending'), ('sent'), ('delivered'),
  ('read'), ('failed'), ('undelivered'), ('canceled'), ('received');

select results_eq(
  format($$ select s.s, pg_temp.status_of(pg_temp.make_row(%L, s.s)) from statuses s
     order by 1 $$, :'conv'),
  $$ select s, s from statuses order by 1 $$,
  'the fixture puts a row in each of the 10 statuses'
);

select results_eq(
  format($$ select a.s, b.s from statuses a, statuses b
     where a.s <> b.s and pg_temp.try_move(%L, a.s, b.s)
     order by 1, 2 $$, :'conv'),
  $$ values
     ('delivered', 'read'),
     ('queued', 'canceled'), ('queued', 'failed'), ('queued', 'sending'), ('queued', 'sent'),
     ('scheduled', 'canceled'), ('scheduled', 'failed'), ('scheduled', 'queued'),
     ('sending', 'failed'), ('sending', 'queued'), ('sending', 'sent'),
     ('sent', 'delivered'), ('sent', 'failed'), ('sent', 'read'), ('sent', 'undelivered')
  $$,
  'exactly the documented moves are allowed; all 75 others are refused'
);

select is(
  (select count(*)::integer from statuses s where pg_temp.try_move(:'conv'::uuid, s.s, s.s)),
  10,
  'writing the same status again is never refused'
);

select results_eq(
  $$ select from_status, to_status from private.message_status_transitions() order by 1, 2 $$,
  $$ values
     ('delivered', 'read'),
     ('queued', 'canceled'), ('queued', 'failed'), ('queued', 'sending'), ('queued', 'sent'),
     ('scheduled', 'canceled'), ('scheduled', 'failed'), ('scheduled', 'queued'),
     ('sending', 'failed'), ('sending', 'queued'), ('sending', 'sent'),
     ('sent', 'delivered'), ('sent', 'failed'), ('sent', 'read'), ('sent', 'undelivered')
  $$,
  'the documented transition table lists exactly the enforced moves'
);
select is(
  (select count(*)::integer from statuses a, statuses b
   where private.message_status_transition_allowed(a.s, b.s)),
  25,
  'message_status_transition_allowed: the 15 moves plus the 10 same-status writes'
);

-- The error a writer sees.
select (tests.ob_send(:'conv')).id as row \gset
update public.messages set status = 'sending' where id = :'row';
update public.messages set status = 'sent' where id = :'row';
select throws_ok(
  format('update public.messages set status = %L where id = %L', 'queued', :'row'),
  '23514',
  'message status cannot go from sent to queued',
  'a backward move is refused with a clear message'
);
update public.messages set status = 'delivered' where id = :'row';
update public.messages set status = 'read' where id = :'row';
select throws_ok(
  format('update public.messages set status = %L where id = %L', 'delivered', :'row'),
  '23514',
  'message status cannot go from read to delivered',
  'read is terminal'
);

select (tests.ob_send(:'conv')).id as row2 \gset
update public.messages set status = 'canceled' where id = :'row2';
select throws_ok(
  format('update public.messages set status = %L where id = %L', 'queued', :'row2'),
  '23514',
  'message status cannot go from canceled to queued',
  'canceled is terminal'
);

-- Inserts: inbound rows are received; outbound rows never start as sending or received.
select throws_ok(
  format($$insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
    kind, status) values (%L, %L, %L, 'inbound', 'sms', 'inbound', 'queued')$$,
    :'tenant', :'conv', :'contact'),
  '23514',
  'an inbound message must have status received, not queued',
  'an inbound row must be received'
);
select throws_ok(
  format($$insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
    kind, status) values (%L, %L, %L, 'outbound', 'sms', 'manual', 'sending')$$,
    :'tenant', :'conv', :'contact'),
  '23514',
  'a new outbound message cannot start as sending',
  'an outbound row cannot start as sending'
);
select throws_ok(
  format($$insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
    kind, status) values (%L, %L, %L, 'outbound', 'sms', 'manual', 'received')$$,
    :'tenant', :'conv', :'contact'),
  '23514',
  'a new outbound message cannot start as received',
  'an outbound row cannot be received'
);
select lives_ok(
  format($$insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
    kind, status, provider_sid) values (%L, %L, %L, 'outbound', 'sms', 'manual', 'delivered', 'SMimported1')$$,
    :'tenant', :'conv', :'contact'),
  'history imported from the provider may start in a final status'
);
select throws_ok(
  format($$insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
    kind, status) values (%L, %L, %L, 'outbound', 'sms', 'manual', 'scheduled')$$,
    :'tenant', :'conv', :'contact'),
  '23514',
  null,
  'a scheduled row needs scheduled_for'
);
select is(
  (select status from public.messages where id = :'row'),
  'read',
  'refused moves left the row where it was'
);

select * from finish();
rollback;
