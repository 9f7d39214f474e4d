-- Fixtures for the cron, analytics and bulk-send tests (dev/tests/db/40_*..49_*). Installed once per
-- test cluster (not rolled back); every fixture they create lives inside the test's transaction.

-- A tenant with its owner (created when missing). Default templates and automations come from the
-- tenant insert trigger, as in production.
create or replace function tests.cron_tenant(p_slug text, p_owner_email text, p_timezone text default 'UTC')
returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_tenant uuid;
  v_owner uuid := coalesce(tests.user_id(p_owner_email), tests.create_user(p_owner_email));
begin
  insert into public.tenants (name, slug, timezone)
  values (initcap(replace(p_slug, '-', ' ')), p_slug, p_timezone)
  returning id into v_tenant;
  insert into public.tenant_members (tenant_id, user_id, role) values (v_tenant, v_owner, 'owner');
  return v_tenant;
end;
$$;

create or replace function tests.cron_member(p_tenant uuid, p_email text, p_role text)
returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_user uuid := coalesce(tests.user_id(p_email), tests.create_user(p_email));
begin
  insert into public.tenant_members (tenant_id, user_id, role) values (p_tenant, v_user, p_role);
  return v_user;
end;
$$;

create or replace function tests.cron_contact(
  p_tenant uuid,
  p_name text,
  p_phone text,
  p_promotional boolean,
  p_tags text[] default '{}',
  p_attributes jsonb default '{}',
  p_email text default null,
  p_opted_out text[] default '{}'
) returns uuid
language sql security definer set search_path = '' as $$
  insert into public.contacts (tenant_id, name, phone, email, promotional_consent, tags, attributes,
    opted_out_channels, opted_out_at)
  values (p_tenant, p_name, p_phone, p_email, p_promotional, p_tags, p_attributes, p_opted_out,
    case when cardinality(p_opted_out) > 0 then now() end)
  returning id
$$;

-- A conversation (created, or the one a business trigger already opened) whose last message is an
-- inbound one p_idle ago, as if nothing had happened since.
create or replace function tests.cron_conversation(
  p_tenant uuid, p_contact uuid, p_channel text, p_idle interval
) returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_conv uuid;
begin
  insert into public.conversations (tenant_id, contact_id, channel)
  values (p_tenant, p_contact, p_channel)
  on conflict (tenant_id, contact_id, channel) do update set status = 'open'
  returning id into v_conv;
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, status, created_at)
  values (p_tenant, v_conv, p_contact, 'inbound', p_channel, 'inbound', 'hello', 'received',
    now() - p_idle);
  update public.conversations
  set last_message_at = now() - p_idle, last_inbound_at = now() - p_idle, last_outbound_at = null
  where id = v_conv;
  return v_conv;
end;
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
