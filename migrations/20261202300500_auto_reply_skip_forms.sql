-- Auto-replies answered contact-form posts, mailing whatever address the visitor typed (the
-- business became a relay, and the reply could carry a real customer's orders and appointments).
-- A form post is an untrusted sender: it never gets an AI reply; staff answer it from the inbox.
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
  if p_message.kind = 'form' then
    return 'untrusted_sender';
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
  'Why an inbound message gets no AI auto-reply, null when it gets one: disabled, conversation_spam, ai_paused, needs_human, keyword, auto_submitted, untrusted_sender (a contact-form post), empty, repeated_text, echo, contact_blocked, within_hours/outside_hours, cap.';
