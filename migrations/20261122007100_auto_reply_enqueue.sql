-- When an AI auto-reply is wanted: a trigger on inbound messages enqueues ONE 'auto_reply' outbound
-- row (empty body, composed by the dispatcher when claimed) if every rule below allows it, and a
-- human reply pauses the AI in that conversation. The dispatcher side (what to say) is in
-- 20261122007200_auto_reply_compose.sql and functions/_shared/auto_reply.ts.
--
-- The outbox rules (20261122002100) already fit an auto_reply row: an empty body is allowed until
-- composed, quiet hours exempt the kind (it answers a message just written), the contact rules
-- (opt-out, address) and the WhatsApp window apply as to any message. No change to them needed.
--
-- Burst / debounce: the row is due `auto_reply_debounce_ms` (private.settings, default 2000) after
-- the inbound message. Another inbound message of the same conversation before it is claimed
-- pushes its next_attempt_at instead of adding a second row (a partial unique index makes this an
-- atomic upsert, so concurrent webhooks cannot add two). The dispatcher waits for such rows
-- (functions/_shared/auto_reply.ts debounceWaitMs) instead of the next cron minute.

-- At most one auto_reply per conversation waiting to be claimed.
create unique index messages_auto_reply_pending_idx on public.messages (conversation_id)
  where kind = 'auto_reply' and status = 'queued' and attempts = 0;
-- The cap and the bot-loop guard read one conversation's recent messages through
-- messages_conversation_created_idx (a conversation holds few rows; no extra index to maintain on
-- every message insert).

-- Business hours ------------------------------------------------------------------------------------
-- tenants.business_hours: {"mon": ["09:00","17:00"], ..., "sun": null} in the tenant's timezone.
-- A close at or before the open crosses midnight ("22:00"-"02:00"); a missing/null day is closed.
create or replace function private.within_business_hours(
  p_hours jsonb, p_timezone text, p_at timestamptz
) returns boolean
language plpgsql stable set search_path = '' as $$
declare
  v_local timestamp := p_at at time zone private.effective_timezone(null, p_timezone);
  v_day jsonb := p_hours -> lower(to_char(v_local, 'Dy'));
  v_open time;
  v_close time;
begin
  if v_day is null or jsonb_typeof(v_day) <> 'array' or jsonb_array_length(v_day) < 2 then
    return false;
  end if;
  v_open := (v_day ->> 0)::time;
  v_close := (v_day ->> 1)::time;
  if v_close > v_open then
    return v_local::time >= v_open and v_local::time < v_close;
  end if;
  return v_local::time >= v_open or v_local::time < v_close;
exception when invalid_datetime_format or datetime_field_overflow then
  return false; -- a malformed day counts as closed
end;
$$;
comment on function private.within_business_hours(jsonb, text, timestamptz) is
  'True when p_at falls inside the opening hours of its weekday ({"mon": ["09:00","17:00"], ...}, in p_timezone). Null/missing/malformed days are closed; close <= open crosses midnight.';
revoke all on function private.within_business_hours(jsonb, text, timestamptz) from public;
grant execute on function private.within_business_hours(jsonb, text, timestamptz)
  to authenticated, service_role;

-- Settings ------------------------------------------------------------------------------------------
create or replace function private.auto_reply_debounce() returns interval
language sql stable set search_path = '' as $$
  select make_interval(secs => coalesce(
    (select nullif(s.value, '')::numeric from private.settings s
      where s.key = 'auto_reply_debounce_ms'), 2000) / 1000.0)
$$;
comment on function private.auto_reply_debounce() is
  'How long an auto-reply waits for more inbound messages of the same burst: private.settings auto_reply_debounce_ms, default 2000 ms (0 for benchmarks).';
revoke all on function private.auto_reply_debounce() from public;
grant execute on function private.auto_reply_debounce() to service_role;

