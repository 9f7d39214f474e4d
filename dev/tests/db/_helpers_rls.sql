-- Helpers for the tenancy and RLS tests (dev/tests/db/10_* .. 19_*), installed after _helpers.sql.
-- tests.rls_fixture() builds, inside the calling test's transaction (so it is rolled back), two
-- tenants with one row in every tenant table, and remembers the ids by name in tests.rls_fixture_ids:
--   tenant A 'rls-a': owner rls-a-owner@test.local, agent rls-a-agent@test.local
--   tenant B 'rls-b': owner rls-b-owner@test.local (the "stranger": a member of another tenant)
-- Keys: '<a|b>.<tenant|owner|agent|contact|conversation|inbound|scheduled|template|automation|
-- phone|call|bulk|order|appointment>'. Tests read them with tests.rls_id(key) as any role.

create table if not exists tests.rls_fixture_ids (key text primary key, id uuid not null);
comment on table tests.rls_fixture_ids is 'Ids made by tests.rls_fixture() in the current (rolled back) test transaction.';
grant select on tests.rls_fixture_ids to anon, authenticated, service_role;

create or replace function tests.rls_id(p_key text) returns uuid
language plpgsql stable security definer set search_path = '' as $$
declare
  v_id uuid;
begin
  select f.id into v_id from tests.rls_fixture_ids f where f.key = p_key;
  if v_id is null then
    raise exception 'tests.rls_id: no fixture id %', p_key;
  end if;
  return v_id;
end;
$$;
comment on function tests.rls_id(text) is 'The id tests.rls_fixture() stored under a key; raises for an unknown key.';

create or replace function tests.rls_put(p_key text, p_id uuid) returns uuid
language sql security definer set search_path = '' as $$
  insert into tests.rls_fixture_ids (key, id) values (p_key, p_id)
  on conflict (key) do update set id = excluded.id
  returning id
$$;
comment on function tests.rls_put(text, uuid) is 'Remembers an id under a key for tests.rls_id().';

-- A tenant with one row in every tenant table, made as the superuser (no RLS). p_n makes phone
-- numbers and names unique between tenants.
create or replace function tests.rls_tenant(p_prefix text, p_n integer) returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_tenant uuid;
  v_contact uuid;
  v_conversation uuid;
  v_template uuid;
  v_id uuid;
begin
  insert into public.tenants (name, slug) values ('RLS ' || p_prefix, 'rls-test-' || p_prefix)
  returning id into v_tenant;
  perform tests.rls_put(p_prefix || '.tenant', v_tenant);

  v_id := tests.create_user('rls-' || p_prefix || '-owner@test.local');
  insert into public.tenant_members (tenant_id, user_id, role) values (v_tenant, v_id, 'owner');
  perform tests.rls_put(p_prefix || '.owner', v_id);
  v_id := tests.create_user('rls-' || p_prefix || '-agent@test.local');
  insert into public.tenant_members (tenant_id, user_id, role) values (v_tenant, v_id, 'agent');
  perform tests.rls_put(p_prefix || '.agent', v_id);

  insert into public.contacts (tenant_id, name, phone, email, reminder_consent, promotional_consent)
  values (v_tenant, 'Contact ' || p_prefix, '+1415555' || lpad(p_n::text, 4, '0'),
    'contact-' || p_prefix || '@test.local', true, true)
  returning id into v_contact;
  perform tests.rls_put(p_prefix || '.contact', v_contact);

  insert into public.conversations (tenant_id, contact_id, channel)
  values (v_tenant, v_contact, 'sms') returning id into v_conversation;
  perform tests.rls_put(p_prefix || '.conversation', v_conversation);

  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, status, provider_sid)
  values (v_tenant, v_conversation, v_contact, 'inbound', 'sms', 'inbound', 'Hello from '
    || p_prefix, 'received', 'SM-rls-test-' || p_prefix)
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.inbound', v_id);

  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, status, scheduled_for)
  values (v_tenant, v_conversation, v_contact, 'outbound', 'sms', 'manual', 'Later from '
    || p_prefix, 'scheduled', now() + interval '3 days')
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.scheduled', v_id);

  insert into public.templates (tenant_id, name, body)
  values (v_tenant, 'RLS test template ' || p_prefix, 'Hi {first_name}')
  returning id into v_template;
  perform tests.rls_put(p_prefix || '.template', v_template);

  -- A new tenant may already have default automations (unique per kind): take over one.
  insert into public.automations (tenant_id, kind, enabled, template_id, offset_minutes)
  values (v_tenant, 'reengagement', false, v_template, 10080)
  on conflict (tenant_id, kind) do update set template_id = excluded.template_id
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.automation', v_id);

  insert into public.phone_numbers (tenant_id, e164, friendly_name)
  values (v_tenant, '+1415666' || lpad(p_n::text, 4, '0'), 'Main ' || p_prefix)
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.phone', v_id);

  insert into public.calls (tenant_id, contact_id, provider_sid, direction, status)
  values (v_tenant, v_contact, 'CA-rls-test-' || p_prefix, 'inbound', 'completed')
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.call', v_id);

  insert into public.bulk_sends (tenant_id, name, channel, body)
  values (v_tenant, 'RLS test bulk ' || p_prefix, 'sms', 'Sale!')
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.bulk', v_id);

  insert into public.orders (tenant_id, contact_id, order_number, total)
  values (v_tenant, v_contact, 'RLS-' || p_prefix, 10)
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.order', v_id);

  insert into public.appointments (tenant_id, contact_id, service, starts_at)
  values (v_tenant, v_contact, 'Haircut', now() + interval '10 days')
  returning id into v_id;
  perform tests.rls_put(p_prefix || '.appointment', v_id);

  return v_tenant;
end;
$$;
comment on function tests.rls_tenant(text, integer) is 'Makes a tenant with an owner, an agent and one row in every tenant table.';

-- Tenants A and B; call as the superuser at the start of a test transaction.
create or replace function tests.rls_fixture() returns void
language plpgsql security definer set search_path = '' as $$
begin
  perform tests.rls_tenant('a', 1);
  perform tests.rls_tenant('b', 2);
end;
$$;
comment on function tests.rls_fixture() is 'Tenants A (owner, agent) and B (owner = stranger) with a row in every table.';

-- How many of the given ids the current role can see in a table (RLS applies: security invoker).
create or replace function tests.rls_visible(p_table text, p_ids uuid[]) returns integer
language plpgsql set search_path = '' as $$
declare
  v_count integer;
begin
  execute format('select count(*)::integer from public.%I where id = any ($1)', p_table)
    into v_count using p_ids;
  return v_count;
end;
$$;
comment on function tests.rls_visible(text, uuid[]) is 'Count of the ids visible to the current role in public.<table>.';

grant execute on all functions in schema tests to anon, authenticated, service_role;
