-- The outbox is driven the way Supabase documents calling Edge Functions from the database
-- ("Scheduling Edge Functions", https://supabase.com/docs/guides/functions/schedule-functions):
-- net.http_post to <project_url>/functions/v1/dispatch, with the URL and the key taken from
-- Supabase Vault (vault.decrypted_secrets). Until now the kick sent a NOTIFY that only the local
-- stack listened to, and called pg_net only when private.settings had dispatch_url, which nothing
-- set: on a Supabase project queued messages stayed queued.
--
-- Setup, once per project (dev/stack/README.md "Calling dispatch from the database"):
--   select vault.create_secret('https://<ref>.supabase.co', 'project_url');
--   select vault.create_secret('<secret key, or the legacy service_role key>', 'service_key');
-- Without both secrets the kick makes no HTTP call and raises no error (a fresh project, a
-- database restored elsewhere, tests that drive the dispatcher themselves).
--
-- Fan-out: one request per 100 due rows, at most private.settings 'dispatch_parallel' (default 2)
-- in flight, so a large backlog is drained by several invocations at once (their claims use SKIP
-- LOCKED, so they never send a row twice), and kicks while they run (other inserts, this
-- transaction's later statements) add only what is missing. A 'continue' kick (an invocation whose
-- budget ended with work still due asks for its successor) posts exactly one request: it replaces
-- the invocation that asked, so the number in flight never grows. The statement-level insert
-- trigger and the pg_cron job (every minute, 20261122004200_cron_schedule.sql) stay as they are.

-- Dispatch requests still in flight: posted within the last minute (pg_net's timeout here is 5 s)
-- and not yet answered in net._http_response. A kick posts only what is missing up to
-- dispatch_parallel, so a backlog's inserts do not pile chains of invocations on top of the ones
-- already draining it (each holds database connections). Works the same with the real pg_net,
-- which removes a request from its queue when it starts it: the response row is the only sign it
-- ended.
create table private.dispatch_kicks (
  request_id bigint primary key,
  posted_at timestamptz not null default now()
);
comment on table private.dispatch_kicks is
  'Requests kick_dispatch posted to the dispatch function (pg_net ids), kept a minute to count those still in flight.';
alter table private.dispatch_kicks enable row level security;
revoke all on private.dispatch_kicks from public, anon, authenticated, service_role;

-- The old path kept a bearer token in plain text; it is read no more.
delete from private.settings where key in ('dispatch_url', 'dispatch_token');
comment on table private.settings is
  'Server-side configuration read by SQL (dispatch_parallel, auto_reply_debounce_ms, ...); never exposed to the API. Secrets belong in Vault.';

create or replace function private.kick_dispatch(p_reason text default 'cron')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  c_rows_per_request constant integer := 100;
  v_parallel integer;
  v_due integer;
  v_payload jsonb;
  v_url text;
  v_key text;
  v_wanted integer;
  v_done integer;
  v_posted integer := 0;
begin
  select case when s.value ~ '^\s*\d{1,3}\s*$' then s.value::integer end into v_parallel
  from private.settings s where s.key = 'dispatch_parallel';
  v_parallel := least(greatest(coalesce(v_parallel, 2), 1), 100);

  -- Capped count: enough to size the fan-out, never a scan of the whole backlog.
  select count(*)::integer into v_due
  from (
    select 1 from public.messages m
    where m.status = 'queued' and m.next_attempt_at <= now()
    limit v_parallel * c_rows_per_request
  ) due;
  -- Exactly the body the dispatch function accepts (functions/dispatch/handler.ts).
  v_payload := jsonb_build_object('reason', p_reason, 'due', v_due, 'at', now());

  -- An HTTP call every minute for nothing would cost function invocations.
  if v_due > 0 then
    v_wanted := case when p_reason = 'continue' then 1
                     else least(v_parallel, ceil(v_due::numeric / c_rows_per_request)::integer) end;
    -- A kick must never make the insert that fired it fail: a missing or broken pg_net or Vault
    -- is a warning, and whatever this block queued is undone.
    begin
      -- What is in flight already (this transaction's kicks included); Vault is read only when more
      -- is wanted. A continuation replaces the invocation that asks for it: it always posts one.
      delete from private.dispatch_kicks k where k.posted_at < now() - interval '1 minute';
      select count(*)::integer into v_done from private.dispatch_kicks k
       where p_reason <> 'continue'
         and not exists (select 1 from net._http_response r
                          where r.created >= k.posted_at and r.id = k.request_id);
      if v_done < v_wanted then
        select ds.decrypted_secret into v_url from vault.decrypted_secrets ds where ds.name = 'project_url';
        select ds.decrypted_secret into v_key from vault.decrypted_secrets ds where ds.name = 'service_key';
      end if;
      if v_url is not null and v_key is not null then
        for i in 1 .. v_wanted - v_done loop
          insert into private.dispatch_kicks (request_id) select net.http_post(
            url := pg_catalog.rtrim(v_url, '/') || '/functions/v1/dispatch',
            body := v_payload,
            headers := jsonb_build_object(
              'Content-Type', 'application/json',
              'apikey', v_key,
              'Authorization', 'Bearer ' || v_key),
            timeout_milliseconds := 5000);
          v_posted := v_posted + 1;
        end loop;
      end if;
    exception when others then
      v_posted := 0;
      raise warning 'kick_dispatch: dispatch not called: % (%)', sqlerrm, sqlstate;
    end;
  end if;
  return v_payload || jsonb_build_object('requests', v_posted);
end;
$$;
comment on function private.kick_dispatch(text) is
  'Wakes the dispatch edge function: net.http_post to Vault project_url + /functions/v1/dispatch with the Vault service_key, body {reason, due, at}; one request per 100 due rows up to dispatch_parallel in flight (a continue kick: one); nothing without due rows or secrets. Returns the body plus requests (how many were queued).';
revoke all on function private.kick_dispatch(text) from public, anon, authenticated;
grant execute on function private.kick_dispatch(text) to service_role;
