-- Business events send messages: order status changes (paid, fulfilled, payment_failed) and
-- appointment changes (booked/confirmed, rescheduled, canceled). Each follows the tenant's
-- public.automations row (enabled, template, offset). Messages are inserted as 'queued' (now) or
-- 'scheduled' (reminders); the outbox rules trigger then decides whether each may go (consent,
-- opt-out, quiet hours), so no rule is repeated here.

-- Renders and inserts one automatic message; returns its id, or null when the automation is off,
-- has no template, or the message already exists (messages_automation_once_idx: one per
-- appointment and automation_key). A template that cannot be rendered (a value is missing, e.g. a
-- shipment without a tracking URL) gives a 'failed' row with error_code 'template_variable_missing'
-- rather than a blank or a failed order update: the business sees it in the thread.
create or replace function private.enqueue_automation(
  p_kind text,
  p_contact_id uuid,
  p_message_kind text,
  p_automation_key text,
  p_scheduled_for timestamptz default null,
  p_appointment_id uuid default null,
  p_order_id uuid default null
) returns uuid
language plpgsql security definer set search_path = '' as $$
declare
  v_contact public.contacts;
  v_automation record;
  v_channel text;
  v_conversation public.conversations;
  v_variables jsonb;
  v_body text;
  v_subject text;
  v_error text;
  v_id uuid;
begin
  select * into v_contact from public.contacts c where c.id = p_contact_id;
  select a.enabled, a.template_id, t.body, t.subject, t.name into v_automation
  from public.automations a
  left join public.templates t on t.id = a.template_id
  where a.tenant_id = v_contact.tenant_id and a.kind = p_kind;
  if not found or not v_automation.enabled or v_automation.template_id is null then
    return null;
  end if;

  v_channel := private.contact_channel(v_contact);
  v_conversation := private.ensure_conversation(v_contact.tenant_id, v_contact.id, v_channel);
  v_variables := private.message_variables(p_contact_id, p_appointment_id, p_order_id);
  begin
    v_body := public.render_template(v_automation.body, v_variables);
    if v_channel = 'email' then
      v_subject := public.render_template(coalesce(v_automation.subject, v_automation.name),
        v_variables);
    end if;
  exception when sqlstate '22023' then
    v_error := sqlerrm;
  end;

  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
    body, subject, status, scheduled_for, next_attempt_at, to_address, template_id, variables,
    appointment_id, order_id, automation_key, error_code, error_message, failed_at)
  values (v_contact.tenant_id, v_conversation.id, v_contact.id, 'outbound', v_channel,
    p_message_kind, coalesce(v_body, v_automation.body), v_subject,
    case when v_error is not null then 'failed'
      when p_scheduled_for is not null then 'scheduled' else 'queued' end,
    p_scheduled_for, coalesce(p_scheduled_for, now()),
    private.contact_address(v_contact, v_channel), v_automation.template_id, v_variables,
    p_appointment_id, p_order_id, p_automation_key,
    case when v_error is not null then 'template_variable_missing' end, v_error,
    case when v_error is not null then now() end)
  on conflict (appointment_id, automation_key)
    where appointment_id is not null and automation_key is not null and status <> 'canceled'
    do nothing
  returning id into v_id;
  return v_id;
end;
$$;
comment on function private.enqueue_automation(text, uuid, text, text, timestamptz, uuid, uuid) is
  'Inserts one automatic message for a contact from the tenant''s automation p_kind (rendered template, contact''s channel), queued now or scheduled for p_scheduled_for. Null when the automation is off or the message exists already.';
revoke all on function private.enqueue_automation(text, uuid, text, text, timestamptz, uuid, uuid)
  from public;
grant execute on function private.enqueue_automation(text, uuid, text, text, timestamptz, uuid, uuid)
  to service_role;

-- Orders -------------------------------------------------------------------------------------------
create or replace function private.order_notifications() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_kind text := case new.status
    when 'paid' then 'payment_confirmation'
    when 'fulfilled' then 'shipment_notice'
    when 'payment_failed' then 'payment_failed'
  end;
begin
  if v_kind is not null then
    perform private.enqueue_automation(v_kind, new.contact_id, 'transactional', v_kind,
      p_order_id => new.id);
  end if;
  return null;
end;
$$;
comment on function private.order_notifications() is
  'AFTER trigger on public.orders: paid -> payment confirmation, fulfilled -> shipment notice with tracking, payment_failed -> failure notice with the retry link (payment_url).';
revoke all on function private.order_notifications() from public;

-- An order created already paid (a checkout that took the payment) is a move to paid too. Orders
-- inserted in any other state, or with a created_at older than a day, are history being imported
-- (a shop sync, demo data): notifying customers about them now would be wrong.
create trigger orders_notify_insert after insert on public.orders
  for each row when (new.status = 'paid' and new.created_at > now() - interval '1 day')
  execute function private.order_notifications();
