-- The data model: every tenant table and its columns. Row-level security, grants, rules and
-- triggers come in later migrations, one concern each; nothing here is reachable through the API
-- until then (RLS is enabled on every table below, with no policy yet).

create or replace function private.touch_updated_at() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.touch_updated_at() is 'Keeps updated_at current on every update.';

-- Tenancy -----------------------------------------------------------------------------------------
create table public.tenants (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(trim(name)) between 1 and 200),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  timezone text not null default 'UTC',
  default_country_code text not null default '1' check (default_country_code ~ '^[1-9][0-9]{0,2}$'),
  quiet_hours_start time not null default '21:00',
  quiet_hours_end time not null default '08:00',
  -- {"mon": ["09:00","17:00"], ..., "sun": null}: open and close in the tenant's timezone.
  business_hours jsonb not null default
    '{"mon":["09:00","17:00"],"tue":["09:00","17:00"],"wed":["09:00","17:00"],"thu":["09:00","17:00"],"fri":["09:00","17:00"],"sat":null,"sun":null}',
  help_text text not null default 'Reply STOP to unsubscribe. For help, contact us directly.',
  send_rate_per_minute integer not null default 120 check (send_rate_per_minute between 1 and 100000),
  messaging_service_sid text,
  email_from text,
  services text not null default '',
  auto_reply_enabled boolean not null default false,
  auto_reply_provider text not null default 'anthropic' check (auto_reply_provider in ('anthropic', 'gemini')),
  auto_reply_model text,
  auto_reply_tone text not null default 'friendly' check (auto_reply_tone in ('professional', 'friendly', 'casual')),
  auto_reply_instructions text not null default '',
  auto_reply_cap_per_hour integer not null default 3 check (auto_reply_cap_per_hour between 0 and 100),
  -- always | outside_hours (only when closed) | within_hours (only when open)
  auto_reply_hours text not null default 'always' check (auto_reply_hours in ('always', 'outside_hours', 'within_hours')),
  ai_pause_minutes integer not null default 60 check (ai_pause_minutes between 0 and 10080),
  holding_message text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.tenants is 'A business using Switchboard, with its messaging and auto-reply settings.';
create trigger tenants_touch before update on public.tenants
  for each row execute function private.touch_updated_at();

create table public.tenant_members (
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'agent')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, user_id)
);
comment on table public.tenant_members is 'Who works for which tenant: owners change settings, agents work the inbox.';
create index tenant_members_user_id_idx on public.tenant_members (user_id);

