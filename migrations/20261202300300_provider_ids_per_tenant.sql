-- Provider ids were unique across all businesses: a message id already used in another tenant
-- made record_inbound answer with that tenant's message, conversation and contact ids (and
-- email-inbound echoed them), and a business could block another's real message by using its id
-- first (any email-inbound MessageID, any signed webhook from its own Twilio account). They are
-- unique per tenant now, for messages and calls, and a retry is found only within its tenant.
-- record_inbound also treats the contact form as an untrusted sender: no keyword handling (the
-- address is whatever the visitor typed) and no renaming of an existing contact.
alter table public.messages drop constraint messages_provider_sid_key;
alter table public.messages add constraint messages_tenant_provider_sid_key
  unique (tenant_id, provider_sid);
-- Status callbacks and reconciliation still look a sid up on its own.
create index messages_provider_sid_idx on public.messages (provider_sid) where provider_sid is not null;

alter table public.calls drop constraint calls_provider_sid_key;
alter table public.calls add constraint calls_tenant_provider_sid_key unique (tenant_id, provider_sid);

create or replace function public.record_inbound(
  p_channel text,
  p_from text,
  p_to text,
  p_body text,
  p_provider_sid text,
  p_media jsonb default '[]',
  p_subject text default null,
  p_email_message_id text default null,
  p_in_reply_to text default null,
  p_auto_submitted boolean default false,
  p_tenant_id uuid default null,
  p_contact_name text default null
) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  v_channel text;
  v_kind text;
  v_to text;
  v_from text;
  v_number public.phone_numbers;
  v_tenant public.tenants;
  v_contact public.contacts;
  v_conversation public.conversations;
  v_existing public.messages;
  v_message_id uuid;
  v_keyword text;
  v_reply_text text;
  v_reply_id uuid;
