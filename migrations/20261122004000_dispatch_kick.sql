-- Kicking the dispatcher: a NOTIFY for the local stack (which listens on channel 'dispatch') and,
-- where pg_net exists (hosted Supabase), an async HTTP POST to the `dispatch` edge function. A
-- statement-level trigger kicks when due rows are inserted; the pg_cron job kicks every minute as
-- the safety net for retries and promoted scheduled rows.

-- Settings the database needs to reach the outside world (here: the dispatch function's URL and
-- the bearer token it accepts). Not exposed: the private schema is not in PostgREST's schemas and
-- nobody but the owner has table privileges. On hosted Supabase set them once with
--   insert into private.settings values ('dispatch_url', 'https://<ref>.supabase.co/functions/v1/dispatch'),
--     ('dispatch_token', '<service role key>') on conflict (key) do update set value = excluded.value;
-- (Supabase Vault would also do, but it does not exist on the local stack.)
create table if not exists private.settings (
  key text primary key,
  value text not null,
  updated_at timestamptz not null default now()
);
comment on table private.settings is
  'Server-side configuration read by SQL jobs (dispatch_url, dispatch_token); never exposed to the API.';
revoke all on private.settings from public, anon, authenticated, service_role;

create or replace function private.kick_dispatch(p_reason text default 'cron')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_due integer;
  v_payload jsonb;
  v_url text;
  v_token text;
begin
  -- Capped count (at 100): the dispatcher only needs to know there is work, not how much.
  select count(*)::integer into v_due
  from (
    select 1 from public.messages m
    where m.status = 'queued' and m.next_attempt_at <= now()
    limit 100
  ) due;

  v_payload := jsonb_build_object('reason', p_reason, 'due', v_due, 'at', now());
  perform pg_catalog.pg_notify('dispatch', v_payload::text);

  -- Hosted Supabase: wake the edge function over HTTP, but only when there is work (an HTTP
  -- call every minute for nothing would cost function invocations). The check is for pg_net's
  -- function itself, and EXECUTE keeps this compilable where pg_net is not installed (the local
  -- stack).
  if v_due > 0
     and to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is not null then
    select s.value into v_url from private.settings s where s.key = 'dispatch_url';
    select s.value into v_token from private.settings s where s.key = 'dispatch_token';
    if v_url is not null then
      execute 'select net.http_post(url := $1, body := $2, headers := $3, timeout_milliseconds := 5000)'
        using v_url, v_payload,
          jsonb_build_object('Content-Type', 'application/json')
            || case when v_token is null then '{}'::jsonb
                    else jsonb_build_object('Authorization', 'Bearer ' || v_token) end;
    end if;
  end if;
  return v_payload;
end;
$$;
comment on function private.kick_dispatch(text) is
  'Wakes the dispatcher: NOTIFY dispatch with {reason, due, at}; plus pg_net POST to settings.dispatch_url when pg_net exists and rows are due.';
revoke all on function private.kick_dispatch(text) from public, anon, authenticated;
grant execute on function private.kick_dispatch(text) to service_role;

-- One kick per INSERT statement that created due rows (a bulk send of 5,000 rows kicks once).
create or replace function private.kick_dispatch_on_insert()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if exists (
    select 1 from inserted i
    where i.direction = 'outbound' and i.status = 'queued'
      and coalesce(i.next_attempt_at, now()) <= now()
  ) then
    perform private.kick_dispatch('enqueued');
  end if;
  return null;
end;
$$;
comment on function private.kick_dispatch_on_insert() is
  'Statement-level trigger: kicks the dispatcher once when an insert created due queued rows.';
revoke all on function private.kick_dispatch_on_insert() from public, anon, authenticated;

create trigger messages_kick_dispatch
  after insert on public.messages
  referencing new table as inserted
  for each statement execute function private.kick_dispatch_on_insert();
