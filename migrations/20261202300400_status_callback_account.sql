-- A status callback was applied to whatever message had its MessageSid, whichever account sent
-- the callback: tenant B, signing with its own token, failed tenant A's message (failed/30007),
-- and the ?mid= path could mark another tenant's queued message as sent. A callback now counts
-- only for a message whose business sends through the callback's AccountSid: its own verified
-- account, or the platform's account when the business is provisioned and has none of its own
-- (the function passes the platform's AccountSid, which only its environment knows).

create or replace function private.message_sends_through(
  p_tenant_id uuid, p_account_sid text, p_platform_account_sid text
) returns boolean
language sql stable security definer set search_path = '' as $$
  select case private.tenant_sending_mode(p_tenant_id)
    when 'own_account' then exists (
      select 1 from private.tenant_credentials c
      where c.tenant_id = p_tenant_id and c.account_sid = p_account_sid)
    when 'platform' then p_platform_account_sid is not null
      and p_account_sid = p_platform_account_sid
    else false
  end
$$;
comment on function private.message_sends_through(uuid, text, text) is
  'True when the tenant sends SMS/WhatsApp through p_account_sid: its own verified account, or the platform account (p_platform_account_sid) when provisioned without one.';
revoke all on function private.message_sends_through(uuid, text, text) from public;
grant execute on function private.message_sends_through(uuid, text, text) to service_role;

-- The status machine itself, by message id (the body of record_status_callback, unchanged).
create or replace function private.apply_status_callback(
  p_message_id uuid,
  p_status text,
  p_error_code text default null,
  p_error_message text default null
) returns public.messages
language plpgsql security definer set search_path = '' as $$
declare
  v_msg public.messages;
  v_to text := lower(trim(p_status));
begin
  if p_message_id is null then
    return null;
  end if;
  select * into v_msg from public.messages m where m.id = p_message_id for update;
  if not found then
    return null;
  end if;

  if v_msg.direction <> 'outbound' or not (
    (v_to = 'sent' and v_msg.status in ('sending', 'queued'))
    or (v_to = 'delivered' and v_msg.status = 'sent')
    or (v_to = 'read' and v_msg.status in ('sent', 'delivered'))
    or (v_to in ('undelivered', 'failed') and v_msg.status = 'sent')
  ) then
    return v_msg;
  end if;

  update public.messages m set
    status = v_to,
    sent_at = coalesce(m.sent_at, now()),
    lease_until = null,
    delivered_at = case when v_to in ('delivered', 'read') then coalesce(m.delivered_at, now())
      else m.delivered_at end,
    read_at = case when v_to = 'read' then coalesce(m.read_at, now()) else m.read_at end,
    failed_at = case when v_to in ('undelivered', 'failed') then coalesce(m.failed_at, now())
      else m.failed_at end,
    error_code = coalesce(m.error_code, p_error_code),
    error_message = coalesce(m.error_message, p_error_message)
  where m.id = v_msg.id
  returning * into v_msg;
  return v_msg;
end;
$$;
comment on function private.apply_status_callback(uuid, text, text, text) is
  'Moves one outbound message forward only (sent -> delivered -> read; sent -> undelivered/failed), keeps the first error; anything else changes nothing and returns the row.';
revoke all on function private.apply_status_callback(uuid, text, text, text) from public, anon, authenticated;
grant execute on function private.apply_status_callback(uuid, text, text, text) to service_role;

-- By sid alone (kept for SQL callers and tests; twilio-status uses the account-scoped one below).
create or replace function private.record_status_callback(
  p_provider_sid text,
  p_status text,
  p_error_code text default null,
  p_error_message text default null
) returns public.messages
language sql security definer set search_path = '' as $$
  select private.apply_status_callback((
    select m.id from public.messages m
    where m.provider_sid = p_provider_sid and m.direction = 'outbound'
    order by m.created_at limit 1), p_status, p_error_code, p_error_message)
$$;

create or replace function private.record_account_status_callback(
  p_account_sid text,
  p_platform_account_sid text,
  p_provider_sid text,
  p_status text,
  p_error_code text default null,
  p_error_message text default null
) returns public.messages
language sql security definer set search_path = '' as $$
  select private.apply_status_callback((
    select m.id from public.messages m
    where m.provider_sid = p_provider_sid and m.direction = 'outbound'
      and private.message_sends_through(m.tenant_id, p_account_sid, p_platform_account_sid)
    order by m.created_at limit 1), p_status, p_error_code, p_error_message)
$$;
comment on function private.record_account_status_callback(text, text, text, text, text, text) is
  'twilio-status: applies a callback from account p_account_sid to the outbound message with that sid whose business sends through that account; another business''s message is never touched (null, as for an unknown sid).';
revoke all on function private.record_account_status_callback(text, text, text, text, text, text) from public, anon, authenticated;
grant execute on function private.record_account_status_callback(text, text, text, text, text, text) to service_role;