create trigger orders_notify_update after update of status on public.orders
  for each row when (new.status is distinct from old.status
    and new.status in ('paid', 'fulfilled', 'payment_failed'))
  execute function private.order_notifications();

-- Appointments -------------------------------------------------------------------------------------
-- The 24 h and 2 h reminders that are still in the future, as scheduled rows. Idempotent: existing
-- (not canceled) reminders are kept by the unique index.
create or replace function private.schedule_appointment_reminders(p_appointment public.appointments)
returns void
language plpgsql security definer set search_path = '' as $$
declare
  v_automation record;
  v_due timestamptz;
begin
  for v_automation in
    select a.kind, a.offset_minutes from public.automations a
    where a.tenant_id = p_appointment.tenant_id and a.kind in ('reminder_24h', 'reminder_2h')
      and a.enabled and a.template_id is not null
    order by a.offset_minutes desc
  loop
    v_due := p_appointment.starts_at - make_interval(mins => v_automation.offset_minutes);
    if v_due > now() then
      perform private.enqueue_automation(v_automation.kind, p_appointment.contact_id, 'reminder',
        v_automation.kind, v_due, p_appointment.id);
    end if;
  end loop;
end;
$$;
comment on function private.schedule_appointment_reminders(public.appointments) is
  'Creates the appointment''s enabled reminders (24 h, 2 h: automations.offset_minutes before starts_at) that are still in the future, as scheduled messages. Idempotent.';
revoke all on function private.schedule_appointment_reminders(public.appointments) from public;

-- Cancels what has not gone out yet (reminders, an unsent confirmation or reschedule notice).
-- Rows being sent right now ('sending') are past the point of no return.
create or replace function private.cancel_appointment_messages(p_appointment_id uuid)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_count integer;
begin
  update public.messages m set status = 'canceled'
  where m.appointment_id = p_appointment_id and m.direction = 'outbound'
    and m.status in ('scheduled', 'queued');
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function private.cancel_appointment_messages(uuid) is
  'Cancels the appointment''s outbound messages still scheduled or queued; returns how many.';
revoke all on function private.cancel_appointment_messages(uuid) from public;

-- A re-rendered body for an existing automatic message, or null when it cannot be rendered.
create or replace function private.rerender_automation(
  p_message public.messages,
  p_kind text,
  p_variables jsonb
) returns table (body text, subject text, template_id uuid)
language plpgsql stable security definer set search_path = '' as $$
declare
  v_template public.templates;
begin
  select t.* into v_template
  from public.automations a join public.templates t on t.id = a.template_id
  where a.tenant_id = p_message.tenant_id and a.kind = p_kind and a.enabled;
  if not found then
    return;
  end if;
  body := public.render_template(v_template.body, p_variables);
  if p_message.channel = 'email' then
    subject := public.render_template(coalesce(v_template.subject, v_template.name), p_variables);
  end if;
  template_id := v_template.id;
  return next;
exception when sqlstate '22023' then
  return;
end;
$$;
comment on function private.rerender_automation(public.messages, text, jsonb) is
  'Body, subject and template of automation p_kind rendered with p_variables for an existing message; no row when the automation is off or the template cannot be rendered.';
revoke all on function private.rerender_automation(public.messages, text, jsonb) from public;

-- Rescheduled (starts_at or service changed): pending reminders move to the new time with a
-- re-rendered body, or are canceled when the new time leaves them in the past; reminders already
-- sent for the old time are retired (their automation_key gets "@<old time>") so that the new time
-- gets its own; an unsent confirmation is re-rendered, else a reschedule notice goes out.
create or replace function private.reschedule_appointment_messages(
  p_old public.appointments,
  p_new public.appointments
) returns void
language plpgsql security definer set search_path = '' as $$
declare
  v_variables jsonb := private.message_variables(p_new.contact_id, p_new.id);
  v_message public.messages;
  v_offset integer;
  v_due timestamptz;
  v_render record;
  v_confirmation_updated boolean := false;
