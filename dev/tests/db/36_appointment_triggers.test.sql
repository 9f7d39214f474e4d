-- Appointment changes: confirmation, 24 h / 2 h reminders as scheduled rows (future only),
-- rescheduling moves them, canceling cancels them, all following the tenant's automations.
begin;
select plan(44);

create temp table x as select tests.inbound_tenant('apt-salon') as tenant_id;
alter table x add column contact_id uuid, add column t0 timestamptz;
update x set contact_id = tests.inbound_contact(tenant_id, 'Ada Lovelace', '+15550003601'),
  t0 = date_trunc('hour', now()) + interval '1 hour';

create function pg_temp.book(p_service text, p_starts timestamptz, p_status text default 'booked') returns uuid language sql as $$
  insert into public.appointments (tenant_id, contact_id, service, starts_at, status)
  select tenant_id, contact_id, p_service, p_starts, p_status from x returning id
$$;
create function pg_temp.appt(p_service text) returns uuid language sql as $$
  select id from public.appointments where tenant_id = (select tenant_id from x) and service = p_service
$$;
-- key:status:offset-from-start, sorted, for the appointment's messages.
create function pg_temp.plan(p_service text) returns text language sql as $$
  select string_agg(m.automation_key || ':' || m.status ||
    coalesce(':' || extract(epoch from (a.starts_at - m.scheduled_for))::integer / 60 || 'm', ''),
    ', ' order by m.automation_key, m.status, m.scheduled_for)
  from public.messages m join public.appointments a on a.id = m.appointment_id
  where a.id = pg_temp.appt(p_service)
$$;
create function pg_temp.msg(p_service text, p_key text) returns public.messages language sql as $$
  select * from public.messages where appointment_id = pg_temp.appt(p_service) and automation_key = p_key
    and status <> 'canceled'
$$;

-- Booked three days ahead: a confirmation now, and both reminders.
select pg_temp.book('Haircut', (select t0 from x) + interval '3 days');
select is(pg_temp.plan('Haircut'),
  'booking_confirmation:queued, reminder_24h:scheduled:1440m, reminder_2h:scheduled:120m',
  'booked in 3 days: a queued confirmation and reminders 24 h and 2 h before');
select results_eq(
  $$ select kind, direction, channel, to_address, next_attempt_at = scheduled_for, template_id
     from public.messages where id = (pg_temp.msg('Haircut', 'reminder_24h')).id $$,
  $$ select 'reminder'::text, 'outbound'::text, 'sms'::text, '+15550003601'::text, true,
       (select template_id from public.automations where tenant_id = (select tenant_id from x) and kind = 'reminder_24h') $$,
  'a reminder is an outbound sms of kind reminder, due at its scheduled time, from the reminder template');
select is((pg_temp.msg('Haircut', 'booking_confirmation')).kind, 'transactional', 'the confirmation is transactional');
select is((pg_temp.msg('Haircut', 'booking_confirmation')).body,
  'Hi Ada, you''re booked for Haircut at Apt Salon on ' || to_char(((select t0 from x) + interval '3 days') at time zone 'UTC', 'Dy, Mon FMDD')
  || ' at ' || to_char(((select t0 from x) + interval '3 days') at time zone 'UTC', 'FMHH12:MI AM') || '. Reply to this message if you need to change it.',
  'the confirmation is rendered with service, date and time (tenant timezone UTC)');
select matches((pg_temp.msg('Haircut', 'reminder_2h')).body, 'Your Haircut at Apt Salon is today at', 'the 2 h reminder is rendered');

-- Only reminders still in the future are created.
select pg_temp.book('Color', (select t0 from x) + interval '5 hours');
select is(pg_temp.plan('Color'), 'booking_confirmation:queued, reminder_2h:scheduled:120m',
  'booked in 5 hours: no 24 h reminder');
