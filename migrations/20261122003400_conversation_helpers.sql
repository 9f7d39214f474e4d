-- Small helpers shared by inbound recording and the business triggers: the channel to reach a
-- contact on, and the one conversation per (contact, channel). A contact's address on a channel is
-- private.contact_address(contact, channel) from the sending rules (20261122002100).

-- The contact's preferred channel when there is an address for it, else the first channel with an
-- address (sms, whatsapp, email), else the preferred one: the outbox rules then fail the message
-- with 'no_address' where the business can see it, rather than it silently not existing.
create or replace function private.contact_channel(p_contact public.contacts) returns text
language plpgsql immutable set search_path = '' as $$
begin
  return coalesce(
    case when private.contact_address(p_contact, p_contact.preferred_channel) is not null
      then p_contact.preferred_channel end,
    case when p_contact.phone is not null then 'sms' end,
    case when p_contact.whatsapp is not null then 'whatsapp' end,
    case when p_contact.email is not null then 'email' end,
    p_contact.preferred_channel
  );
end;
$$;
comment on function private.contact_channel(public.contacts) is
  'The channel to reach a contact on: preferred_channel if it has an address for it, else sms, whatsapp, email in that order.';
revoke all on function private.contact_channel(public.contacts) from public;
grant execute on function private.contact_channel(public.contacts) to service_role;

-- Insert-or-select without updating an existing row (no write, no realtime event when it exists).
create or replace function private.ensure_conversation(
  p_tenant_id uuid,
  p_contact_id uuid,
  p_channel text
) returns public.conversations
language plpgsql security definer set search_path = '' as $$
declare
  v_row public.conversations;
begin
  select * into v_row from public.conversations c
  where c.tenant_id = p_tenant_id and c.contact_id = p_contact_id and c.channel = p_channel;
  if found then
    return v_row;
  end if;
  insert into public.conversations (tenant_id, contact_id, channel)
  values (p_tenant_id, p_contact_id, p_channel)
  on conflict (tenant_id, contact_id, channel) do nothing
  returning * into v_row;
  if v_row.id is null then
    -- Another transaction created it between our select and insert.
    select * into v_row from public.conversations c
    where c.tenant_id = p_tenant_id and c.contact_id = p_contact_id and c.channel = p_channel;
  end if;
  return v_row;
end;
$$;
comment on function private.ensure_conversation(uuid, uuid, text) is
  'The conversation of a contact on a channel, created when missing (safe under concurrency).';
revoke all on function private.ensure_conversation(uuid, uuid, text) from public;
grant execute on function private.ensure_conversation(uuid, uuid, text) to service_role;
