-- twilio-sync's message history import, as one SQL writer (SQL is the only writer of messages):
-- the function hands over Twilio's message list as it came, and this decides what is ours (to or
-- from one of the business's numbers), what is new (by (tenant, provider_sid)), and how each row
-- is stored. Inbound history goes through record_inbound (contact, conversation, idempotent on
-- the sid) as auto-submitted, so an old STOP or START never opts anybody out or in again, keeps
-- Twilio's creation time, and leaves no unread count behind: history is not news. Outbound history
-- is stored with Twilio's state mapped onto ours.
create or replace function private.twilio_outbound_status(p_twilio_status text)
returns text
language sql immutable set search_path = '' as $$
  select case p_twilio_status
    when 'delivered' then 'delivered'
    when 'read' then 'read'
    when 'undelivered' then 'undelivered'
    when 'failed' then 'failed'
    when 'canceled' then 'canceled'
    else 'sent'  -- accepted, scheduled, queued, sending, sent: Twilio holds it
  end
$$;
comment on function private.twilio_outbound_status(text) is
  'Twilio''s message status -> ours for imported outbound history (Twilio holding a message counts as sent).';

create or replace function private.import_twilio_message(p_tenant_id uuid, p_item jsonb)
returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_inbound boolean := p_item ->> 'direction' = 'inbound';
  v_other text := coalesce(p_item ->> case when v_inbound then 'from' else 'to' end, '');
  v_ours text := regexp_replace(coalesce(p_item ->> case when v_inbound then 'to' else 'from' end,
    ''), '^whatsapp:', '');
  v_channel text := case when v_other like 'whatsapp:%' then 'whatsapp' else 'sms' end;
  v_bare text := regexp_replace(v_other, '^whatsapp:', '');
  v_created timestamptz := coalesce((p_item ->> 'date_created')::timestamptz, now());
  v_contact uuid;
  v_conversation uuid;
begin
  if v_other = '' or not exists (select 1 from public.phone_numbers n
                                  where n.tenant_id = p_tenant_id and n.e164 = v_ours)
     or exists (select 1 from public.messages m
                 where m.tenant_id = p_tenant_id and m.provider_sid = p_item ->> 'sid') then
    return null;
  end if;
  if v_inbound then
    v_conversation := (public.record_inbound(
      p_channel => v_channel, p_from => v_other, p_to => v_ours,
      p_body => coalesce(p_item ->> 'body', ''), p_provider_sid => p_item ->> 'sid',
      p_auto_submitted => true, p_tenant_id => p_tenant_id) ->> 'conversation_id')::uuid;
    update public.messages m set created_at = v_created
     where m.tenant_id = p_tenant_id and m.provider_sid = p_item ->> 'sid';
    update public.conversations c set unread_count = 0 where c.id = v_conversation;
    return v_conversation;
  end if;
  if v_channel = 'whatsapp' then
    insert into public.contacts (tenant_id, whatsapp, preferred_channel)
    values (p_tenant_id, v_bare, v_channel) on conflict do nothing;
    select c.id into v_contact from public.contacts c
     where c.tenant_id = p_tenant_id and c.whatsapp = private.normalize_phone(v_bare);
  else
    insert into public.contacts (tenant_id, phone, preferred_channel)
    values (p_tenant_id, v_bare, v_channel) on conflict do nothing;
    select c.id into v_contact from public.contacts c
     where c.tenant_id = p_tenant_id and c.phone = private.normalize_phone(v_bare);
  end if;
  if v_contact is null then
    return null;
  end if;
  v_conversation := (private.ensure_conversation(p_tenant_id, v_contact, v_channel)).id;
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, status, provider_sid, from_address, to_address, segments, created_at, sent_at,
    error_code)
  values (p_tenant_id, v_conversation, v_contact, 'outbound', v_channel, 'manual',
    coalesce(p_item ->> 'body', ''), private.twilio_outbound_status(p_item ->> 'status'),
    p_item ->> 'sid', v_ours, v_bare, nullif(p_item ->> 'num_segments', '')::integer, v_created,
    coalesce((p_item ->> 'date_sent')::timestamptz, v_created), nullif(p_item ->> 'error_code', ''))
  on conflict (tenant_id, provider_sid) do nothing;
  return v_conversation;
end;
$$;
comment on function private.import_twilio_message(uuid, jsonb) is
  'twilio-sync: stores one message of the tenant''s Twilio history ({sid, direction, from, to, body, status, num_segments, date_created, date_sent, error_code}) when it is to or from one of its numbers and new; returns its conversation id, null when skipped.';
revoke all on function private.import_twilio_message(uuid, jsonb) from public, anon, authenticated;
grant execute on function private.import_twilio_message(uuid, jsonb) to service_role;
