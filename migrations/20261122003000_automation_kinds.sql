-- One more automation kind: the notice sent when an appointment moves to another time. It gets its
-- own row in public.automations so a tenant can switch it off without losing booking
-- confirmations.
alter table public.automations drop constraint automations_kind_check;
alter table public.automations add constraint automations_kind_check check (kind in (
  'booking_confirmation', 'reminder_24h', 'reminder_2h', 'appointment_rescheduled',
  'payment_confirmation', 'shipment_notice', 'payment_failed', 'reengagement'
));
comment on column public.automations.kind is
  'What the automation sends: booking_confirmation, reminder_24h, reminder_2h, appointment_rescheduled, payment_confirmation, shipment_notice, payment_failed or reengagement.';