select pg_temp.book('Trim', (select t0 from x) + interval '30 minutes');
select is(pg_temp.plan('Trim'), 'booking_confirmation:queued', 'booked in 90 minutes or less: no reminder at all');
select pg_temp.book('Past', now() - interval '1 day');
select is(pg_temp.plan('Past'), null, 'an appointment in the past sends nothing');
select pg_temp.book('Consult', (select t0 from x) + interval '2 days', 'confirmed');
select is(pg_temp.plan('Consult'),
  'booking_confirmation:queued, reminder_24h:scheduled:1440m, reminder_2h:scheduled:120m',
  'inserted as confirmed: the same confirmation and reminders');

-- booked -> confirmed: no second confirmation, no duplicate reminders.
update public.appointments set status = 'confirmed' where id = pg_temp.appt('Haircut');
select is(pg_temp.plan('Haircut'),
  'booking_confirmation:queued, reminder_24h:scheduled:1440m, reminder_2h:scheduled:120m',
  'confirming a booked appointment duplicates nothing');
select private.schedule_appointment_reminders((select a from public.appointments a where a.id = pg_temp.appt('Haircut')));
select is((select count(*)::integer from public.messages where appointment_id = pg_temp.appt('Haircut')), 3,
  'scheduling the reminders twice creates nothing (one per appointment and key)');

-- Rescheduled while the confirmation is unsent: reminders move (same rows, new times, new text)
-- and the pending confirmation is rewritten instead of a separate notice.
create temp table before_move as select id, automation_key from public.messages where appointment_id = pg_temp.appt('Haircut');
update public.appointments set starts_at = (select t0 from x) + interval '6 days' where id = pg_temp.appt('Haircut');
select is(pg_temp.plan('Haircut'),
  'booking_confirmation:queued, reminder_24h:scheduled:1440m, reminder_2h:scheduled:120m',
  'rescheduled: reminders keep their offsets from the new time');
select is((pg_temp.msg('Haircut', 'reminder_24h')).scheduled_for, (select t0 from x) + interval '5 days',
  'the 24 h reminder moved to a day before the new time');
select is((pg_temp.msg('Haircut', 'reminder_24h')).id,
  (select id from before_move where automation_key = 'reminder_24h'), 'the same reminder row was moved');
select matches((pg_temp.msg('Haircut', 'reminder_24h')).body, to_char(((select t0 from x) + interval '6 days') at time zone 'UTC', 'Dy, Mon FMDD'),
  'its text names the new date');
select matches((pg_temp.msg('Haircut', 'booking_confirmation')).body, to_char(((select t0 from x) + interval '6 days') at time zone 'UTC', 'Dy, Mon FMDD'),
  'the unsent confirmation names the new date');
select is((select count(*)::integer from public.messages where appointment_id = pg_temp.appt('Haircut')
  and automation_key like 'appointment_rescheduled%'), 0, 'no reschedule notice while the confirmation is unsent');

-- Once the confirmation has gone out, a move sends a reschedule notice.
update public.messages set status = 'sent', sent_at = now() where id = (pg_temp.msg('Haircut', 'booking_confirmation')).id;
update public.appointments set starts_at = (select t0 from x) + interval '7 days' where id = pg_temp.appt('Haircut');
select results_eq(
  $$ select kind, status, body from public.messages where appointment_id = pg_temp.appt('Haircut')
     and automation_key like 'appointment_rescheduled:%' $$,
  $$ select 'transactional'::text, 'queued'::text, 'Hi Ada, your Haircut at Apt Salon is now on '
     || to_char(((select t0 from x) + interval '7 days') at time zone 'UTC', 'Dy, Mon FMDD') || ' at '
     || to_char(((select t0 from x) + interval '7 days') at time zone 'UTC', 'FMHH12:MI AM') || '. Reply to this message if that does not suit you.' $$,
  'a move after the confirmation went out queues a reschedule notice with the new time');
update public.appointments set starts_at = (select t0 from x) + interval '8 days' where id = pg_temp.appt('Haircut');
select is((select string_agg(status, ',' order by status) from public.messages where appointment_id = pg_temp.appt('Haircut')
  and automation_key like 'appointment_rescheduled:%'), 'canceled,queued', 'moving again replaces the unsent notice');

