-- Helpers for the inbound, template and business-trigger tests (30_*..39_*). Installed before the
-- tests run, outside their transactions; each test's data is still rolled back.

-- A tenant created directly (as the test superuser), optionally with a number it receives on.
create or replace function tests.inbound_tenant(p_slug text, p_number text default null)
returns uuid
language plpgsql set search_path = '' as $$
declare
  v_id uuid;
begin
  insert into public.tenants (name, slug, help_text)
  values (initcap(replace(p_slug, '-', ' ')), p_slug, 'Help for ' || p_slug || ': call 555-0100.')
  returning id into v_id;
  if p_number is not null then
    insert into public.phone_numbers (tenant_id, e164, sms, whatsapp) values (v_id, p_number, true, true);
  end if;
  return v_id;
end;
$$;

-- One inbound SMS with a fresh provider id unless one is given.
create or replace function tests.sms_in(p_from text, p_to text, p_body text, p_sid text default null)
returns jsonb
language sql set search_path = '' as $$
  select public.record_inbound('sms', p_from, p_to, p_body,
    coalesce(p_sid, 'SM' || replace(gen_random_uuid()::text, '-', '')))
$$;

-- A contact of a tenant with a phone number (and optionally other fields set later by the test).
create or replace function tests.inbound_contact(p_tenant_id uuid, p_name text, p_phone text)
returns uuid
language sql set search_path = '' as $$
  insert into public.contacts (tenant_id, name, phone) values (p_tenant_id, p_name, p_phone)
  returning id
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
