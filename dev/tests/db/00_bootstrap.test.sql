-- The Supabase-image bootstrap (dev/stack/bootstrap.sql) gives app code what it relies on.
begin;
select plan(16);

select has_role('anon', 'role anon exists');
select has_role('authenticated', 'role authenticated exists');
select has_role('service_role', 'role service_role exists');
select has_role('authenticator', 'role authenticator exists');
select ok(pg_has_role('authenticator', 'authenticated', 'member'), 'authenticator can become authenticated');
select ok((select rolbypassrls from pg_roles where rolname = 'service_role'), 'service_role bypasses RLS');
select has_table('auth', 'users', 'auth.users exists');
select has_table('auth', 'refresh_tokens', 'auth.refresh_tokens exists');
select has_column('auth', 'users', 'raw_app_meta_data', 'auth.users has Supabase columns');
select has_extension('pg_cron', 'pg_cron is installed');
select ok(exists (select 1 from pg_publication where pubname = 'supabase_realtime'), 'publication supabase_realtime exists');

-- auth.uid()/role()/email()/jwt() read request.jwt.claims as PostgREST sets it.
set local request.jwt.claims = '{"sub":"6a0d4c1e-2b43-4e8f-9a51-0c1f3b7d9e21","role":"authenticated","email":"a@b.c"}';
select is(auth.uid(), '6a0d4c1e-2b43-4e8f-9a51-0c1f3b7d9e21'::uuid, 'auth.uid() reads sub');
select is(auth.role(), 'authenticated', 'auth.role() reads role');
select is(auth.email(), 'a@b.c', 'auth.email() reads email');
select is(auth.jwt() ->> 'sub', '6a0d4c1e-2b43-4e8f-9a51-0c1f3b7d9e21', 'auth.jwt() returns the claims');

set local role anon;
select throws_ok('select count(*) from auth.users', '42501', null, 'anon cannot read auth.users');

select * from finish();
rollback;
