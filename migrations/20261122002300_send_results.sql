-- Writing back what the providers said: the result of a send (record_send_result) and later
-- delivery status callbacks (record_status_callback). Both are idempotent: the same report twice
-- changes nothing the second time, and a late or out-of-order report never moves a message back.

create or replace function private.max_send_attempts()
returns integer
language sql immutable set search_path = '' as $$
  select 3
$$;
comment on function private.max_send_attempts() is
  'How many times a message is tried (claims) before a transient error becomes final: 3.';
revoke all on function private.max_send_attempts() from public;
grant execute on function private.max_send_attempts() to service_role;

-- 30 s · 2^(attempts-1) ± 20 %: 24-36 s after the 1st attempt, 48-72 s after the 2nd, … capped
-- at one hour. The jitter spreads retries of a burst that failed together (a provider hiccup).
create or replace function private.retry_backoff(p_attempts integer)
returns interval
language sql volatile set search_path = '' as $$
  select make_interval(secs => least(
    30 * power(2, greatest(coalesce(p_attempts, 1), 1) - 1)::double precision,
    3600
  ) * (0.8 + 0.4 * random()))
$$;
comment on function private.retry_backoff(integer) is
  'Delay before retrying after the given attempt: 30 s * 2^(attempts-1), at most 1 h, with +-20 % jitter.';
revoke all on function private.retry_backoff(integer) from public;
grant execute on function private.retry_backoff(integer) to service_role;

-- Errors that are final whatever the dispatcher's classification says: 21610 = the recipient
-- unsubscribed (replied STOP) at Twilio.
create or replace function private.is_unsubscribed_error(p_error_code text)
returns boolean
language sql immutable set search_path = '' as $$
  select p_error_code = '21610'
$$;
comment on function private.is_unsubscribed_error(text) is
  'True for provider errors meaning the recipient unsubscribed (Twilio 21610): permanent, and the contact is opted out of the channel.';
revoke all on function private.is_unsubscribed_error(text) from public;
grant execute on function private.is_unsubscribed_error(text) to service_role;

-- The result of one send. p_error_code null = success. Rules:
-- * success: accepted while the row is 'sending', and also while it is 'queued' again after its
--   lease expired (even if p_attempt is stale): the provider did take the message, and recording
--   that is what stops a second send. The row becomes 'sent' with sent_at, provider_sid, segments
--   and from_address; lease and earlier retry errors are cleared.
-- * error: accepted only while the row is 'sending' and, when p_attempt is given, only for that
--   attempt (a fencing token: a dispatcher whose lease expired and whose row another dispatcher
--   re-claimed must not overwrite the newer attempt). Permanent errors (p_permanent, or 21610)
--   and transient errors on the last attempt (max_send_attempts) → 'failed' with the provider's
--   code and message; other transient errors → 'queued' at now() + retry_backoff(attempts).
--   21610 also opts the contact out of the channel (even from a stale report: it is a fact about
--   the recipient, not about this attempt).
-- * anything else (duplicate, stale, unknown message) changes nothing: the current row is returned
--   (null for an unknown id) so the caller can see what the message became.
create or replace function private.record_send_result(
  p_message_id uuid,
  p_provider_sid text,
  p_error_code text default null,
  p_error_message text default null,
  p_permanent boolean default false,
  p_segments integer default null,
  p_from_address text default null,
  p_attempt integer default null
) returns public.messages
language plpgsql security definer set search_path = '' as $$
declare
  v_msg public.messages;
  v_final boolean;