-- Numbers and calls -------------------------------------------------------------------------------
create table public.phone_numbers (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  e164 text not null unique check (e164 ~ '^\+[1-9][0-9]{6,14}$'),
  twilio_sid text unique,
  friendly_name text,
  sms boolean not null default true,
  mms boolean not null default false,
  whatsapp boolean not null default false,
  voice boolean not null default false,
  rotation_enabled boolean not null default true,
  last_used_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table public.phone_numbers is 'A tenant''s sending numbers; a number belongs to one tenant, which inbound webhooks rely on.';
create index phone_numbers_tenant_id_idx on public.phone_numbers (tenant_id);

-- Contacts ------------------------------------------------------------------------------------------
create table public.contacts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  name text not null default '',
  phone text check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  email text check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
  whatsapp text check (whatsapp ~ '^\+[1-9][0-9]{6,14}$'),
  timezone text,
  preferred_channel text not null default 'sms' check (preferred_channel in ('sms', 'whatsapp', 'email')),
  reminder_consent boolean not null default true,
  promotional_consent boolean not null default false,
  -- The latest opt-out, and the channels it covers (STOP on SMS opts out of SMS, and so on).
  opted_out_at timestamptz,
  opted_out_channels text[] not null default '{}'
    check (opted_out_channels <@ array['sms', 'whatsapp', 'email']),
  tags text[] not null default '{}',
  attributes jsonb not null default '{}' check (jsonb_typeof(attributes) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.contacts is 'A business''s customer, with consent and opt-out state per channel.';
create unique index contacts_tenant_phone_key on public.contacts (tenant_id, phone) where phone is not null;
create unique index contacts_tenant_email_key on public.contacts (tenant_id, lower(email)) where email is not null;
create unique index contacts_tenant_whatsapp_key on public.contacts (tenant_id, whatsapp) where whatsapp is not null;
create index contacts_tags_idx on public.contacts using gin (tags);
create trigger contacts_touch before update on public.contacts
  for each row execute function private.touch_updated_at();

create table public.calls (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  contact_id uuid references public.contacts (id) on delete set null,
  provider_sid text not null unique,
  direction text not null,
  from_number text,
  to_number text,
  status text,
  duration_seconds integer,
  started_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table public.calls is 'Calls synced from Twilio, shown next to the messages of a contact.';
create index calls_tenant_id_started_idx on public.calls (tenant_id, started_at desc);
create index calls_contact_id_idx on public.calls (contact_id);

-- Conversations -------------------------------------------------------------------------------------
create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  channel text not null check (channel in ('sms', 'whatsapp', 'email')),
  status text not null default 'open' check (status in ('open', 'dormant', 'archived', 'spam')),
  subject text,
  unread_count integer not null default 0 check (unread_count >= 0),
  last_inbound_at timestamptz,
  last_outbound_at timestamptz,
  last_message_at timestamptz,
  last_message_preview text,
  ai_paused boolean not null default false,
  ai_paused_until timestamptz,
  needs_human boolean not null default false,
  needs_human_reason text,
  sender_number_id uuid references public.phone_numbers (id) on delete set null,
  last_reengaged_at timestamptz,
  created_at timestamptz not null default now(),
  unique (tenant_id, contact_id, channel)
);
comment on table public.conversations is 'One thread per contact and channel: the inbox''s rows.';
create index conversations_tenant_last_message_idx on public.conversations (tenant_id, last_message_at desc nulls last);
create index conversations_contact_id_idx on public.conversations (contact_id);
create index conversations_sender_number_id_idx on public.conversations (sender_number_id);

-- Templates and automations -----------------------------------------------------------------------
create table public.templates (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  name text not null check (length(trim(name)) between 1 and 200),
  category text not null default 'general'
    check (category in ('general', 'appointment', 'order', 'marketing', 'support')),
  channel text not null default 'any' check (channel in ('any', 'sms', 'whatsapp', 'email')),
  subject text,
  body text not null check (length(body) between 1 and 5000),
  ai_enhance boolean not null default false,
  -- An approved WhatsApp template (Twilio Content SID) may be sent outside the 24 h window.
  whatsapp_content_sid text,
  whatsapp_approved boolean not null default false,
  usage_count integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, name)
);
comment on table public.templates is 'Message bodies with {variables}, rendered at send time.';
create trigger templates_touch before update on public.templates
  for each row execute function private.touch_updated_at();

create table public.automations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  kind text not null check (kind in (
    'booking_confirmation', 'reminder_24h', 'reminder_2h', 'payment_confirmation',
    'shipment_notice', 'payment_failed', 'reengagement'
  )),
  enabled boolean not null default true,
  template_id uuid references public.templates (id) on delete set null,
  -- Minutes before the event (reminders) or after the last message (re-engagement).
  offset_minutes integer not null default 0,
  created_at timestamptz not null default now(),
  unique (tenant_id, kind)
);
comment on table public.automations is 'Which automatic messages a tenant sends, with which template.';
create index automations_template_id_idx on public.automations (template_id);

-- Campaigns ----------------------------------------------------------------------------------------
create table public.bulk_sends (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  name text not null default '',
  channel text not null check (channel in ('sms', 'whatsapp', 'email')),
  template_id uuid references public.templates (id) on delete set null,
  body text,
  subject text,
  -- {"tags": [...], "attributes": {...}}
  audience jsonb not null default '{}',
  status text not null default 'queued' check (status in ('queued', 'sending', 'done', 'canceled')),
  targeted integer not null default 0,
  queued integer not null default 0,
  skipped jsonb not null default '{}',
  scheduled_for timestamptz,
  created_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now()
);
comment on table public.bulk_sends is 'A campaign: one queued message per eligible contact of an audience.';
create index bulk_sends_tenant_id_idx on public.bulk_sends (tenant_id, created_at desc);
create index bulk_sends_template_id_idx on public.bulk_sends (template_id);
create index bulk_sends_created_by_idx on public.bulk_sends (created_by);

-- Business events ----------------------------------------------------------------------------------
create table public.orders (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  order_number text not null,
  status text not null default 'pending'
    check (status in ('pending', 'paid', 'fulfilled', 'payment_failed', 'canceled', 'refunded')),
  total numeric(12, 2) not null default 0 check (total >= 0),
  currency text not null default 'USD',
  tracking_number text,
  tracking_url text,
  payment_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (tenant_id, order_number)
);
comment on table public.orders is 'Orders whose status changes send payment and shipment messages.';
create index orders_contact_id_idx on public.orders (contact_id);
create trigger orders_touch before update on public.orders
  for each row execute function private.touch_updated_at();

