-- A status callback can be the first news of a send: the dispatcher died between Twilio's answer
-- and its own write, and the StatusCallback URL carries our message id (?mid=). Recording that
-- send was two statements in twilio-status (record_send_result, then settling the attempt rows);
-- SQL is the only writer of messages and send_attempts, so it is one function here, with the
-- account check of 20261202300400_status_callback_account.sql: only a row that has no sid yet,
-- is still queued or sending, and whose business sends through the callback's account.
create or replace function private.record_callback_send(
  p_message_id uuid,
  p_account_sid text,
  p_platform_account_sid text,
  p_provider_sid text,
  p_from_address text default null
) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  v_id uuid;
begin
  select m.id into v_id from public.messages m
   where m.id = p_message_id and m.provider_sid is null and m.direction = 'outbound'
     and m.status in ('queued', 'sending')
     and private.message_sends_through(m.tenant_id, p_account_sid, p_platform_account_sid)
   for update;
  if v_id is null then
    return false;
  end if;
  perform private.record_send_result(
    p_message_id => v_id, p_provider_sid => p_provider_sid,
    p_from_address => nullif(regexp_replace(coalesce(p_from_address, ''), '^whatsapp:', ''), ''));
  update private.send_attempts a
     set outcome = 'reconciled', finished_at = now(), provider_sid = p_provider_sid
   where a.message_id = v_id and a.outcome in ('pending', 'unknown');
  return true;
end;
$$;
comment on function private.record_callback_send(uuid, text, text, text, text) is
  'twilio-status ?mid=: records the send a callback reveals (sid, from) and settles its attempt rows, only for a sid-less queued/sending row of a business that sends through the callback''s account. True when recorded.';
revoke all on function private.record_callback_send(uuid, text, text, text, text)
  from public, anon, authenticated;
grant execute on function private.record_callback_send(uuid, text, text, text, text) to service_role;