-- The rules -------------------------------------------------------------------------------------------
-- Why an inbound message gets no auto-reply (null = it gets one). In order:
--   disabled           tenants.auto_reply_enabled is off
--   conversation_spam  the conversation is marked spam
--   ai_paused          paused by a member, or ai_paused_until (a human replied) in the future
--   needs_human        the AI handed the conversation to a person
--   keyword            STOP/START/HELP and synonyms (handled by record_inbound, never the AI)
--   auto_submitted     an auto-responder (email Auto-Submitted; imports)
--   empty              no text to answer (media only)
--   repeated_text      the same text as the two inbound messages before it (a bot or a loop)
--   echo               the same text as our last outbound message (a bot echoing us)
--   contact_blocked    the contact cannot be messaged on the channel (opt-out, no address)
--   outside_hours / within_hours   tenants.auto_reply_hours vs. business_hours
--   cap                tenants.auto_reply_cap_per_hour auto-replies in the last hour (0 = never)
-- The cap counts auto-replies claimed or sent (not canceled, not the one still waiting, which a
-- burst reuses).
create or replace function private.auto_reply_skip_reason(p_message public.messages)
returns text
language plpgsql stable security definer set search_path = '' as $$
declare
  v_tenant public.tenants;
  v_conv public.conversations;
  v_contact public.contacts;
  v_norm text := lower(regexp_replace(trim(coalesce(p_message.body, '')), '\s+', ' ', 'g'));
  v_count integer;
  v_open boolean;
begin
  if p_message.direction <> 'inbound' then
    return 'not_inbound';
  end if;
  select * into v_tenant from public.tenants t where t.id = p_message.tenant_id;
  if not coalesce(v_tenant.auto_reply_enabled, false) then
    return 'disabled';
  end if;
  select * into v_conv from public.conversations c where c.id = p_message.conversation_id;
  if v_conv.status = 'spam' then
    return 'conversation_spam';
  end if;
  if v_conv.ai_paused or v_conv.ai_paused_until > now() then
    return 'ai_paused';
  end if;
  if v_conv.needs_human then
    return 'needs_human';
  end if;
  if private.inbound_keyword(p_message.body) is not null then
    return 'keyword';
  end if;
  if p_message.auto_submitted then
    return 'auto_submitted';
  end if;
  if v_norm = '' then
    return 'empty';
  end if;

  select count(*) into v_count
  from (
    select lower(regexp_replace(trim(m.body), '\s+', ' ', 'g')) as norm
    from public.messages m
    where m.conversation_id = p_message.conversation_id and m.kind in ('inbound', 'form')
      and m.id <> p_message.id and m.created_at <= p_message.created_at
    order by m.created_at desc
    limit 2
  ) prev
  where prev.norm = v_norm;
  if v_count = 2 then
    return 'repeated_text';
  end if;
  if exists (
    select 1 from (
      select m.body from public.messages m
      where m.conversation_id = p_message.conversation_id and m.direction = 'outbound'
        and m.body <> '' and m.status not in ('canceled', 'failed')
      order by m.created_at desc
      limit 1
    ) last_out
    where lower(regexp_replace(trim(last_out.body), '\s+', ' ', 'g')) = v_norm
  ) then
    return 'echo';
  end if;

  select * into v_contact from public.contacts c where c.id = p_message.contact_id;
  if private.contact_block_reason(v_contact, p_message.channel, 'auto_reply') is not null then
    return 'contact_blocked';
  end if;

  if v_tenant.auto_reply_hours <> 'always' then
    v_open := private.within_business_hours(v_tenant.business_hours, v_tenant.timezone, now());
    if v_tenant.auto_reply_hours = 'outside_hours' and v_open then
      return 'within_hours';
    elsif v_tenant.auto_reply_hours = 'within_hours' and not v_open then
      return 'outside_hours';
    end if;
  end if;

  select count(*) into v_count
  from public.messages m
  where m.conversation_id = p_message.conversation_id and m.kind = 'auto_reply'
    and m.created_at > now() - interval '1 hour'
    and m.status <> 'canceled'
    and not (m.status = 'queued' and m.attempts = 0);
  if v_count >= v_tenant.auto_reply_cap_per_hour then
    return 'cap';
  end if;
  return null;
end;
$$;
comment on function private.auto_reply_skip_reason(public.messages) is
  'Why an inbound message gets no AI auto-reply, null when it gets one: disabled, conversation_spam, ai_paused, needs_human, keyword, auto_submitted, empty, repeated_text, echo, contact_blocked, within_hours/outside_hours, cap.';
