-- The sending rules: who may get what, on which channel, and when. They are pure functions of the
-- rows involved (and of the time, passed in), so the enqueue trigger below, the claim
-- (claim_due_messages), bulk_send and the re-engagement job all apply the very same rules.
--
-- Block reasons (messages.error_code) and what happens to a blocked message. A blocked message is
-- always stored, never silently dropped:
--   opted_out               canceled  the contact opted out of this channel (STOP, 21610)
--   no_reminder_consent     canceled  a reminder without reminder_consent
--   no_promotional_consent  canceled  re-engagement or bulk without promotional_consent
--   no_address              failed    the contact has no phone / WhatsApp / email for the channel
--   whatsapp_window_closed  failed    WhatsApp free-form text > 24 h after the last inbound
--                                     message, and no approved template
-- 'canceled' for the contact's own choices (nothing went wrong: analytics must not count them as
-- delivery failures); 'failed' for what a human should fix (add an address, use a template).
--
-- Quiet hours (tenants.quiet_hours_start/end, default 21:00-08:00, in the contact's timezone, else
-- the tenant's) apply to the kinds a customer did not ask for right now: reminder, reengagement,
-- bulk. Exempt: transactional (payment/shipment/booking notices are expected at once), manual (a
-- person chose to press send, seeing the clock) and auto_reply (it answers a message the customer
-- just wrote), and form. A deferred message stays 'queued' with next_attempt_at = the end of the
-- quiet window (the next allowed minute): the claim simply does not see it before then, no job has
-- to promote it, and the row keeps its scheduled_for (what was asked) apart from when it may go.
-- start = end means no quiet hours.
--
-- search_path and the advisor: contact_address, contact_block_reason, whatsapp_block_reason,
-- message_block_reason and quiet_hours_kind carry no `set search_path` on purpose, and
-- `supabase db advisors` reports them as function_search_path_mutable (WARN). PostgreSQL never
-- inlines a function that has a SET clause, and these are evaluated for every row a claim looks
-- at: as calls, each saving and restoring search_path, they would multiply the claim's cost at
-- production volume and miss its target (dev/bench/db.ts times claim_due_messages on 2M messages;
-- figures in dev/bench/RESULTS.md). They are safe without it: each is a
-- single immutable expression over its arguments that names only schema-qualified private.*
-- functions and built-in operators, is not security definer, and every caller that matters
-- (claim_due_messages, the enqueue trigger, bulk_send, reengage_idle) pins search_path = '' itself,
-- which is what the inlined expression is then resolved under.

-- The address a channel sends to. WhatsApp falls back to the phone number: a customer's WhatsApp
-- is their mobile number unless stored separately.
create or replace function private.contact_address(p_contact public.contacts, p_channel text)
returns text
language sql immutable as $$
  select case p_channel
    when 'sms' then p_contact.phone
    when 'whatsapp' then coalesce(p_contact.whatsapp, p_contact.phone)
    when 'email' then p_contact.email
  end
$$;
comment on function private.contact_address(public.contacts, text) is
  'The contact''s address on a channel (sms: phone, whatsapp: whatsapp else phone, email: email), or null.';
revoke all on function private.contact_address(public.contacts, text) from public;
grant execute on function private.contact_address(public.contacts, text) to authenticated, service_role;

-- opted_out_channels is the truth for opt-outs (opted_out_at only records when the last one
-- happened).
create or replace function private.contact_block_reason(
  p_contact public.contacts, p_channel text, p_kind text
) returns text
language sql immutable as $$
  select case
    when p_channel = any (p_contact.opted_out_channels)
      and not (p_channel = 'email' and p_kind = 'transactional') then 'opted_out'
    when p_kind = 'reminder' and not p_contact.reminder_consent then 'no_reminder_consent'
    when p_kind in ('reengagement', 'bulk') and not p_contact.promotional_consent
      then 'no_promotional_consent'
    when private.contact_address(p_contact, p_channel) is null then 'no_address'
  end
$$;
comment on function private.contact_block_reason(public.contacts, text, text) is
  'Null when the contact may get a message of this kind on this channel, else opted_out, no_reminder_consent, no_promotional_consent or no_address. Transactional email is allowed despite an opt-out.';
revoke all on function private.contact_block_reason(public.contacts, text, text) from public;
grant execute on function private.contact_block_reason(public.contacts, text, text)
  to authenticated, service_role;

-- WhatsApp's customer-service window: free-form text only within 24 h of the customer's last
-- message; outside it only an approved template (with its Twilio Content SID) of the same tenant.
create or replace function private.whatsapp_block_reason(
  p_conversation public.conversations, p_template public.templates, p_at timestamptz
) returns text
language sql immutable as $$
  select case
    when p_conversation.last_inbound_at > p_at - interval '24 hours' then null
    when p_template.whatsapp_approved and p_template.whatsapp_content_sid is not null
      and p_template.tenant_id = p_conversation.tenant_id then null
    else 'whatsapp_window_closed'
  end
$$;
comment on function private.whatsapp_block_reason(public.conversations, public.templates, timestamptz) is
  'Null when a WhatsApp message may go at p_at (inside the 24 h window, or an approved template), else whatsapp_window_closed.';
revoke all on function private.whatsapp_block_reason(public.conversations, public.templates, timestamptz) from public;
grant execute on function private.whatsapp_block_reason(public.conversations, public.templates, timestamptz)
  to authenticated, service_role;

-- Every block reason for one message at time p_at: contact rules first, then the WhatsApp window.
create or replace function private.message_block_reason(
  p_contact public.contacts, p_conversation public.conversations, p_template public.templates,
  p_channel text, p_kind text, p_at timestamptz
) returns text
language sql immutable as $$
  select coalesce(
    private.contact_block_reason(p_contact, p_channel, p_kind),
    case when p_channel = 'whatsapp'
      then private.whatsapp_block_reason(p_conversation, p_template, p_at) end
  )
$$;
comment on function private.message_block_reason(public.contacts, public.conversations, public.templates, text, text, timestamptz) is
  'Null when the message may be sent at p_at, else the block reason code (contact rules, then the WhatsApp window).';
revoke all on function private.message_block_reason(public.contacts, public.conversations, public.templates, text, text, timestamptz) from public;
grant execute on function private.message_block_reason(public.contacts, public.conversations, public.templates, text, text, timestamptz)
  to authenticated, service_role;

-- What a blocked message becomes, and the sentence a person reads in the inbox.
create or replace function private.block_status(p_reason text)
returns text
language sql immutable set search_path = '' as $$
  select case when p_reason in ('opted_out', 'no_reminder_consent', 'no_promotional_consent')
    then 'canceled' else 'failed' end
$$;
comment on function private.block_status(text) is
  'canceled for the contact''s own choices (opt-out, consent), failed for the rest.';
revoke all on function private.block_status(text) from public;
grant execute on function private.block_status(text) to authenticated, service_role;

create or replace function private.block_message(p_reason text, p_channel text)
returns text
language sql immutable set search_path = '' as $$
  select case p_reason
    when 'opted_out' then format('The contact opted out of %s messages.', p_channel)
    when 'no_reminder_consent' then 'The contact has not agreed to receive reminders.'
    when 'no_promotional_consent' then 'The contact has not agreed to receive promotional messages.'
    when 'no_address' then format('The contact has no %s.', case p_channel
      when 'sms' then 'phone number' when 'whatsapp' then 'WhatsApp number' else 'email address' end)
    when 'whatsapp_window_closed' then
      'WhatsApp allows free-form messages only within 24 hours of the customer''s last message; send an approved WhatsApp template instead.'
    else p_reason
  end
$$;
comment on function private.block_message(text, text) is
  'The human-readable error_message stored with a blocked message.';
revoke all on function private.block_message(text, text) from public;
grant execute on function private.block_message(text, text) to authenticated, service_role;

-- Quiet hours as a pure function: p_at itself when it is outside the window [p_start, p_end) in
-- p_timezone, else the first instant the window ends. start > end crosses midnight (21:00-08:00);
-- start = end means no quiet hours.
create or replace function private.quiet_hours_next_allowed(
  p_at timestamptz, p_timezone text, p_start time, p_end time
) returns timestamptz
language sql immutable set search_path = '' as $$
  select greatest(p_at, case
    when p_start = p_end then p_at
    when p_start < p_end then
      case when l.t::time >= p_start and l.t::time < p_end
        then (l.t::date + p_end) at time zone p_timezone else p_at end
    else
      case
        when l.t::time >= p_start then (l.t::date + 1 + p_end) at time zone p_timezone
        when l.t::time < p_end then (l.t::date + p_end) at time zone p_timezone
        else p_at
      end
  end)
  from (select p_at at time zone p_timezone as t) l
$$;
comment on function private.quiet_hours_next_allowed(timestamptz, text, time, time) is
  'p_at when it is outside the quiet window [p_start, p_end) in p_timezone, else when the window ends (the next allowed minute). start = end: no quiet hours.';
revoke all on function private.quiet_hours_next_allowed(timestamptz, text, time, time) from public;
grant execute on function private.quiet_hours_next_allowed(timestamptz, text, time, time)
  to authenticated, service_role;

-- contacts.timezone is free text: an unknown name falls back to the tenant's, then UTC, instead of
-- failing the send.
create or replace function private.effective_timezone(p_contact_tz text, p_tenant_tz text)
returns text
language plpgsql stable set search_path = '' as $$
declare
  v_tz text;
begin
  foreach v_tz in array array[p_contact_tz, p_tenant_tz] loop
    continue when v_tz is null or v_tz = '';
    begin
      perform now() at time zone v_tz;
      return v_tz;
    exception when others then
      null; -- not a timezone name: try the next one
    end;
  end loop;
  return 'UTC';
end;
$$;
comment on function private.effective_timezone(text, text) is
  'The first valid timezone of the contact''s and the tenant''s, else UTC.';
revoke all on function private.effective_timezone(text, text) from public;
grant execute on function private.effective_timezone(text, text) to authenticated, service_role;

create or replace function private.quiet_hours_kind(p_kind text)
returns boolean
language sql immutable as $$
  select p_kind in ('reminder', 'reengagement', 'bulk')
$$;
comment on function private.quiet_hours_kind(text) is
  'True for the kinds quiet hours defer (reminder, reengagement, bulk); transactional, manual, auto_reply and form are exempt.';
revoke all on function private.quiet_hours_kind(text) from public;
grant execute on function private.quiet_hours_kind(text) to authenticated, service_role;

-- When a message of this kind to this contact may go, at the earliest p_at.
create or replace function private.send_not_before(
  p_kind text, p_contact public.contacts, p_tenant public.tenants, p_at timestamptz
) returns timestamptz
language sql stable set search_path = '' as $$
  select case when private.quiet_hours_kind(p_kind)
    then private.quiet_hours_next_allowed(p_at,
      private.effective_timezone(p_contact.timezone, p_tenant.timezone),
      p_tenant.quiet_hours_start, p_tenant.quiet_hours_end)
    else p_at end
$$;
comment on function private.send_not_before(text, public.contacts, public.tenants, timestamptz) is
  'p_at, or the end of the quiet hours (contact timezone, else tenant''s) when p_at falls inside them and the kind is subject to them.';
revoke all on function private.send_not_before(text, public.contacts, public.tenants, timestamptz) from public;
grant execute on function private.send_not_before(text, public.contacts, public.tenants, timestamptz)
  to authenticated, service_role;

-- The enqueue rules, for every outbound row inserted as 'queued' or 'scheduled' (manual sends,
-- business triggers, bulk sends, auto-replies, re-engagement all pass through here). Security
-- definer: it must read the contact, conversation, tenant and template whoever inserts.
-- * consistency: the conversation and contact must be the message's tenant's (a foreign key alone
--   would accept another tenant's ids);
-- * to_address defaults to the contact's address on the channel;
-- * a contact rule blocks → stored as canceled/failed with error_code and error_message;
-- * 'queued' rows: next_attempt_at defaults to now(); the WhatsApp window is checked now; quiet
--   hours push next_attempt_at to the end of the window.
-- * 'scheduled' rows: contact rules now; the window and quiet hours when claimed (it is the
--   sending time that matters, and contact details may change until then).
create or replace function private.apply_enqueue_rules()
returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_contact public.contacts;
  v_conversation public.conversations;
  v_tenant public.tenants;
  v_template public.templates;
  v_reason text;
begin
  if new.direction <> 'outbound' or new.status not in ('queued', 'scheduled') then
    return new;
  end if;

  select * into v_conversation from public.conversations c where c.id = new.conversation_id;
  select * into v_contact from public.contacts c where c.id = new.contact_id;
  if v_conversation.tenant_id is distinct from new.tenant_id
    or v_contact.tenant_id is distinct from new.tenant_id
    or v_conversation.contact_id is distinct from new.contact_id then
    raise exception 'message conversation and contact must belong to the message''s tenant and to each other'
      using errcode = '23514';
  end if;
  if new.template_id is not null then
    select * into v_template from public.templates t
    where t.id = new.template_id and t.tenant_id = new.tenant_id;
  end if;

  new.to_address := coalesce(new.to_address, private.contact_address(v_contact, new.channel));

  if new.status = 'queued' then
    new.next_attempt_at := coalesce(new.next_attempt_at, now());
    v_reason := private.message_block_reason(
      v_contact, v_conversation, v_template, new.channel, new.kind, now());
  else
    v_reason := private.contact_block_reason(v_contact, new.channel, new.kind);
  end if;

  if v_reason is not null then
    new.status := private.block_status(v_reason);
    new.error_code := v_reason;
    new.error_message := private.block_message(v_reason, new.channel);
    if new.status = 'failed' then
      new.failed_at := now();
    end if;
    return new;
  end if;

  if new.status = 'queued' and private.quiet_hours_kind(new.kind) then
    select * into v_tenant from public.tenants t where t.id = new.tenant_id;
    new.next_attempt_at := private.send_not_before(new.kind, v_contact, v_tenant, new.next_attempt_at);
  end if;
  return new;
end;
$$;
comment on function private.apply_enqueue_rules() is
  'BEFORE INSERT trigger on outbound queued/scheduled messages: tenant consistency, to_address, next_attempt_at default, opt-out/consent/address/WhatsApp-window blocks (stored as canceled/failed with error_code), quiet-hours deferral.';
revoke all on function private.apply_enqueue_rules() from public;

create trigger messages_enqueue_rules
  before insert on public.messages
  for each row
  when (new.direction = 'outbound' and new.status in ('queued', 'scheduled'))
  execute function private.apply_enqueue_rules();
