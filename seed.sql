-- Demo data for `deno task dev` and the end-to-end tests. Applied once per database by
-- `supabase db push --include-seed` (tracked in supabase_migrations.seed_files).
select 1;