-- Moved so close that the 24 h reminder would be in the past: it is canceled, the 2 h one moves.
update public.appointments set starts_at = (select t0 from x) + interval '3 hours' where id = pg_temp.appt('Haircut');
select is((select string_agg(automation_key || ':' || status, ', ' order by automation_key, status)
  from public.messages where appointment_id = pg_temp.appt('Haircut') and automation_key like 'reminder%'),
  'reminder_24h:canceled, reminder_2h:scheduled', 'a reminder now in the past is canceled, the other moves');
select is((pg_temp.msg('Haircut', 'reminder_2h')).scheduled_for, (select t0 from x) + interval '1 hour', 'the 2 h reminder is due 2 h before the new time');

-- Moved far again: a new 24 h reminder is created.
update public.appointments set starts_at = (select t0 from x) + interval '4 days' where id = pg_temp.appt('Haircut');
select is((select string_agg(automation_key || ':' || status, ', ' order by automation_key, status)
  from public.messages where appointment_id = pg_temp.appt('Haircut') and automation_key like 'reminder%'),
  'reminder_24h:canceled, reminder_24h:scheduled, reminder_2h:scheduled', 'moving later creates the 24 h reminder again');

-- A reminder already sent for the old time is retired, so the new time gets its own.
update public.messages set status = 'queued' where id = (pg_temp.msg('Consult', 'reminder_24h')).id;
update public.messages set status = 'sent', sent_at = now() where id = (pg_temp.msg('Consult', 'reminder_24h')).id;
create temp table sent_reminder as select (pg_temp.msg('Consult', 'reminder_24h')).id as id;
update public.appointments set starts_at = (select t0 from x) + interval '9 days' where id = pg_temp.appt('Consult');
select alike((select automation_key from public.messages where id = (select id from sent_reminder)), 'reminder_24h@%',
  'a reminder sent for the old time is retired');
select is((select status from public.messages where id = (select id from sent_reminder)), 'sent', 'and stays sent');
select is((pg_temp.msg('Consult', 'reminder_24h')).scheduled_for, (select t0 from x) + interval '8 days',
  'the new time gets its own 24 h reminder');

-- A service change rewrites pending reminders.
update public.appointments set service = 'Beard trim' where id = pg_temp.appt('Consult');
select matches((select body from public.messages where appointment_id = pg_temp.appt('Beard trim')
  and automation_key = 'reminder_2h' and status = 'scheduled'), 'Your Beard trim at', 'a service change re-renders pending reminders');

-- Canceled: every pending message of the appointment is canceled; sent ones stay.
update public.appointments set status = 'canceled' where id = pg_temp.appt('Haircut');
select is((select count(*)::integer from public.messages where appointment_id = pg_temp.appt('Haircut')
  and status in ('scheduled', 'queued')), 0, 'canceling cancels the pending reminders and notices');
select is((select count(*)::integer from public.messages where appointment_id = pg_temp.appt('Haircut')
  and status = 'sent'), 1, 'the confirmation already sent is kept');
select is((select count(*)::integer from public.messages where appointment_id = pg_temp.appt('Haircut')
  and automation_key like 'reminder%' and status = 'canceled'), 3, 'the reminders are canceled, not deleted');

-- Back from canceled: the reminders come back (the sent confirmation is not repeated).
update public.appointments set status = 'booked' where id = pg_temp.appt('Haircut');
select is((select string_agg(automation_key || ':' || status, ', ' order by automation_key)
  from public.messages where appointment_id = pg_temp.appt('Haircut') and status in ('scheduled', 'queued', 'sent')
    and automation_key not like 'appointment_rescheduled%'),
  'booking_confirmation:sent, reminder_24h:scheduled, reminder_2h:scheduled', 'rebooked: new reminders, no second confirmation');

-- Completed or no-show: nothing more goes out.
update public.appointments set status = 'completed' where id = pg_temp.appt('Color');
select is((select count(*)::integer from public.messages where appointment_id = pg_temp.appt('Color')
  and status in ('scheduled', 'queued')), 0, 'completing an appointment cancels what is pending');

-- Deleting an appointment cancels its pending messages before the link is cleared.
create temp table doomed as select id from public.messages where appointment_id = pg_temp.appt('Trim');
delete from public.appointments where id = pg_temp.appt('Trim');
select is((select string_agg(distinct status, ',') from public.messages where id in (select id from doomed)), 'canceled',
  'deleting an appointment cancels its pending messages');