begin
  select * into v_msg from public.messages m where m.id = p_message_id for update;
  if not found then
    return null;
  end if;

  if p_error_code is null then
    -- 'queued' only after a claim (attempts > 0): a row never handed out cannot have been sent.
    if not (v_msg.status = 'sending' or (v_msg.status = 'queued' and v_msg.attempts > 0)) then
      return v_msg; -- already recorded (or final): nothing to do
    end if;
    update public.messages m set
      status = 'sent',
      sent_at = now(),
      provider_sid = coalesce(p_provider_sid, m.provider_sid),
      segments = coalesce(p_segments, m.segments),
      from_address = coalesce(p_from_address, m.from_address),
      lease_until = null,
      error_code = null,
      error_message = null
    where m.id = v_msg.id
    returning * into v_msg;
    return v_msg;
  end if;

  -- The recipient unsubscribed: true whatever became of this attempt, so it counts even when
  -- stale; only the first report changes the contact (idempotent).
  if private.is_unsubscribed_error(p_error_code) then
    update public.contacts c set
      opted_out_channels = c.opted_out_channels || v_msg.channel,
      opted_out_at = now()
    where c.id = v_msg.contact_id and not (v_msg.channel = any (c.opted_out_channels));
  end if;

  if v_msg.status <> 'sending' or (p_attempt is not null and p_attempt <> v_msg.attempts) then
    return v_msg; -- a duplicate or a stale attempt's error
  end if;

  v_final := coalesce(p_permanent, false) or private.is_unsubscribed_error(p_error_code)
    or v_msg.attempts >= private.max_send_attempts();
  update public.messages m set
    status = case when v_final then 'failed' else 'queued' end,
    next_attempt_at = case when v_final then m.next_attempt_at
      else now() + private.retry_backoff(m.attempts) end,
    failed_at = case when v_final then now() else m.failed_at end,
    provider_sid = coalesce(p_provider_sid, m.provider_sid),
    from_address = coalesce(p_from_address, m.from_address),
    lease_until = null,
    error_code = p_error_code,
    error_message = p_error_message
  where m.id = v_msg.id
  returning * into v_msg;

  return v_msg;
end;
$$;
comment on function private.record_send_result(uuid, text, text, text, boolean, integer, text, integer) is
  'Dispatcher: records a send. Success (p_error_code null) -> sent; transient error -> queued with backoff + jitter, failed after 3 attempts; permanent or 21610 -> failed (21610 also opts the contact out of the channel). Idempotent; stale errors (row not sending, or p_attempt not the current attempt) change nothing. Returns the row as it now is, null for an unknown id.';
revoke all on function private.record_send_result(uuid, text, text, text, boolean, integer, text, integer)
  from public, anon, authenticated;
grant execute on function private.record_send_result(uuid, text, text, text, boolean, integer, text, integer)
  to service_role;

-- A provider status callback (Twilio MessageStatus: sent, delivered, read, undelivered, failed;
-- others such as queued/sending/accepted are informational). Forward only:
--   sent:                 from sending/queued (a callback that beats nothing we know of)
--   delivered:            from sent                       (sets delivered_at)
--   read:                 from sent or delivered          (sets read_at; delivered_at if missing)
--   undelivered / failed: from sent only — never after delivered or read (sets failed_at)
-- The first error code/message stays (a later callback never overwrites it). Anything else —
-- duplicates, out-of-order callbacks, statuses we do not track — changes nothing and returns the
-- row; an unknown provider_sid returns null.
create or replace function private.record_status_callback(
  p_provider_sid text,
  p_status text,
  p_error_code text default null,
  p_error_message text default null
) returns public.messages
language plpgsql security definer set search_path = '' as $$
declare
  v_msg public.messages;
  v_to text := lower(trim(p_status));
begin
  if p_provider_sid is null then
    return null;
  end if;
  select * into v_msg from public.messages m where m.provider_sid = p_provider_sid for update;
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
comment on function private.record_status_callback(text, text, text, text) is
  'twilio-status: moves a message forward only (sent -> delivered -> read; sent -> undelivered/failed), keeps the first error, sets delivered_at/read_at/failed_at. Duplicates and out-of-order callbacks change nothing; unknown provider_sid returns null.';
revoke all on function private.record_status_callback(text, text, text, text) from public, anon, authenticated;
grant execute on function private.record_status_callback(text, text, text, text) to service_role;
