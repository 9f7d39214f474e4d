-- The private schema: helpers, credentials and dispatcher internals that the API never exposes.
create schema if not exists private;
comment on schema private is 'Switchboard internals: not exposed through PostgREST.';
revoke all on schema private from public;
grant usage on schema private to authenticated, service_role;
