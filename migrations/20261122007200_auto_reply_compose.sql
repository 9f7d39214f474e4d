-- The dispatcher's SQL for composing an auto-reply (functions/_shared/auto_reply.ts):
-- * private.auto_reply_context(message_id): exactly what the model may see, nothing more: the
--   tenant's profile, the last 12 messages of THIS conversation, and THIS contact's upcoming
--   appointments and open orders. No other contact's or tenant's row can reach a prompt, because
--   this function is the prompt's only data source.
-- * private.auto_reply_apply(...): writes the model's decision back atomically (reply text,
--   hand-off with the holding message, hand-off without one, provider error).

create or replace function private.auto_reply_context(p_message_id uuid)
returns jsonb
language sql stable security definer set search_path = '' as $$
  select jsonb_build_object(
    'message_id', m.id,
    'channel', m.channel,
    'tenant', jsonb_build_object(
      'name', t.name,
      'services', t.services,
      'timezone', t.timezone,
      'business_hours', t.business_hours,
      'instructions', t.auto_reply_instructions,
      'tone', t.auto_reply_tone,
      'provider', t.auto_reply_provider,
      'model', t.auto_reply_model,
      'holding_message', t.holding_message,
      'help_text', t.help_text
    ),
    'contact', jsonb_build_object(
      -- The first name is enough to greet; nothing else about the contact is needed.
      'first_name', nullif(split_part(trim(c.name), ' ', 1), ''),
      'timezone', private.effective_timezone(c.timezone, t.timezone)
    ),
    'subject', cv.subject,
    'messages', coalesce((
      select jsonb_agg(jsonb_build_object(
          'from', case when h.direction = 'inbound' then 'customer' else 'business' end,
          'body', h.body,
          'at', h.created_at) order by h.created_at, h.id)
      from (
        select x.direction, x.body, x.created_at, x.id
        from public.messages x
        where x.conversation_id = m.conversation_id and x.id <> m.id and x.body <> ''
          and (x.direction = 'inbound' or x.status not in ('canceled', 'failed'))
        order by x.created_at desc, x.id desc
        limit 12
      ) h
    ), '[]'::jsonb),
    'appointments', coalesce((
      select jsonb_agg(jsonb_build_object(
          'service', a.service,
          'starts_at', to_char(a.starts_at at time zone
            private.effective_timezone(c.timezone, t.timezone), 'Dy DD Mon YYYY HH24:MI'),
          'duration_minutes', a.duration_minutes,
          'status', a.status) order by a.starts_at)
      from (
        select * from public.appointments a
        where a.contact_id = m.contact_id and a.tenant_id = m.tenant_id
          and a.status in ('booked', 'confirmed') and a.starts_at > now()
        order by a.starts_at
        limit 5
      ) a
    ), '[]'::jsonb),
    'orders', coalesce((
      select jsonb_agg(jsonb_build_object(
          'order_number', o.order_number,
          'status', o.status,
          'total', o.total,
          'currency', o.currency,
          'tracking_number', o.tracking_number,
          'tracking_url', o.tracking_url) order by o.created_at desc)
      from (
        select * from public.orders o
        where o.contact_id = m.contact_id and o.tenant_id = m.tenant_id
          and (o.status in ('pending', 'paid', 'payment_failed')
            or (o.status = 'fulfilled' and o.updated_at > now() - interval '30 days'))
        order by o.created_at desc
        limit 5
      ) o
    ), '[]'::jsonb)
  )
  from public.messages m
  join public.tenants t on t.id = m.tenant_id
  join public.contacts c on c.id = m.contact_id and c.tenant_id = m.tenant_id
  join public.conversations cv on cv.id = m.conversation_id and cv.tenant_id = m.tenant_id
  where m.id = p_message_id
$$;
comment on function private.auto_reply_context(uuid) is
  'Everything an auto-reply prompt may contain, for one auto_reply message: tenant profile (name, services, hours, instructions, tone, provider/model, holding message), the contact''s first name, the last 12 messages of this conversation, this contact''s upcoming appointments and open orders. Service role only.';
revoke all on function private.auto_reply_context(uuid) from public, anon, authenticated;
grant execute on function private.auto_reply_context(uuid) to service_role;

-- A claimed ('sending') message that will not be sent after all becomes canceled. The status
-- machine has no sending -> canceled move (a send in flight cannot be taken back); nothing has
-- left here yet, so the row goes back to queued and on to canceled in one transaction, both
-- allowed moves.
create or replace function private.cancel_claimed_message(
  p_message_id uuid, p_error_code text, p_error_message text
) returns void
language plpgsql security definer set search_path = '' as $$
begin
  update public.messages m set status = 'queued', lease_until = null
  where m.id = p_message_id and m.status = 'sending';
  update public.messages m set status = 'canceled', error_code = p_error_code,
    error_message = p_error_message
  where m.id = p_message_id and m.status = 'queued';
end;
$$;
comment on function private.cancel_claimed_message(uuid, text, text) is
  'Cancels a claimed message before anything was sent (sending -> queued -> canceled, both allowed moves) with an error code and message.';
