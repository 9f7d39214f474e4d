-- Conversations keep their inbox columns (unread_count, last_inbound_at, last_outbound_at,
-- last_message_at, last_message_preview) and their status current as messages arrive: one update
-- of the conversation per message, so the inbox query never aggregates messages.

-- What the inbox shows under a conversation's name.
create or replace function private.message_preview(p_body text, p_subject text, p_media jsonb)
returns text
language plpgsql immutable parallel safe set search_path = '' as $$
begin
  -- Only the start of a long body matters (collapsing whitespace never lengthens it).
  return case
    when nullif(trim(coalesce(p_body, '')), '') is not null
      then left(regexp_replace(trim(left(p_body, 2000)), '\s+', ' ', 'g'), 120)
    when nullif(trim(coalesce(p_subject, '')), '') is not null then left(trim(p_subject), 120)
    when jsonb_typeof(p_media) = 'array' and jsonb_array_length(p_media) > 0 then '[attachment]'
    else ''
  end;
end;
$$;
comment on function private.message_preview(text, text, jsonb) is
  'The first 120 characters of a message (whitespace collapsed), else its subject, else "[attachment]".';
revoke all on function private.message_preview(text, text, jsonb) from public;

-- Inbound: +1 unread, last_inbound_at, and a dormant or archived conversation reopens (the customer
-- wrote again, so it needs attention; spam stays spam). Outbound: last_outbound_at. Both:
-- last_message_at and the preview, unless an older message arrives late (a sync or a slow
-- webhook), which must not move them back. Members reset unread_count themselves by update.
-- Security definer: agents insert messages but the conversation row is kept by the system.
create or replace function private.touch_conversation() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  -- A promoted scheduled row joins the thread now, not when it was created.
  v_at timestamptz := case when tg_op = 'UPDATE' then now()
    else coalesce(new.sent_at, new.created_at) end;
  v_inbound boolean := new.direction = 'inbound';
begin
  update public.conversations c
  set unread_count = c.unread_count + case when v_inbound then 1 else 0 end,
    last_inbound_at = case when v_inbound then greatest(c.last_inbound_at, v_at)
      else c.last_inbound_at end,
    last_outbound_at = case when v_inbound then c.last_outbound_at
      else greatest(c.last_outbound_at, v_at) end,
    last_message_at = greatest(c.last_message_at, v_at),
    last_message_preview = case when c.last_message_at is null or v_at >= c.last_message_at
      then private.message_preview(new.body, new.subject, new.media)
      else c.last_message_preview end,
    status = case when v_inbound and c.status in ('dormant', 'archived') then 'open'
      else c.status end
  where c.id = new.conversation_id;
  return null;
end;
$$;
comment on function private.touch_conversation() is
  'AFTER trigger on public.messages: keeps the conversation''s unread_count, last_* columns and preview current, and reopens a dormant or archived conversation on an inbound message.';
revoke all on function private.touch_conversation() from public;

-- A scheduled reminder is not part of the thread until it is due (it would otherwise show as the
-- last message days ahead), and a canceled row never is.
create trigger messages_touch_conversation after insert on public.messages
  for each row when (new.direction = 'inbound' or new.status not in ('scheduled', 'canceled'))
  execute function private.touch_conversation();
-- ... so a scheduled row counts when it is promoted to the queue.
create trigger messages_touch_conversation_promoted after update of status on public.messages
  for each row when (old.status = 'scheduled' and new.status not in ('scheduled', 'canceled'))
  execute function private.touch_conversation();
