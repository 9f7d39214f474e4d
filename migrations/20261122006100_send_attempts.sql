-- Idempotent sending. Twilio's Messages API has no idempotency key, so the dispatcher writes an
-- attempt row (committed) BEFORE each provider call and settles it after. An attempt still
-- 'pending' or 'unknown' when its message is claimed again means the previous dispatcher died or
-- timed out after the request may have left: the next dispatcher first looks the message up at
-- the provider (Twilio's Messages list, same To/From/body, created after the attempt started)
-- and records the found sid instead of sending again.
create table private.send_attempts (
  message_id uuid not null references public.messages (id) on delete cascade,
  attempt integer not null,
  started_at timestamptz not null default now(),
  channel text not null,
  to_address text,
  from_address text,
  body_sha256 text,
  -- pending: request about to leave; sent/failed/retry: settled; unknown: timed out after it
  -- left; reconciled: a later claim found (or ruled out) the provider's copy.
  outcome text not null default 'pending'
    check (outcome in ('pending', 'sent', 'failed', 'retry', 'unknown', 'reconciled')),
  provider_sid text,
  finished_at timestamptz,
  primary key (message_id, attempt)
);
comment on table private.send_attempts is
  'One row per provider call the dispatcher makes, written before the call: the evidence that makes re-sending after a crash or timeout safe.';
create index send_attempts_unsettled_idx on private.send_attempts (message_id)
  where outcome in ('pending', 'unknown');
revoke all on private.send_attempts from public, anon, authenticated, service_role;