-- Automations decide: disabled ones send nothing, offsets come from offset_minutes.
update public.automations set enabled = false where tenant_id = (select tenant_id from x) and kind = 'reminder_24h';
update public.automations set offset_minutes = 60 where tenant_id = (select tenant_id from x) and kind = 'reminder_2h';
select pg_temp.book('Massage', (select t0 from x) + interval '3 days');
select is(pg_temp.plan('Massage'), 'booking_confirmation:queued, reminder_2h:scheduled:60m',
  'a disabled 24 h reminder is not created; the 2 h one follows offset_minutes');
update public.automations set enabled = false where tenant_id = (select tenant_id from x) and kind = 'booking_confirmation';
select pg_temp.book('Nails', (select t0 from x) + interval '3 days');
select is(pg_temp.plan('Nails'), 'reminder_2h:scheduled:60m', 'a disabled confirmation is not sent');
update public.automations set enabled = false where tenant_id = (select tenant_id from x) and kind = 'reminder_2h';
select pg_temp.book('Facial', (select t0 from x) + interval '3 days');
select is(pg_temp.plan('Facial'), null, 'all disabled: nothing at all');
-- A reminder whose automation is switched off is canceled when the appointment moves.
update public.appointments set starts_at = (select t0 from x) + interval '4 days' where id = pg_temp.appt('Massage');
select is((select status from public.messages where appointment_id = pg_temp.appt('Massage') and automation_key = 'reminder_2h'),
  'canceled', 'moving an appointment cancels reminders whose automation is now off');
update public.automations set enabled = false where tenant_id = (select tenant_id from x) and kind = 'appointment_rescheduled';
update public.appointments set starts_at = (select t0 from x) + interval '5 days' where id = pg_temp.appt('Nails');
select is((select count(*)::integer from public.messages where appointment_id = pg_temp.appt('Nails')
  and automation_key like 'appointment_rescheduled%'), 0, 'a disabled reschedule notice is not sent');

-- Scheduled reminders are not the thread's latest message until they are due.
select is((select last_message_preview from public.conversations where contact_id = (select contact_id from x) and channel = 'sms')
  !~ '^See you soon', true, 'a scheduled reminder is not shown as the last message');

-- The contact's timezone formats the times in the texts.
update public.automations set enabled = true where tenant_id = (select tenant_id from x);
update public.contacts set timezone = 'Asia/Tokyo' where id = (select contact_id from x);
select pg_temp.book('Tokyo', '2030-01-15 01:00:00+00');
select matches((pg_temp.msg('Tokyo', 'booking_confirmation')).body, 'on Tue, Jan 15 at 10:00 AM',
  'dates and times are in the contact''s timezone');
select is((pg_temp.msg('Tokyo', 'reminder_24h')).scheduled_for, '2030-01-14 01:00:00+00'::timestamptz,
  'reminders are due relative to the absolute start time');

select is((select count(*)::integer from public.messages m where m.tenant_id = (select tenant_id from x)
  and m.direction = 'outbound' and m.appointment_id is null and m.status <> 'canceled'), 0,
  'every live appointment message is linked to its appointment');

-- Deleting the whole business (or the contact) in the transaction that booked: the cascade takes
-- the appointments and their messages without tripping over them.
create temp table y as select tests.inbound_tenant('apt-gone') as tenant_id;
insert into public.appointments (tenant_id, contact_id, service, starts_at, status)
select tenant_id, tests.inbound_contact(tenant_id, 'Gone Soon', '+15550003699'), 'Cut',
  now() + interval '3 days', 'booked' from y;
select cmp_ok((select count(*)::int from public.messages where tenant_id = (select tenant_id from y)), '>', 0,
  'the booking queued its messages');
select lives_ok($$delete from public.tenants where id = (select tenant_id from y)$$,
  'a tenant deleted in the same transaction takes its appointments and messages along');
select is((select count(*)::int from public.messages where tenant_id = (select tenant_id from y)), 0,
  'no message of the deleted tenant is left');

select * from finish();
rollback;
