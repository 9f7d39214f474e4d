-- The dashboard's live inbox: Realtime streams changes of the tables in publication
-- supabase_realtime to subscribers who may select the row (RLS decides, per subscriber).
-- REPLICA IDENTITY FULL puts the whole old row in the WAL for updates and deletes, so a
-- subscription filtered by tenant_id also matches DELETE events (Realtime filters deletes on the
-- old row) and the local stack can check a deleted row against the SELECT policies. Hosted
-- Realtime sends only the primary key of a deleted row from an RLS table either way.
alter publication supabase_realtime add table public.messages, public.conversations;

alter table public.messages replica identity full;
alter table public.conversations replica identity full;
