-- A new tenant starts with working automations: one template per automatic message and one
-- public.automations row per kind pointing at it. Owners edit or disable them later.

create or replace function private.install_default_templates(p_tenant_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
begin
  -- (kind, template name, category, subject, body, offset_minutes, enabled)
  with defaults (kind, name, category, subject, body, offset_minutes, enabled) as (
    values
      ('booking_confirmation', 'Booking confirmation', 'appointment',
        'Your {service} at {business_name}',
        'Hi {first_name}, you''re booked for {service} at {business_name} on {date} at {time}. Reply to this message if you need to change it.',
        0, true),
      ('reminder_24h', 'Reminder 24 hours before', 'appointment',
        'Reminder: {service} tomorrow',
        'Hi {first_name}, a reminder of your {service} at {business_name} tomorrow, {date} at {time}. Reply to this message if you need to reschedule.',
        1440, true),
      ('reminder_2h', 'Reminder 2 hours before', 'appointment',
        'See you at {time}',
        'See you soon, {first_name}! Your {service} at {business_name} is today at {time}.',
        120, true),
      ('appointment_rescheduled', 'Appointment rescheduled', 'appointment',
        'Your {service} has moved',
        'Hi {first_name}, your {service} at {business_name} is now on {date} at {time}. Reply to this message if that does not suit you.',
        0, true),
      ('payment_confirmation', 'Payment confirmation', 'order',
        'Payment received for order {order_number}',
        'Thanks {first_name}! We received your payment for order {order_number}. - {business_name}',
        0, true),
      ('shipment_notice', 'Shipment notice', 'order',
        'Order {order_number} has shipped',
        'Good news {first_name}: order {order_number} from {business_name} is on its way. Tracking number {tracking_number}: {tracking_url}',
        0, true),
      ('payment_failed', 'Payment failed', 'order',
        'Payment for order {order_number} did not go through',
        'Hi {first_name}, the payment for order {order_number} did not go through. You can try again here: {retry_url} - {business_name}',
        0, true),
      -- Promotional: needs promotional consent (checked by the outbox rules) and says how to stop.
      ('reengagement', 'We miss you', 'marketing',
        'It has been a while',
        'Hi {first_name}, it has been a while! {business_name} would love to see you again - just reply to this message. Reply STOP to opt out.',
        10080, true)
  ),
  inserted as (
    insert into public.templates (tenant_id, name, category, subject, body)
    select p_tenant_id, d.name, d.category, d.subject, d.body
    from defaults d
    -- A tenant that already has a template of that name keeps it (and the automation uses it).
    on conflict (tenant_id, name) do nothing
    returning id, name
  ),
  chosen as (
    select d.kind, d.offset_minutes, d.enabled,
      -- Re-engagement starts without a template: the job's built-in texts name the contact's last
      -- topic (service or order) when known, which one fixed template cannot. 'We miss you' stays
      -- available for campaigns and for tenants who pick it.
      case when d.kind <> 'reengagement' then
        coalesce(i.id, (select t.id from public.templates t
          where t.tenant_id = p_tenant_id and t.name = d.name))
      end as template_id
    from defaults d
    left join inserted i on i.name = d.name
  )
  insert into public.automations (tenant_id, kind, enabled, template_id, offset_minutes)
  select p_tenant_id, c.kind, c.enabled, c.template_id, c.offset_minutes
  from chosen c
  on conflict (tenant_id, kind) do nothing;
end;
$$;
comment on function private.install_default_templates(uuid) is
  'Gives a tenant the default templates (booking confirmation, 24 h and 2 h reminders, reschedule notice, payment confirmation, shipment notice, payment failed, re-engagement) and one automation per kind. Idempotent.';
revoke all on function private.install_default_templates(uuid) from public;
grant execute on function private.install_default_templates(uuid) to service_role;

create or replace function private.tenant_defaults() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform private.install_default_templates(new.id);
  return null;
end;
$$;
comment on function private.tenant_defaults() is
  'AFTER INSERT trigger on public.tenants: installs the default templates and automations.';
revoke all on function private.tenant_defaults() from public;
create trigger tenants_install_defaults after insert on public.tenants
  for each row execute function private.tenant_defaults();

-- Tenants that exist before this migration (hosted projects) get them too.
select private.install_default_templates(id) from public.tenants;
