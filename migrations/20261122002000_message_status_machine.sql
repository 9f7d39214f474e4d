-- The message status machine. Every status change of public.messages is checked against one
-- explicit table of allowed moves; anything else is refused with SQLSTATE 23514 and the message
-- 'message status cannot go from X to Y'. Setting the same status again is not a move and is
-- always allowed (so idempotent writers need no special case).
--
--   scheduled --> queued --> sending --> sent --> delivered --> read
--       |           |  ^        |          |          |
--       |           |  +--------+          +----------+--> undelivered / failed (delivery callbacks)
--       +--> canceled / failed   \--> failed (last attempt, permanent error)
--
-- Terminal: read, failed, undelivered, canceled, and 'received' (inbound rows never change).
-- 'sending' goes back to 'queued' only for a retry (record_send_result) or an expired lease
-- (expire_leases). 'queued' may jump to 'sent' for one reason: a dispatcher whose lease expired
-- reports that the provider did accept its send; recording that fact is what prevents a second
-- send (see record_send_result).

-- The allowed moves, one row each, with the reason. Immutable and inlined into the trigger.
create or replace function private.message_status_transitions()
returns table (from_status text, to_status text, why text)
language sql immutable set search_path = '' as $$
  values
    ('scheduled', 'queued', 'its time has come (promote_scheduled)'),
    ('scheduled', 'canceled', 'canceled by a member, or its appointment was canceled'),
    ('scheduled', 'failed', 'a sending rule blocks it when it is re-checked'),
    ('queued', 'sending', 'claimed by the dispatcher (claim_due_messages)'),
    ('queued', 'canceled', 'canceled by a member, or blocked at claim by opt-out or consent'),
    ('queued', 'failed', 'blocked at claim: no address, WhatsApp window closed'),
    ('queued', 'sent', 'a late success from a dispatcher whose lease expired'),
    ('sending', 'sent', 'the provider accepted it (record_send_result)'),
    ('sending', 'queued', 'a transient error to retry, or an expired lease (expire_leases)'),
    ('sending', 'failed', 'a permanent error, the last attempt, or a rule blocked it'),
    ('sent', 'delivered', 'delivery callback'),
    ('sent', 'read', 'read callback (WhatsApp), delivered implied'),
    ('sent', 'undelivered', 'delivery failure callback'),
    ('sent', 'failed', 'failure callback'),
    ('delivered', 'read', 'read callback (WhatsApp)')
$$;
comment on function private.message_status_transitions() is
  'The message status machine: every allowed (from, to) move with its reason. Same-status writes are not moves and always allowed; read, failed, undelivered, canceled and received are terminal.';
revoke all on function private.message_status_transitions() from public;
grant execute on function private.message_status_transitions() to authenticated, service_role;

create or replace function private.message_status_transition_allowed(p_from text, p_to text)
returns boolean
language sql immutable set search_path = '' as $$
  select p_from = p_to or exists (
    select 1 from private.message_status_transitions() t
    where t.from_status = p_from and t.to_status = p_to
  )
$$;
comment on function private.message_status_transition_allowed(text, text) is
  'True when a message may move from p_from to p_to (or stays in the same status).';
revoke all on function private.message_status_transition_allowed(text, text) from public;
grant execute on function private.message_status_transition_allowed(text, text)
  to authenticated, service_role;

-- Enforcement lives in the triggers' WHEN clauses, so an allowed move costs no function call at
-- all (the claim moves 100 rows at a time, and a call per row would double its cost); the trigger
-- function below runs only to refuse. The WHEN lists must equal private.message_status_transitions():
-- dev/tests/db/20_outbox_status_machine.test.sql tries all 100 pairs against both.
-- Security invoker on purpose: it reads nothing but the row.
create or replace function private.refuse_message_status()
returns trigger
language plpgsql set search_path = '' as $$
begin
  if tg_op = 'INSERT' then
    if new.direction = 'inbound' then
      raise exception 'an inbound message must have status received, not %', new.status
        using errcode = '23514';
    end if;
    raise exception 'a new outbound message cannot start as %', new.status
      using errcode = '23514',
        hint = 'insert it as queued (send now) or scheduled (with scheduled_for)';
  end if;
  raise exception 'message status cannot go from % to %', old.status, new.status
    using errcode = '23514',
      detail = format('message %s', old.id),
      hint = coalesce(
        'allowed from ' || old.status || ': ' || (
          select string_agg(t.to_status, ', ' order by t.to_status)
          from private.message_status_transitions() t where t.from_status = old.status
        ),
        old.status || ' is terminal'
      );
end;
$$;
comment on function private.refuse_message_status() is
  'Trigger: raises 23514 for a message status the machine does not allow (fired only by the WHEN clauses of messages_status_machine*).';
revoke all on function private.refuse_message_status() from public;

-- A new row starts where its direction allows: inbound is 'received'; outbound is 'scheduled' or
-- 'queued', or a final status when history is imported (twilio-sync) or a rule blocked it (this
-- trigger runs after messages_enqueue_rules: BEFORE triggers fire in name order). Never
-- 'sending': only a claim puts a row there, with a lease.
create trigger messages_status_machine_insert
  before insert on public.messages
  for each row
  when ((new.direction = 'inbound' and new.status <> 'received')
    or (new.direction = 'outbound' and new.status in ('received', 'sending')))
  execute function private.refuse_message_status();

create trigger messages_status_machine
  before update of status on public.messages
  for each row
  when (old.status <> new.status and (old.status || '>' || new.status) <> all (array[
    'scheduled>queued', 'scheduled>canceled', 'scheduled>failed',
    'queued>sending', 'queued>canceled', 'queued>failed', 'queued>sent',
    'sending>sent', 'sending>queued', 'sending>failed',
    'sent>delivered', 'sent>read', 'sent>undelivered', 'sent>failed',
    'delivered>read'
  ]))
  execute function private.refuse_message_status();

-- A scheduled row without a time would never be promoted.
alter table public.messages add constraint messages_scheduled_has_time
  check (status <> 'scheduled' or scheduled_for is not null);
