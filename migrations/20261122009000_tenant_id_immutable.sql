-- Rows never move between tenants, whoever writes them. The RLS helpers already refuse a client
-- update of tenant_id by privilege; that also refused supabase-js upserts, because PostgREST's
-- upsert sets every column it was sent (tenant_id included) on conflict. So the rule moves into a
-- trigger on every tenant table, and clients get update privilege on tenant_id only where they
-- upsert (contacts, templates, orders, appointments): setting it to its current value is a no-op,
-- changing it is refused with 42501.
create or replace function private.keep_tenant_id() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.tenant_id is distinct from old.tenant_id then
    raise exception 'a row cannot move to another tenant (%.% %)', tg_table_schema, tg_table_name,
      old.tenant_id
      using errcode = '42501', hint = 'Create a new row in the other tenant instead.';
  end if;
  return new;
end;
$$;
comment on function private.keep_tenant_id() is 'Refuses any change of tenant_id: rows never move between tenants.';

-- Every public table with a tenant_id column as of this migration; a later table must add its own
-- trigger (dev/tests/db/16_rls_structure checks that none is missing).
do $$
declare
  t text;
begin
  for t in
    select c.relname from pg_class c
    join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
    order by c.relname
  loop
    execute format('create trigger %I before update of tenant_id on public.%I
      for each row execute function private.keep_tenant_id()', t || '_keep_tenant_id', t);
  end loop;
end;
$$;

grant update (tenant_id) on public.contacts, public.templates, public.orders, public.appointments
  to authenticated;
