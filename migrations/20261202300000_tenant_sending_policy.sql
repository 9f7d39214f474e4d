-- Who may send SMS/WhatsApp, through which account, to where. Sign-up is open, so a new business
-- must not be able to spend the platform's Twilio account or pick its own limits:
-- * a business sends through its own verified Twilio account (private.tenant_credentials, saved by
--   the tenant-credentials function only after Twilio accepted the pair); until it has one it is
--   in test mode: SMS/WhatsApp rows are failed with error_code 'test_mode' and a sentence saying
--   why, at enqueue and again at claim, nothing reaches a provider;
-- * the platform's account (TWILIO_ACCOUNT_SID in the function env) speaks only for businesses an
--   operator provisioned (tenants.platform_provisioned, service role only);
-- * send_rate_per_minute and messaging_service_sid are no longer owner-writable (an owner set the
--   rate to 100,000): only the service role sets them (an operator; twilio-sync does not import
--   messaging services yet, so a business's own Messaging Service SID is set on its behalf);
-- * destinations must be in the business's allowed country calling codes, and premium-rate
--   prefixes are never sent to (satellite and international-network numbers only when allowed).
-- The rule lives in private.message_block_reason, which both the enqueue trigger and
-- claim_due_messages already apply, so there is one home for it.

-- platform_provisioned defaults to true for rows the service role inserts (an operator creating a
-- business provisions it); a business created for a signed-in user (public.create_tenant, the
-- sign-up path) is forced to false by the trigger below, whatever the insert says.
alter table public.tenants
  add column platform_provisioned boolean not null default true,
  add column allowed_country_codes text[] not null default '{1}'
    check (cardinality(allowed_country_codes) between 1 and 50
      and array_to_string(allowed_country_codes, ',') ~ '^[1-9][0-9]{0,2}(,[1-9][0-9]{0,2})*$'),
  add column allowed_number_types text[] not null default '{}'
    check (allowed_number_types <@ array['satellite', 'international_network']);
comment on column public.tenants.platform_provisioned is
  'Set by an operator (service role only): the business may send through the platform''s Twilio account when it has none of its own.';
comment on column public.tenants.allowed_country_codes is
  'Country calling codes (without +) SMS/WhatsApp may go to; set by an operator (service role only).';
comment on column public.tenants.allowed_number_types is
  'Special number types besides ordinary ones that may be sent to (satellite, international_network); premium-rate numbers never are. Service role only.';

create or replace function private.self_serve_tenant_defaults()
returns trigger
language plpgsql set search_path = '' as $$
begin
  if (select auth.uid()) is not null and coalesce((select auth.role()), '') <> 'service_role' then
    new.platform_provisioned := false;
    new.messaging_service_sid := null;
    new.send_rate_per_minute := 60;
  end if;
  return new;
end;
$$;
comment on function private.self_serve_tenant_defaults() is
  'BEFORE INSERT on tenants: a business created for a signed-in user (sign-up) is not provisioned on the platform account and gets the default caps.';
revoke all on function private.self_serve_tenant_defaults() from public;

create trigger tenants_self_serve_defaults before insert on public.tenants
  for each row execute function private.self_serve_tenant_defaults();

-- Owners keep every setting but the ones that spend or impersonate: rate and messaging service.
revoke update (send_rate_per_minute, messaging_service_sid) on public.tenants from authenticated;

-- Prefixes of special number types (E.164, with +). Not exhaustive: the well-known premium-rate
-- and satellite ranges; operators add rows. The longest matching prefix wins.
create table private.number_prefixes (
  prefix text primary key check (prefix ~ '^\+[1-9][0-9]{0,9}$'),
  number_type text not null check (number_type in ('premium_rate', 'satellite', 'international_network')),
  note text not null default ''
);
comment on table private.number_prefixes is
  'Special number ranges by E.164 prefix (premium_rate, satellite, international_network); sends to premium_rate are always blocked.';
revoke all on private.number_prefixes from public, anon, authenticated;
grant select on private.number_prefixes to service_role;

insert into private.number_prefixes (prefix, number_type, note) values
  ('+1900', 'premium_rate', 'NANP 900 premium'),
  ('+1976', 'premium_rate', 'NANP 976 premium'),
  ('+449', 'premium_rate', 'UK 09 premium rate'),
  ('+4487', 'premium_rate', 'UK 087 service numbers'),
  ('+49900', 'premium_rate', 'Germany 0900'),
  ('+49137', 'premium_rate', 'Germany 0137 televoting'),
  ('+3389', 'premium_rate', 'France 089'),
  ('+34803', 'premium_rate', 'Spain 803'),
  ('+34806', 'premium_rate', 'Spain 806'),
  ('+34807', 'premium_rate', 'Spain 807'),
  ('+34905', 'premium_rate', 'Spain 905'),
  ('+39899', 'premium_rate', 'Italy 899'),
  ('+39892', 'premium_rate', 'Italy 892'),
  ('+61190', 'premium_rate', 'Australia 190'),
  ('+979', 'premium_rate', 'International Premium Rate Service'),
  ('+870', 'satellite', 'Inmarsat'),
  ('+881', 'satellite', 'Global Mobile Satellite System'),
  ('+882', 'international_network', 'International Networks'),
  ('+883', 'international_network', 'International Networks');

create or replace function private.number_type(p_e164 text)
returns text
language sql stable set search_path = '' as $$
  select coalesce((
    select p.number_type from private.number_prefixes p
    where p_e164 like p.prefix || '%'
    order by length(p.prefix) desc
    limit 1
  ), 'standard')
$$;
comment on function private.number_type(text) is
  'premium_rate, satellite or international_network when the number starts with a known prefix, else standard.';
revoke all on function private.number_type(text) from public;
grant execute on function private.number_type(text) to service_role;

-- Whether the tenant has a Twilio account to send SMS/WhatsApp with: 'own_account' (verified
-- credentials), 'platform' (provisioned by an operator, no credentials of its own) or 'test'.
create or replace function private.tenant_sending_mode(p_tenant_id uuid)
returns text
language sql stable security definer set search_path = '' as $$
  select case
    when exists (select 1 from private.tenant_credentials c
                 where c.tenant_id = p_tenant_id and c.verified_at is not null) then 'own_account'
    when (select t.platform_provisioned from public.tenants t where t.id = p_tenant_id) then 'platform'
    else 'test'
  end
$$;
comment on function private.tenant_sending_mode(uuid) is
  'own_account (verified Twilio credentials), platform (operator-provisioned, sends through the platform account) or test (nothing is sent on SMS/WhatsApp).';
revoke all on function private.tenant_sending_mode(uuid) from public;
grant execute on function private.tenant_sending_mode(uuid) to service_role;

-- The tenant-level reason a message may not go to p_address, else null. It runs
-- once per claimed row, so it reads everything in one query (tenant, own account, number type).
-- It reads private.tenant_credentials: it runs inside the security definer rules (enqueue
-- trigger, claim, bulk_send, cron), never for a client.
create or replace function private.tenant_send_block_reason(
  p_tenant_id uuid, p_channel text, p_address text
) returns text
language plpgsql stable set search_path = '' as $$
declare
  v_to text;
  v_t record;
begin
  if p_channel = 'email' then
    -- Email goes out through the platform's email provider account: a self-serve business may use
    -- it only once an operator verified a sender domain of its own (or provisioned it), else a
    -- fresh sign-up could mail anyone from the platform (20261202300100_tenant_email_domains.sql).
    return case when exists (select 1 from public.tenants t
                              where t.id = p_tenant_id and t.platform_provisioned)
                  or exists (select 1 from public.tenant_email_domains d
                              where d.tenant_id = p_tenant_id and d.verified_at is not null)
                then null else 'test_mode' end;
  end if;
  if p_channel not in ('sms', 'whatsapp') then
    return null;
  end if;
  v_to := regexp_replace(coalesce(p_address, ''), '^whatsapp:', '');
  select t.platform_provisioned, t.allowed_country_codes, t.allowed_number_types,
    exists (select 1 from private.tenant_credentials c
            where c.tenant_id = t.id and c.verified_at is not null) as own_account,
    coalesce((select p.number_type from private.number_prefixes p
              where v_to like p.prefix || '%' order by length(p.prefix) desc limit 1),
      'standard') as number_type
  into v_t from public.tenants t where t.id = p_tenant_id;
  if not (v_t.own_account or v_t.platform_provisioned) then
    return 'test_mode';
  end if;
  if v_to = '' then
    return null; -- contact_block_reason reports no_address
  end if;
  if not exists (select 1 from unnest(v_t.allowed_country_codes) cc
                 where v_to like '+' || cc || '%') then
    return 'country_not_allowed';
  end if;
  return case
    when v_t.number_type = 'standard' then null
    when v_t.number_type = 'premium_rate' then 'premium_rate_number'
    when v_t.number_type = any (v_t.allowed_number_types) then null
    else 'number_type_not_allowed'
  end;
end;
$$;
comment on function private.tenant_send_block_reason(uuid, text, text) is
  'test_mode (SMS/WhatsApp: no own verified Twilio account and not provisioned; email: no verified sender domain and not provisioned), country_not_allowed, premium_rate_number or number_type_not_allowed; else null.';
revoke all on function private.tenant_send_block_reason(uuid, text, text) from public;
grant execute on function private.tenant_send_block_reason(uuid, text, text) to service_role;

-- The existing rule, with the tenant's policy between the contact rules and the WhatsApp window.
-- Stable now (it reads the tenant). Like the helpers it calls, it has no SET search_path: a SET
-- clause keeps the planner from inlining a SQL function (PostgreSQL's inline_function() skips
-- functions with proconfig), and these run per row in claim_due_messages and the enqueue
-- trigger; every name in them is schema-qualified (dev/tasks/test.ts EXPLAINED_WARNINGS).
create or replace function private.message_block_reason(
  p_contact public.contacts, p_conversation public.conversations, p_template public.templates,
  p_channel text, p_kind text, p_at timestamptz
) returns text
language sql stable as $$
  select coalesce(
    private.contact_block_reason(p_contact, p_channel, p_kind),
    private.tenant_send_block_reason(p_contact.tenant_id, p_channel,
      private.contact_address(p_contact, p_channel)),
    case when p_channel = 'whatsapp'
      then private.whatsapp_block_reason(p_conversation, p_template, p_at) end
  )
$$;
comment on function private.message_block_reason(public.contacts, public.conversations, public.templates, text, text, timestamptz) is
  'Null when the message may be sent at p_at, else the block reason code (contact rules, then the tenant''s sending policy, then the WhatsApp window).';

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
    when 'test_mode' then case p_channel
      when 'email' then
        'Test mode: this business has no verified sender domain yet, so email is not sent. Ask for one under Channels.'
      else
        'Test mode: this business has not connected its own Twilio account yet, so SMS and WhatsApp messages are not sent. Connect one under Channels.'
      end
    when 'country_not_allowed' then
      'This business may not send to numbers in that country; ask the operator to allow it.'
    when 'premium_rate_number' then 'Messages to premium-rate numbers are never sent.'
    when 'number_type_not_allowed' then
      'This business may not send to satellite or international-network numbers.'
    else p_reason
  end
$$;


-- For the dashboard: the caller's tenant's mode and, in test mode, the sentence to show.
create or replace function public.sending_mode(p_tenant_id uuid)
returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  v_mode text;
begin
  if not p_tenant_id = any (array(select private.member_tenant_ids())) then
    raise exception 'not a member of this tenant' using errcode = '42501';
  end if;
  v_mode := private.tenant_sending_mode(p_tenant_id);
  return jsonb_build_object('mode', v_mode,
    'message', case when v_mode = 'test' then private.block_message('test_mode', 'sms') end);
end;
$$;
comment on function public.sending_mode(uuid) is
  'Members: {mode: own_account|platform|test, message}: whether SMS/WhatsApp really go out for this business.';
revoke all on function public.sending_mode(uuid) from public, anon;
grant execute on function public.sending_mode(uuid) to authenticated, service_role;