create table public.appointments (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  service text not null,
  starts_at timestamptz not null,
  duration_minutes integer not null default 30 check (duration_minutes between 5 and 1440),
  status text not null default 'booked'
    check (status in ('booked', 'confirmed', 'canceled', 'completed', 'no_show')),
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.appointments is 'Appointments whose changes send confirmations and schedule reminders.';
create index appointments_tenant_starts_idx on public.appointments (tenant_id, starts_at);
create index appointments_contact_id_idx on public.appointments (contact_id);
create trigger appointments_touch before update on public.appointments
  for each row execute function private.touch_updated_at();

-- Messages: the outbox and the history ------------------------------------------------------------
create table public.messages (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  direction text not null check (direction in ('inbound', 'outbound')),
  channel text not null check (channel in ('sms', 'whatsapp', 'email')),
  kind text not null default 'manual' check (kind in (
    'manual', 'auto_reply', 'transactional', 'reminder', 'reengagement', 'bulk', 'form', 'inbound'
  )),
  body text not null default '',
  subject text,
  status text not null check (status in (
    'scheduled', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'undelivered',
    'canceled', 'received'
  )),
  scheduled_for timestamptz,
  next_attempt_at timestamptz,
  attempts integer not null default 0,
  lease_until timestamptz,
  provider_sid text unique,
  error_code text,
  error_message text,
  segments integer,
  from_address text,
  to_address text,
  media jsonb not null default '[]',
  template_id uuid references public.templates (id) on delete set null,
  variables jsonb not null default '{}',
  bulk_send_id uuid references public.bulk_sends (id) on delete set null,
  appointment_id uuid references public.appointments (id) on delete set null,
  order_id uuid references public.orders (id) on delete set null,
  -- What produced an automatic message (e.g. 'reminder_24h'): one per appointment and key.
  automation_key text,
  -- Inbound from an auto-responder (email Auto-Submitted other than "no", imported history):
  -- never a keyword, never answered by the AI.
  auto_submitted boolean not null default false,
  -- Email threading: our Message-ID and the one it answers.
  email_message_id text,
  in_reply_to text,
  sent_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  sent_at timestamptz,
  delivered_at timestamptz,
  read_at timestamptz,
  failed_at timestamptz
);
comment on table public.messages is 'Every message in and out; outbound rows are the outbox the dispatcher drains.';
create index messages_conversation_created_idx on public.messages (conversation_id, created_at desc);
create index messages_tenant_created_idx on public.messages (tenant_id, created_at desc);
create index messages_contact_id_idx on public.messages (contact_id);
create index messages_due_idx on public.messages (next_attempt_at) where status = 'queued';
create index messages_scheduled_idx on public.messages (scheduled_for) where status = 'scheduled';
create index messages_template_id_idx on public.messages (template_id) where template_id is not null;
create index messages_bulk_send_id_idx on public.messages (bulk_send_id) where bulk_send_id is not null;
create index messages_appointment_id_idx on public.messages (appointment_id) where appointment_id is not null;
create index messages_order_id_idx on public.messages (order_id) where order_id is not null;
create index messages_sent_by_idx on public.messages (sent_by) where sent_by is not null;
create index messages_email_message_id_idx on public.messages (email_message_id) where email_message_id is not null;
create unique index messages_automation_once_idx on public.messages (appointment_id, automation_key)
  where appointment_id is not null and automation_key is not null and status <> 'canceled';

-- Nothing is exposed before its policies exist.
alter table public.tenants enable row level security;
alter table public.tenant_members enable row level security;
alter table public.phone_numbers enable row level security;
alter table public.contacts enable row level security;
alter table public.calls enable row level security;
alter table public.conversations enable row level security;
alter table public.templates enable row level security;
alter table public.automations enable row level security;
alter table public.bulk_sends enable row level security;
alter table public.orders enable row level security;
alter table public.appointments enable row level security;
alter table public.messages enable row level security;

-- Explicit grants come with the policies; start from nothing (Supabase's default privileges grant
-- everything to anon and authenticated).
revoke all on all tables in schema public from anon, authenticated;
