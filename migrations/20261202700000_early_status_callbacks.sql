-- A status callback can reach twilio-status before the dispatcher has written the send's result
-- (Twilio posts within milliseconds of its 2xx; the dispatcher writes a batch at a time, or only
-- after a reconcile). No row had that sid yet, so the callback was answered 200 and dropped, and
-- Twilio does not retry status callbacks: the message stayed 'sent' although it was delivered.
-- Such a callback is now kept here, keyed by the account that signed it and the sid, and applied
-- through the same forward-only machine (private.apply_status_callback) when a message gets that
-- sid, whichever writer gives it (record_sends_succeeded, record_send_result, a reconcile, the
-- ?mid= path, an import): a trigger on the sid's first appearance. The account scoping of
-- 20261202300400_status_callback_account.sql holds: a kept callback is applied only to a message
-- whose business sends through the account that signed it. Unmatched ones expire after a day.
--
-- The two sides meet under one transaction-scoped advisory lock per sid, so neither can miss the
-- other: the trigger holds it until the dispatcher's transaction commits, and the callback looks
-- for the message again (a fresh snapshot) only once it holds it.

create table private.early_status_callbacks (
  account_sid text not null,
  provider_sid text not null,
  status text not null check (status in ('sent', 'delivered', 'read', 'undelivered', 'failed')),
  -- The platform's AccountSid as twilio-status knew it (only its environment does): needed to
  -- decide later whether a platform-provisioned business sends through account_sid.
  platform_account_sid text,
  error_code text,
  error_message text,
  received_at timestamptz not null default now(),
  seq bigint generated always as identity,
  primary key (provider_sid, account_sid, status)
);
comment on table private.early_status_callbacks is
  'Twilio status callbacks that arrived before any message had their sid; applied (then deleted) when a message of a business sending through account_sid gets that sid; expired after a day.';
create index early_status_callbacks_received_at_idx
  on private.early_status_callbacks (received_at);
create index early_status_callbacks_account_idx
  on private.early_status_callbacks (account_sid);
-- Not exposed: no policy, no grant. Only the security-definer functions below touch it.
alter table private.early_status_callbacks enable row level security;
revoke all on private.early_status_callbacks from public, anon, authenticated, service_role;

-- How many kept callbacks one account may have pending: a business with a valid token could
-- otherwise fill the table with callbacks for sids that will never exist.
create or replace function private.max_early_status_callbacks() returns integer
language sql immutable set search_path = '' as $$ select 10000 $$;

create or replace function private.lock_status_sid(p_provider_sid text) returns void
language sql volatile set search_path = '' as $$
  select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(p_provider_sid, 7000))
$$;
comment on function private.lock_status_sid(text) is
  'The transaction-scoped lock under which a sid''s first appearance on a message and a kept early callback for it meet.';
revoke all on function private.lock_status_sid(text) from public, anon, authenticated;

-- twilio-status, when record_account_status_callback (and the ?mid= path) found no message: looks
-- once more under the sid's lock and applies the callback if the sid has meanwhile landed, else
-- keeps it. Returns the row it applied to, or null (kept, or dropped over the account's cap).
create or replace function private.keep_early_status_callback(
  p_account_sid text,
  p_platform_account_sid text,
  p_provider_sid text,
  p_status text,
  p_error_code text default null,
  p_error_message text default null
) returns public.messages
language plpgsql security definer set search_path = '' as $$
declare
  v_msg public.messages;
begin
  if lower(trim(p_status)) not in ('sent', 'delivered', 'read', 'undelivered', 'failed') then
    return null;
  end if;
  perform private.lock_status_sid(p_provider_sid);
  v_msg := private.record_account_status_callback(p_account_sid, p_platform_account_sid,
    p_provider_sid, p_status, p_error_code, p_error_message);
  if v_msg.id is not null then
    return v_msg;
  end if;
  if (select count(*) from private.early_status_callbacks e where e.account_sid = p_account_sid)
     >= private.max_early_status_callbacks() then
    return null;
  end if;
  -- A duplicate keeps the first copy (as a duplicate callback changes nothing on a row).
  insert into private.early_status_callbacks
    (account_sid, provider_sid, status, platform_account_sid, error_code, error_message)
  values (p_account_sid, p_provider_sid, lower(trim(p_status)), p_platform_account_sid,
    p_error_code, p_error_message)
  on conflict do nothing;
  return null;
end;
$$;
comment on function private.keep_early_status_callback(text, text, text, text, text, text) is
  'twilio-status: a callback no message has the sid of yet. Applies it if the sid landed meanwhile (under the sid''s lock), else keeps it in private.early_status_callbacks (at most max_early_status_callbacks per account). Returns the message applied to, or null.';
revoke all on function private.keep_early_status_callback(text, text, text, text, text, text)
  from public, anon, authenticated;
grant execute on function private.keep_early_status_callback(text, text, text, text, text, text)
  to service_role;

-- A message just got its sid: apply the kept callbacks signed by an account its business sends
-- through, in the order they arrived (what applying them on arrival would have done), and delete
-- them. Callbacks from other accounts stay (they are never applied here) until they expire.
create or replace function private.apply_early_status_callbacks() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  r record;
begin
  perform private.lock_status_sid(new.provider_sid);
  for r in
    with applied as (
      delete from private.early_status_callbacks e
      where e.provider_sid = new.provider_sid
        and private.message_sends_through(new.tenant_id, e.account_sid, e.platform_account_sid)
      returning e.*
    )
    select * from applied order by applied.received_at, applied.seq
  loop
    perform private.apply_status_callback(new.id, r.status, r.error_code, r.error_message);
  end loop;
  return null;
end;
$$;
revoke all on function private.apply_early_status_callbacks() from public, anon, authenticated;

-- AFTER, so the status machine sees the row as the writer left it ('sent'); the WHEN clauses keep
-- every other write to messages free of any call.
create trigger messages_apply_early_status_callbacks
  after update of provider_sid on public.messages
  for each row
  when (old.provider_sid is null and new.provider_sid is not null and new.direction = 'outbound')
  execute function private.apply_early_status_callbacks();
create trigger messages_apply_early_status_callbacks_insert
  after insert on public.messages
  for each row
  when (new.provider_sid is not null and new.direction = 'outbound')
  execute function private.apply_early_status_callbacks();

create or replace function private.expire_early_status_callbacks() returns integer
language sql security definer set search_path = '' as $$
  with gone as (
    delete from private.early_status_callbacks e
    where e.received_at < now() - interval '1 day'
    returning 1
  )
  select count(*)::integer from gone
$$;
comment on function private.expire_early_status_callbacks() is
  'pg_cron: deletes kept early status callbacks that no message claimed within a day.';
revoke all on function private.expire_early_status_callbacks() from public, anon, authenticated;

-- Every ten minutes (a plain five-field schedule: pg_cron 1.4 has no seconds); unschedule-if-
-- exists first, as 20261122004200_cron_schedule.sql does.
do $$
begin
  perform cron.unschedule(j.jobid) from cron.job j
  where j.jobname = 'switchboard-expire-early-callbacks';
  perform cron.schedule('switchboard-expire-early-callbacks', '*/10 * * * *',
    'select private.expire_early_status_callbacks()');
end;
$$;
