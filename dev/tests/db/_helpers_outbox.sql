-- Fixtures for the outbox tests (20_*..29_*): a tenant, a contact, a conversation and a message in
-- one call each, built directly as the superuser (rules and triggers still run). Tenants default
-- to no quiet hours (start = end) and a high rate, so only the tests about those see them.
create schema if not exists tests;

create or replace function tests.ob_tenant(
  p_slug text,
  p_timezone text default 'UTC',
  p_quiet_start time default '00:00',
  p_quiet_end time default '00:00',
  p_rate integer default 10000
) returns uuid
language sql set search_path = '' as $$
  insert into public.tenants (name, slug, timezone, quiet_hours_start, quiet_hours_end,
    send_rate_per_minute)
  values ('Outbox test ' || p_slug, p_slug, p_timezone, p_quiet_start, p_quiet_end, p_rate)
  returning id
$$;

-- A contact with a random US phone unless told otherwise.
create or replace function tests.ob_contact(
  p_tenant uuid,
  p_phone text default 'random',
  p_email text default null,
  p_whatsapp text default null,
  p_timezone text default null,
  p_reminder_consent boolean default true,
  p_promotional_consent boolean default true,
  p_opted_out_channels text[] default '{}'
) returns uuid
language sql set search_path = '' as $$
  insert into public.contacts (tenant_id, name, phone, email, whatsapp, timezone,
    reminder_consent, promotional_consent, opted_out_channels)
  values (p_tenant, 'Test Contact',
    case when p_phone = 'random' then '+1415' || lpad(floor(random() * 1e7)::bigint::text, 7, '0')
      else p_phone end,
    p_email, p_whatsapp, p_timezone, p_reminder_consent, p_promotional_consent,
    p_opted_out_channels)
  returning id
$$;

create or replace function tests.ob_conversation(
  p_contact uuid,
  p_channel text default 'sms',
  p_last_inbound_at timestamptz default null
) returns uuid
language sql set search_path = '' as $$
  insert into public.conversations (tenant_id, contact_id, channel, last_inbound_at)
  select c.tenant_id, c.id, p_channel, p_last_inbound_at from public.contacts c where c.id = p_contact
  returning id
$$;

-- Inserts an outbound message in the conversation and returns the row as the triggers left it.
create or replace function tests.ob_send(
  p_conversation uuid,
  p_kind text default 'manual',
  p_status text default 'queued',
  p_template uuid default null,
  p_scheduled_for timestamptz default null
) returns public.messages
language sql set search_path = '' as $$
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, status, template_id, scheduled_for)
  select cv.tenant_id, cv.id, cv.contact_id, 'outbound', cv.channel, p_kind,
    'Hello from the outbox tests', p_status, p_template, p_scheduled_for
  from public.conversations cv where cv.id = p_conversation
  returning *
$$;

-- Claims and lease expiry only see the test's own rows: everything else queued is pushed a day
-- out and every lease extended by a day (the test's transaction rolls this back).
create or replace function tests.ob_isolate_queue() returns void
language sql set search_path = '' as $$
  update public.messages set next_attempt_at = now() + interval '1 day'
  where status = 'queued' and next_attempt_at <= now() + interval '1 hour';
  update public.messages set lease_until = now() + interval '1 day'
  where status = 'sending' and lease_until <= now() + interval '1 hour';
$$;