begin
  if p_channel is null or p_channel not in ('sms', 'whatsapp', 'email', 'form') then
    raise exception 'invalid channel: %', p_channel using errcode = '22023',
      hint = 'sms, whatsapp, email or form';
  end if;
  -- A contact-form submission is an email conversation whose first message is kind 'form'.
  v_channel := case when p_channel = 'form' then 'email' else p_channel end;
  v_kind := case when p_channel = 'form' then 'form' else 'inbound' end;
  -- Auto-submitted mail (out-of-office, bounces) never triggers keyword handling or a reply.
  -- Nor does a contact-form post: its address is whatever the visitor typed, so START/STOP/HELP
  -- from it would act on (or mail) somebody who never wrote.
  v_keyword := case when not coalesce(p_auto_submitted, false) and p_channel <> 'form'
    then private.inbound_keyword(p_body) end;

  -- The tenant: the owner of the number written to (sms, whatsapp), or the given one (email, forms).
  v_to := nullif(regexp_replace(trim(coalesce(p_to, '')), '^whatsapp:', '', 'i'), '');
  if v_channel in ('sms', 'whatsapp') and v_to is not null then
    select * into v_number from public.phone_numbers n where n.e164 = v_to;
  end if;
  if p_tenant_id is not null then
    if v_number.id is not null and v_number.tenant_id <> p_tenant_id then
      raise exception 'number % does not belong to tenant %', v_to, p_tenant_id
        using errcode = '22023';
    end if;
    select * into v_tenant from public.tenants t where t.id = p_tenant_id;
    if not found then
      raise exception 'unknown tenant: %', p_tenant_id using errcode = 'P0002';
    end if;
  elsif v_number.id is null then
    raise exception 'unknown number: %', coalesce(p_to, '(none)') using errcode = 'P0002';
  else
    select * into v_tenant from public.tenants t where t.id = v_number.tenant_id;
  end if;

  -- Fast path for a webhook retry: nothing changes, the original ids come back. Provider ids are
  -- unique per tenant: another business's message with the same id is neither found nor named.
  if p_provider_sid is not null then
    select * into v_existing from public.messages m
    where m.tenant_id = v_tenant.id and m.provider_sid = p_provider_sid;
    if found then
      return jsonb_build_object('message_id', v_existing.id,
        'conversation_id', v_existing.conversation_id, 'contact_id', v_existing.contact_id,
        'tenant_id', v_existing.tenant_id, 'duplicate', true, 'keyword', v_keyword,
        'reply_text', null, 'reply_message_id', null);
    end if;
  end if;

  -- The contact, by its address on this channel (a new one is created with that channel preferred).
  if v_channel = 'email' then
    v_from := private.email_address(p_from);
    if v_from is null then
      raise exception 'invalid sender: %', p_from using errcode = '22023';
    end if;
    select * into v_contact from public.contacts c
    where c.tenant_id = v_tenant.id and lower(c.email) = v_from;
  else
    v_from := private.normalize_phone(p_from, v_tenant.default_country_code);
    if v_from is null then
      raise exception 'invalid sender: %', p_from using errcode = '22023';
    end if;
    if v_channel = 'sms' then
      select * into v_contact from public.contacts c
      where c.tenant_id = v_tenant.id and c.phone = v_from;
    else
      select * into v_contact from public.contacts c
      where c.tenant_id = v_tenant.id and c.whatsapp = v_from;
    end if;
  end if;
  if v_contact.id is null then
    insert into public.contacts (tenant_id, name, phone, whatsapp, email, preferred_channel)
    values (v_tenant.id, coalesce(trim(p_contact_name), ''),
      case when v_channel = 'sms' then v_from end,
      case when v_channel = 'whatsapp' then v_from end,
      case when v_channel = 'email' then v_from end,
      v_channel)
    on conflict do nothing
    returning * into v_contact;
    if v_contact.id is null then
      -- Created concurrently by the same sender's other message.
      select * into v_contact from public.contacts c
      where c.tenant_id = v_tenant.id and case v_channel
        when 'sms' then c.phone = v_from
        when 'whatsapp' then c.whatsapp = v_from
        else lower(c.email) = v_from end;
    end if;
  elsif v_contact.name = '' and nullif(trim(p_contact_name), '') is not null
    and p_channel <> 'form' then
    update public.contacts set name = trim(p_contact_name) where id = v_contact.id
    returning * into v_contact;
  end if;

  v_conversation := private.ensure_conversation(v_tenant.id, v_contact.id, v_channel);
  -- Replies go out from the number the customer wrote to (sticky sender), and an email thread
  -- takes its subject from the first mail. Written only when missing.
  if (v_conversation.sender_number_id is null and v_number.id is not null)
    or (v_conversation.subject is null and nullif(trim(p_subject), '') is not null) then
    update public.conversations c
    set sender_number_id = coalesce(c.sender_number_id, v_number.id),
      subject = coalesce(c.subject, nullif(trim(p_subject), ''))
    where c.id = v_conversation.id;
  end if;

  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, subject, status, provider_sid, from_address, to_address, media, email_message_id,
    in_reply_to, auto_submitted)
  values (v_tenant.id, v_conversation.id, v_contact.id, 'inbound', v_channel, v_kind,
    coalesce(p_body, ''), p_subject, 'received', p_provider_sid, v_from, v_to,
    coalesce(p_media, '[]'::jsonb), p_email_message_id, p_in_reply_to,
    coalesce(p_auto_submitted, false))
  on conflict (tenant_id, provider_sid) do nothing
  returning id into v_message_id;

  if v_message_id is null then
    -- The same webhook delivered twice at once: the other call stored it and handles the keyword.
    select * into v_existing from public.messages m
    where m.tenant_id = v_tenant.id and m.provider_sid = p_provider_sid;
    return jsonb_build_object('message_id', v_existing.id,
      'conversation_id', v_existing.conversation_id, 'contact_id', v_existing.contact_id,
      'tenant_id', v_existing.tenant_id, 'duplicate', true, 'keyword', v_keyword,
      'reply_text', null, 'reply_message_id', null);
  end if;

  if v_keyword = 'stop' then
    update public.contacts c
    set opted_out_channels = c.opted_out_channels || v_channel, opted_out_at = now()
    where c.id = v_contact.id and not (v_channel = any (c.opted_out_channels));
  elsif v_keyword = 'start' then
    -- opted_out_at stays the latest opt-out while any channel is still opted out.
    update public.contacts c
    set opted_out_channels = array_remove(c.opted_out_channels, v_channel),
      opted_out_at = case when cardinality(array_remove(c.opted_out_channels, v_channel)) = 0
        then null else c.opted_out_at end
    where c.id = v_contact.id and v_channel = any (c.opted_out_channels);
  elsif v_keyword = 'help' then
    -- The HELP answer is an ordinary transactional outbound message: recorded in the thread, sent
    -- by the dispatcher, retried like any other. The webhook therefore answers with empty TwiML
    -- (answering in TwiML as well would send it twice). reply_text is returned for the caller's
    -- information.
    v_reply_text := v_tenant.help_text;
    insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
      body, subject, status, next_attempt_at, to_address, in_reply_to, automation_key)
    values (v_tenant.id, v_conversation.id, v_contact.id, 'outbound', v_channel, 'transactional',
      v_reply_text,
      case when v_channel = 'email' then 'Re: ' || coalesce(nullif(trim(p_subject), ''), v_tenant.name) end,
      'queued', now(), v_from, p_email_message_id, 'help_reply')
    returning id into v_reply_id;
  end if;

  return jsonb_build_object('message_id', v_message_id, 'conversation_id', v_conversation.id,
    'contact_id', v_contact.id, 'tenant_id', v_tenant.id, 'duplicate', false,
    'keyword', v_keyword, 'reply_text', v_reply_text, 'reply_message_id', v_reply_id);
end;
$$;
comment on function public.record_inbound(text, text, text, text, text, jsonb, text, text, text, boolean, uuid, text) is
  'Stores one inbound message (webhooks call it with the service role). Finds the tenant by the To number (or p_tenant_id for email and forms; unknown number: P0002), upserts contact and conversation, inserts the message idempotently on (tenant, provider_sid) and handles STOP/START/HELP (never for forms or auto-submitted mail). Returns {message_id, conversation_id, contact_id, tenant_id, duplicate, keyword: stop|start|help|null, reply_text, reply_message_id}.';
revoke all on function public.record_inbound(text, text, text, text, text, jsonb, text, text, text, boolean, uuid, text)
  from public, anon, authenticated;
grant execute on function public.record_inbound(text, text, text, text, text, jsonb, text, text, text, boolean, uuid, text)
  to service_role;