revoke all on function private.auto_reply_skip_reason(public.messages) from public;
grant execute on function private.auto_reply_skip_reason(public.messages) to service_role;

-- AFTER INSERT on inbound messages: enqueue (or push back) the conversation's auto-reply.
-- The placeholder row has no text yet, so the conversation's inbox columns (last_outbound_at,
-- last_message_at, last_message_preview), which messages_touch_conversation (20261122003300)
-- updates for every outbound insert, are put back as the inbound message left them; they move
-- when the reply is composed (private.auto_reply_apply).
create or replace function private.enqueue_auto_reply()
returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_due timestamptz;
  v_before public.conversations;
begin
  if private.auto_reply_skip_reason(new) is not null then
    return null;
  end if;
  v_due := now() + private.auto_reply_debounce();
  select * into v_before from public.conversations c where c.id = new.conversation_id;
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, status, next_attempt_at, in_reply_to)
  values (new.tenant_id, new.conversation_id, new.contact_id, 'outbound', new.channel,
    'auto_reply', '', 'queued', v_due, new.email_message_id)
  on conflict (conversation_id) where kind = 'auto_reply' and status = 'queued' and attempts = 0
  do update set next_attempt_at = greatest(public.messages.next_attempt_at, excluded.next_attempt_at),
    in_reply_to = coalesce(excluded.in_reply_to, public.messages.in_reply_to);
  update public.conversations c
  set last_outbound_at = v_before.last_outbound_at, last_message_at = v_before.last_message_at,
    last_message_preview = v_before.last_message_preview
  where c.id = new.conversation_id
    and (c.last_outbound_at, c.last_message_at, c.last_message_preview)
      is distinct from (v_before.last_outbound_at, v_before.last_message_at, v_before.last_message_preview);
  return null;
end;
$$;
comment on function private.enqueue_auto_reply() is
  'AFTER INSERT trigger on inbound messages: when private.auto_reply_skip_reason allows, queues one auto_reply outbound row (empty body, due after the debounce) or pushes back the one still waiting (a burst gets one reply). The empty placeholder does not change the conversation''s preview or last_* columns.';
revoke all on function private.enqueue_auto_reply() from public;

-- Named to fire after messages_touch_conversation (AFTER triggers of one event fire in name
-- order): the WhatsApp window check of the enqueue rules needs last_inbound_at of this message.
create trigger messages_z_enqueue_auto_reply
  after insert on public.messages
  for each row
  when (new.direction = 'inbound')
  execute function private.enqueue_auto_reply();

-- A member's reply pauses the AI ------------------------------------------------------------------
-- A manual outbound message with sent_by (a member pressed send) sets ai_paused_until to now() +
-- tenants.ai_pause_minutes (never shortening a longer pause) and cancels auto-replies still waiting
-- in the queue: the person is handling the conversation.
create or replace function private.pause_ai_on_human_reply()
returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update public.conversations c
  set ai_paused_until = greatest(coalesce(c.ai_paused_until, now()),
    now() + make_interval(mins => t.ai_pause_minutes))
  from public.tenants t
  where c.id = new.conversation_id and t.id = c.tenant_id;

  update public.messages m
  set status = 'canceled', error_code = 'human_replied',
    error_message = 'A team member replied, so the AI auto-reply was not sent.'
  where m.conversation_id = new.conversation_id and m.kind = 'auto_reply' and m.status = 'queued';
  return null;
end;
$$;
comment on function private.pause_ai_on_human_reply() is
  'AFTER INSERT trigger on manual outbound messages sent by a member: pauses the AI in the conversation for tenants.ai_pause_minutes (ai_paused_until) and cancels its queued auto-replies (error_code human_replied).';
revoke all on function private.pause_ai_on_human_reply() from public;

create trigger messages_pause_ai_on_human_reply
  after insert on public.messages
  for each row
  when (new.direction = 'outbound' and new.kind = 'manual' and new.sent_by is not null)
  execute function private.pause_ai_on_human_reply();
