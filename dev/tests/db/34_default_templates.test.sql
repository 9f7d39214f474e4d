-- A new tenant gets default templates and one automation per kind pointing at them.
begin;
select plan(14);

create temp table x as select tests.inbound_tenant('def-garage') as tenant_id;

select is((select count(*)::integer from public.templates where tenant_id = (select tenant_id from x)), 8,
  'a new tenant has 8 default templates');
select results_eq(
  $$ select a.kind, a.enabled, a.offset_minutes, coalesce(t.name, '(built-in)') from public.automations a
     left join public.templates t on t.id = a.template_id and t.tenant_id = a.tenant_id
     where a.tenant_id = (select tenant_id from x) order by a.kind $$,
  $$ values ('appointment_rescheduled', true, 0, 'Appointment rescheduled'),
       ('booking_confirmation', true, 0, 'Booking confirmation'),
       ('payment_confirmation', true, 0, 'Payment confirmation'),
       ('payment_failed', true, 0, 'Payment failed'),
       ('reengagement', true, 10080, '(built-in)'),
       ('reminder_24h', true, 1440, 'Reminder 24 hours before'),
       ('reminder_2h', true, 120, 'Reminder 2 hours before'),
       ('shipment_notice', true, 0, 'Shipment notice') $$,
  'one enabled automation per kind, each with its own template of the tenant (re-engagement: the topic-aware built-in text)');

create function pg_temp.body(p_kind text) returns text language sql as $$
  select t.body from public.automations a join public.templates t on t.id = a.template_id
  where a.tenant_id = (select tenant_id from x) and a.kind = p_kind
$$;
select matches((select body from public.templates where tenant_id = (select tenant_id from x) and name = 'We miss you'),
  'Reply STOP to opt out', 'the promotional re-engagement template says how to opt out');
select matches(pg_temp.body('shipment_notice'), '\{tracking_number\}.*\{tracking_url\}', 'the shipment notice carries the tracking number and URL');
select matches(pg_temp.body('payment_failed'), '\{retry_url\}', 'the payment-failed notice carries the retry link');
select matches(pg_temp.body('reminder_24h'), '\{date\}.*\{time\}', 'the 24 h reminder says when');
select matches(pg_temp.body('reminder_2h'), '\{time\}', 'the 2 h reminder says the time');
select matches(pg_temp.body('booking_confirmation'), '\{service\}.*\{date\}.*\{time\}', 'the confirmation says what and when');
select matches(pg_temp.body('payment_confirmation'), '\{order_number\}', 'the payment confirmation names the order');

-- Every default body and subject renders with a full set of values: no unknown variables.
select is(
  (select count(*)::integer
   from (select jsonb_object_agg(n, 'x') as j from unnest(private.template_variable_names()) n) v,
     public.templates t,
     lateral (select public.render_template(t.body, v.j) as b,
       public.render_template(coalesce(t.subject, ''), v.j) as s) r
   where r.b is not null and t.tenant_id = (select tenant_id from x)), 8, 'every default template renders');
select is((select count(*)::integer from public.templates where tenant_id = (select tenant_id from x) and subject is not null), 8,
  'every default template has an email subject');

-- Idempotent: installing again adds nothing; a tenant's own template of the same name is kept.
select private.install_default_templates((select tenant_id from x));
select is((select count(*)::integer from public.templates where tenant_id = (select tenant_id from x)), 8,
  'installing the defaults again adds nothing');

insert into public.tenants (name, slug) values ('Own Templates', 'def-own');
delete from public.automations where tenant_id = (select id from public.tenants where slug = 'def-own');
update public.templates set body = 'Booked: {service} {date} {time}'
where tenant_id = (select id from public.tenants where slug = 'def-own') and name = 'Booking confirmation';
select private.install_default_templates((select id from public.tenants where slug = 'def-own'));
select is((select t.body from public.automations a join public.templates t on t.id = a.template_id
  where a.tenant_id = (select id from public.tenants where slug = 'def-own') and a.kind = 'booking_confirmation'),
  'Booked: {service} {date} {time}', 'an existing template of that name is kept and used');
select is((select count(*)::integer from public.automations where tenant_id = (select id from public.tenants where slug = 'def-own')),
  8, 'missing automations are recreated');

select * from finish();
rollback;