revoke all on function private.cancel_claimed_message(uuid, text, text) from public, anon, authenticated;
grant execute on function private.cancel_claimed_message(uuid, text, text) to service_role;

-- The enqueue trigger kept the empty placeholder out of the inbox columns; the composed text
-- goes in now, as messages_touch_conversation would have written it.
create or replace function private.auto_reply_touch_conversation(p_conversation_id uuid, p_body text)
returns void
language sql security definer set search_path = '' as $$
  update public.conversations c
  set last_outbound_at = greatest(c.last_outbound_at, now()),
    last_message_at = greatest(c.last_message_at, now()),
    last_message_preview = private.message_preview(p_body, null, '[]'::jsonb)
  where c.id = p_conversation_id
$$;
comment on function private.auto_reply_touch_conversation(uuid, text) is
  'Puts a just-composed auto-reply into its conversation''s last_outbound_at, last_message_at and preview.';
revoke all on function private.auto_reply_touch_conversation(uuid, text) from public, anon, authenticated;
grant execute on function private.auto_reply_touch_conversation(uuid, text) to service_role;

-- The model's decision for a claimed auto_reply (p_attempt = messages.attempts from the claim, a
-- fencing token). Returns {proceed, status, body}: proceed = send the row's body now.
--   reply    body := p_text.
--   handoff  conversations.needs_human (+ reason); body := tenants.holding_message when set, else
--            the row is canceled with error_code ai_handoff.
--   error    conversations.needs_human with reason 'ai_error: …'; the row fails with error_code
--            ai_error (permanent: it is never retried into a second AI call or a duplicate).
-- A member who took over meanwhile (pause, needs_human) wins over a reply: canceled, human_replied.
create or replace function private.auto_reply_apply(
  p_message_id uuid,
  p_attempt integer,
  p_action text,
  p_text text default null,
  p_reason text default null
) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  v_msg public.messages;
  v_conv public.conversations;
  v_holding text;
  v_reason text := left(coalesce(nullif(trim(p_reason), ''), 'no reason given'), 500);
begin
  if p_action not in ('reply', 'handoff', 'error') then
    raise exception 'invalid auto-reply action: %', p_action using errcode = '22023';
  end if;
  select * into v_msg from public.messages m where m.id = p_message_id for update;
  if not found or v_msg.kind <> 'auto_reply' or v_msg.status <> 'sending'
    or v_msg.attempts <> p_attempt then
    return jsonb_build_object('proceed', false, 'status', v_msg.status, 'body', v_msg.body);
  end if;
  select * into v_conv from public.conversations c where c.id = v_msg.conversation_id for update;

  if p_action = 'reply' then
    if v_conv.ai_paused or v_conv.ai_paused_until > now() or v_conv.needs_human then
      perform private.cancel_claimed_message(v_msg.id, 'human_replied',
        'A team member took over the conversation, so the AI auto-reply was not sent.');
      return jsonb_build_object('proceed', false, 'status', 'canceled', 'body', v_msg.body);
    end if;
    if nullif(trim(p_text), '') is null then
      raise exception 'an auto-reply needs text' using errcode = '22023';
    end if;
    update public.messages m set body = p_text where m.id = v_msg.id;
    perform private.auto_reply_touch_conversation(v_conv.id, p_text);
    return jsonb_build_object('proceed', true, 'status', 'sending', 'body', p_text);
  end if;

  update public.conversations c
  set needs_human = true,
    needs_human_reason = case when p_action = 'error' then 'ai_error: ' || v_reason else v_reason end
  where c.id = v_conv.id;

  if p_action = 'error' then
    update public.messages m set status = 'failed', failed_at = now(), lease_until = null,
      error_code = 'ai_error', error_message = v_reason
    where m.id = v_msg.id;
    return jsonb_build_object('proceed', false, 'status', 'failed', 'body', v_msg.body);
  end if;

  select nullif(trim(t.holding_message), '') into v_holding
  from public.tenants t where t.id = v_msg.tenant_id;
  if v_holding is not null then
    update public.messages m set body = v_holding where m.id = v_msg.id;
    perform private.auto_reply_touch_conversation(v_conv.id, v_holding);
    return jsonb_build_object('proceed', true, 'status', 'sending', 'body', v_holding);
  end if;
  perform private.cancel_claimed_message(v_msg.id, 'ai_handoff', 'Handed to a person: ' || v_reason);
  return jsonb_build_object('proceed', false, 'status', 'canceled', 'body', v_msg.body);
end;
$$;
comment on function private.auto_reply_apply(uuid, integer, text, text, text) is
  'Dispatcher: applies the AI decision to a claimed auto_reply (reply -> body; handoff -> needs_human + holding message or canceled ai_handoff; error -> needs_human ''ai_error: …'' and failed ai_error). Fenced by p_attempt; returns {proceed, status, body}.';
revoke all on function private.auto_reply_apply(uuid, integer, text, text, text) from public, anon, authenticated;
grant execute on function private.auto_reply_apply(uuid, integer, text, text, text) to service_role;