begin
  if p_new.starts_at is distinct from p_old.starts_at then
    update public.messages m
    set automation_key = m.automation_key || '@'
      || to_char(p_old.starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')
    where m.appointment_id = p_new.id and m.automation_key in ('reminder_24h', 'reminder_2h')
      and m.status not in ('scheduled', 'queued', 'canceled');
  end if;

  for v_message in
    select * from public.messages m
    where m.appointment_id = p_new.id and m.status in ('scheduled', 'queued')
      and m.automation_key in ('reminder_24h', 'reminder_2h', 'booking_confirmation')
    for update
  loop
    select r.* into v_render
    from private.rerender_automation(v_message, v_message.automation_key, v_variables) r;
    if v_message.automation_key = 'booking_confirmation' then
      if v_render.body is not null then
        update public.messages m
        set body = v_render.body, subject = coalesce(v_render.subject, m.subject),
          variables = v_variables, template_id = v_render.template_id
        where m.id = v_message.id;
        v_confirmation_updated := true;
      end if;
      continue;
    end if;
    select a.offset_minutes into v_offset from public.automations a
    where a.tenant_id = p_new.tenant_id and a.kind = v_message.automation_key;
    v_due := p_new.starts_at - make_interval(mins => coalesce(v_offset, 0));
    if v_message.status = 'scheduled' and v_render.body is not null and v_due > now() then
      update public.messages m
      set scheduled_for = v_due, next_attempt_at = v_due, body = v_render.body,
        subject = coalesce(v_render.subject, m.subject), variables = v_variables,
        template_id = v_render.template_id
      where m.id = v_message.id;
    else
      -- A queued reminder is due now for the old time; the new time gets a fresh one if any.
      update public.messages m set status = 'canceled' where m.id = v_message.id;
    end if;
  end loop;

  if p_new.starts_at is distinct from p_old.starts_at and p_new.starts_at > now()
    and not v_confirmation_updated then
    -- Only the latest time is worth announcing.
    update public.messages m set status = 'canceled'
    where m.appointment_id = p_new.id and m.automation_key like 'appointment_rescheduled:%'
      and m.status in ('scheduled', 'queued');
    perform private.enqueue_automation('appointment_rescheduled', p_new.contact_id,
      'transactional', 'appointment_rescheduled:'
        || to_char(p_new.starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'),
      p_appointment_id => p_new.id);
  end if;
end;
$$;
comment on function private.reschedule_appointment_messages(public.appointments, public.appointments) is
  'After an appointment moved: pending reminders moved (or canceled if now past), sent ones retired, an unsent confirmation re-rendered, else a reschedule notice (automation appointment_rescheduled).';
revoke all on function private.reschedule_appointment_messages(public.appointments, public.appointments)
  from public;

create or replace function private.appointment_notifications() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_active boolean := new.status in ('booked', 'confirmed');
  v_was_active boolean := tg_op = 'UPDATE' and old.status in ('booked', 'confirmed');
  v_moved boolean := tg_op = 'UPDATE'
    and (new.starts_at is distinct from old.starts_at or new.service is distinct from old.service);
begin
  if not v_active then
    -- Canceled, completed or no-show: nothing more goes out for it.
    if v_was_active then
      perform private.cancel_appointment_messages(new.id);
    end if;
    return null;
  end if;

  if v_was_active and v_moved then
    perform private.reschedule_appointment_messages(old, new);
  end if;

  if new.starts_at > now() then
    -- Booked, confirmed, or back from canceled. A confirmation already sent is not repeated (one
    -- per appointment: messages_automation_once_idx).
    if tg_op = 'INSERT' or not v_was_active
      or (new.status = 'confirmed' and old.status <> 'confirmed') then
      perform private.enqueue_automation('booking_confirmation', new.contact_id, 'transactional',
        'booking_confirmation', p_appointment_id => new.id);
    end if;
    if tg_op = 'INSERT' or not v_was_active or new.status is distinct from old.status
      or new.starts_at is distinct from old.starts_at then
      perform private.schedule_appointment_reminders(new);
    end if;
  end if;
  return null;
end;
$$;
comment on function private.appointment_notifications() is
  'AFTER trigger on public.appointments: booked/confirmed -> confirmation and future reminders; rescheduled -> reminders moved and a notice; canceled/completed/no-show -> pending messages canceled.';
revoke all on function private.appointment_notifications() from public;

create trigger appointments_notify after insert or update of status, starts_at, service
  on public.appointments
  for each row execute function private.appointment_notifications();

-- A deleted appointment would leave its reminders orphaned (appointment_id is set null) but still
-- scheduled: cancel them first.
create or replace function private.appointment_deleted() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- Deleted because its tenant or contact is being deleted: the messages go with them. Updating
  -- them here would even fail when they were written in this transaction (their foreign keys are
  -- re-checked against the row already gone).
  if not exists (select 1 from public.tenants t where t.id = old.tenant_id)
     or not exists (select 1 from public.contacts c where c.id = old.contact_id) then
    return old;
  end if;
  perform private.cancel_appointment_messages(old.id);
  return old;
end;
$$;
comment on function private.appointment_deleted() is
  'BEFORE DELETE trigger on public.appointments: cancels its pending messages.';
revoke all on function private.appointment_deleted() from public;

create trigger appointments_cancel_on_delete before delete on public.appointments
  for each row execute function private.appointment_deleted();
