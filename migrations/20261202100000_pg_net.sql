-- pg_net: asynchronous HTTP from SQL, sent by its worker after the calling transaction commits.
-- private.kick_dispatch() (next migration) and the pg_cron safety net call the `dispatch` edge
-- function through it, as Supabase's "Scheduling Edge Functions" guide does
-- (https://supabase.com/docs/guides/functions/schedule-functions). Hosted projects do not have it
-- enabled by default; `with schema extensions` is how Supabase enables it (the extension makes its
-- own `net` schema either way). The local stack emulates it (dev/stack/extensions/pg_net--0.20.4.sql
-- and dev/stack/pg_net_worker.ts).
create extension if not exists pg_net with schema extensions;
