-- Order status changes send transactional messages from the tenant's automations and templates.
begin;
select plan(26);

create temp table x as select tests.inbound_tenant('ord-shop') as tenant_id;
alter table x add column contact_id uuid;
update x set contact_id = tests.inbound_contact(tenant_id, 'Ada Lovelace', '+15550003501');

create function pg_temp.order_messages(p_order_number text) returns setof public.messages language sql as $$
  select m.* from public.messages m join public.orders o on o.id = m.order_id
  where o.tenant_id = (select tenant_id from x) and o.order_number = p_order_number
  order by m.created_at, m.automation_key
$$;
create function pg_temp.template_id(p_kind text) returns uuid language sql as $$
  select template_id from public.automations where tenant_id = (select tenant_id from x) and kind = p_kind
$$;

insert into public.orders (tenant_id, contact_id, order_number, total, payment_url)
select tenant_id, contact_id, 'A-100', 25, 'https://pay.example/A-100' from x;
select is((select count(*)::integer from pg_temp.order_messages('A-100')), 0, 'a pending order sends nothing');

-- pending -> paid: payment confirmation.
update public.orders set status = 'paid' where order_number = 'A-100' and tenant_id = (select tenant_id from x);
select results_eq(
  $$ select direction, kind, channel, status, body, automation_key, template_id, to_address
     from pg_temp.order_messages('A-100') $$,
  $$ select 'outbound'::text, 'transactional'::text, 'sms'::text, 'queued'::text,
       'Thanks Ada! We received your payment for order A-100. - Ord Shop'::text, 'payment_confirmation'::text,
       pg_temp.template_id('payment_confirmation'), '+15550003501'::text $$,
  'paid queues one transactional payment confirmation rendered from the template, on the preferred channel');
select is((select conversation_id from pg_temp.order_messages('A-100')),
  (select id from public.conversations where contact_id = (select contact_id from x) and channel = 'sms'),
  'in the contact''s sms conversation');
select is((select usage_count from public.templates where id = pg_temp.template_id('payment_confirmation')), 1,
  'the template''s usage_count counts it');
select is((select (variables ->> 'order_number') from pg_temp.order_messages('A-100')), 'A-100', 'the variables are kept with the message');

-- An update that does not change the status sends nothing more.
update public.orders set total = 30 where order_number = 'A-100' and tenant_id = (select tenant_id from x);
update public.orders set status = 'paid' where order_number = 'A-100' and tenant_id = (select tenant_id from x);
select is((select count(*)::integer from pg_temp.order_messages('A-100')), 1, 'no status change, no message');

-- paid -> fulfilled: shipment notice with tracking.
update public.orders set status = 'fulfilled', tracking_number = '1Z100', tracking_url = 'https://track.example/1Z100'
where order_number = 'A-100' and tenant_id = (select tenant_id from x);
select is((select body from pg_temp.order_messages('A-100') where automation_key = 'shipment_notice'),
  'Good news Ada: order A-100 from Ord Shop is on its way. Tracking number 1Z100: https://track.example/1Z100',
  'fulfilled queues the shipment notice with tracking number and URL');
select is((select status from pg_temp.order_messages('A-100') where automation_key = 'shipment_notice'), 'queued',
  'the shipment notice is queued');

-- pending -> payment_failed: failure notice with the retry link.
insert into public.orders (tenant_id, contact_id, order_number, payment_url)
select tenant_id, contact_id, 'A-101', 'https://pay.example/retry/A-101' from x;
update public.orders set status = 'payment_failed' where order_number = 'A-101' and tenant_id = (select tenant_id from x);
select is((select body from pg_temp.order_messages('A-101')),
  'Hi Ada, the payment for order A-101 did not go through. You can try again here: https://pay.example/retry/A-101 - Ord Shop',
  'payment_failed queues the failure notice with the retry link');
select is((select kind || '/' || status || '/' || automation_key from pg_temp.order_messages('A-101')),
  'transactional/queued/payment_failed', 'as a queued transactional message');

-- An order created already paid is a move to paid.
insert into public.orders (tenant_id, contact_id, order_number, status)
select tenant_id, contact_id, 'A-102', 'paid' from x;
select is((select automation_key from pg_temp.order_messages('A-102')), 'payment_confirmation', 'an order inserted as paid is confirmed');
insert into public.orders (tenant_id, contact_id, order_number, status, tracking_number, tracking_url)
select tenant_id, contact_id, 'A-90', 'fulfilled', '1Z90', 'https://t.example/1Z90' from x;
select is((select count(*)::integer from pg_temp.order_messages('A-90')), 0, 'an order inserted as fulfilled is history: nothing is sent');
insert into public.orders (tenant_id, contact_id, order_number, status, created_at)
select tenant_id, contact_id, 'A-91', 'paid', now() - interval '30 days' from x;
select is((select count(*)::integer from pg_temp.order_messages('A-91')), 0, 'an imported old paid order sends nothing');

-- A shipment without a tracking URL cannot be rendered: a failed row says why, the order update stands.
insert into public.orders (tenant_id, contact_id, order_number, status)
select tenant_id, contact_id, 'A-103', 'paid' from x;
select lives_ok($$ update public.orders set status = 'fulfilled', tracking_number = '1Z103'
  where order_number = 'A-103' and tenant_id = (select tenant_id from x) $$, 'fulfilling without a tracking URL still works');
select results_eq(
  $$ select status, error_code, error_message from pg_temp.order_messages('A-103') where automation_key = 'shipment_notice' $$,
  $$ values ('failed', 'template_variable_missing', 'missing value for template variable {tracking_url}') $$,
  'and records a failed shipment notice naming the missing value');

-- Disabled automation, or one without a template: nothing is sent.
update public.automations set enabled = false where tenant_id = (select tenant_id from x) and kind = 'payment_confirmation';
insert into public.orders (tenant_id, contact_id, order_number) select tenant_id, contact_id, 'A-104' from x;
update public.orders set status = 'paid' where order_number = 'A-104' and tenant_id = (select tenant_id from x);
select is((select count(*)::integer from pg_temp.order_messages('A-104')), 0, 'a disabled payment confirmation sends nothing');
update public.automations set template_id = null where tenant_id = (select tenant_id from x) and kind = 'shipment_notice';
update public.orders set status = 'fulfilled', tracking_number = '1', tracking_url = 'https://t.example/1'
where order_number = 'A-104' and tenant_id = (select tenant_id from x);
select is((select count(*)::integer from pg_temp.order_messages('A-104')), 0, 'an automation without a template sends nothing');
update public.automations set enabled = false where tenant_id = (select tenant_id from x) and kind = 'payment_failed';
insert into public.orders (tenant_id, contact_id, order_number, payment_url) select tenant_id, contact_id, 'A-105', 'https://p.example' from x;
update public.orders set status = 'payment_failed' where order_number = 'A-105' and tenant_id = (select tenant_id from x);
select is((select count(*)::integer from pg_temp.order_messages('A-105')), 0, 'a disabled payment-failed notice sends nothing');

-- Other statuses send nothing.
update public.orders set status = 'refunded' where order_number = 'A-100' and tenant_id = (select tenant_id from x);
select is((select count(*)::integer from pg_temp.order_messages('A-100')), 2, 'refunded sends nothing');

-- Channel: the preferred one when the contact has an address for it, else one it has.
update public.automations set enabled = true where tenant_id = (select tenant_id from x);
insert into public.contacts (tenant_id, name, email, preferred_channel)
select tenant_id, 'Bea Email', 'bea@example.com', 'email' from x;
insert into public.orders (tenant_id, contact_id, order_number, status)
select tenant_id, (select id from public.contacts where email = 'bea@example.com' and tenant_id = x.tenant_id), 'B-1', 'paid' from x;
select results_eq(
  $$ select channel, subject, to_address from pg_temp.order_messages('B-1') $$,
  $$ values ('email', 'Payment received for order B-1', 'bea@example.com') $$,
  'an email contact gets an email with the rendered subject');
insert into public.contacts (tenant_id, name, email, preferred_channel)
select tenant_id, 'Cy Fallback', 'cy@example.com', 'sms' from x;
insert into public.orders (tenant_id, contact_id, order_number, status)
select tenant_id, (select id from public.contacts where email = 'cy@example.com' and tenant_id = x.tenant_id), 'C-1', 'paid' from x;
select is((select channel from pg_temp.order_messages('C-1')), 'email', 'preferring sms without a phone: the channel it has an address for');
insert into public.contacts (tenant_id, name, whatsapp, phone, preferred_channel)
select tenant_id, 'Di WhatsApp', '+15550003502', '+15550003503', 'whatsapp' from x;
insert into public.orders (tenant_id, contact_id, order_number, status)
select tenant_id, (select id from public.contacts where whatsapp = '+15550003502' and tenant_id = x.tenant_id), 'D-1', 'paid' from x;
select is((select channel || ' ' || to_address from pg_temp.order_messages('D-1')), 'whatsapp +15550003502', 'a WhatsApp-preferring contact gets WhatsApp');
select is((select count(*)::integer from public.conversations c join public.contacts k on k.id = c.contact_id
  where k.whatsapp = '+15550003502' and c.channel = 'whatsapp'), 1, 'in a whatsapp conversation created for it');

-- Other tenants' orders do not use this tenant's templates.
select tests.inbound_tenant('ord-other');
update public.templates set body = 'Other shop thanks you for {order_number}'
where tenant_id = (select id from public.tenants where slug = 'ord-other') and name = 'Payment confirmation';
insert into public.orders (tenant_id, contact_id, order_number, status)
select t.id, tests.inbound_contact(t.id, 'Eve', '+15550003501'), 'O-1', 'paid' from public.tenants t where t.slug = 'ord-other';
select is((select m.body from public.messages m join public.orders o on o.id = m.order_id
  where o.order_number = 'O-1' and o.tenant_id = (select id from public.tenants where slug = 'ord-other')),
  'Other shop thanks you for O-1', 'each tenant''s own template is used');
select is((select m.tenant_id from public.messages m join public.orders o on o.id = m.order_id
  where o.order_number = 'O-1' and o.tenant_id = (select id from public.tenants where slug = 'ord-other')),
  (select id from public.tenants where slug = 'ord-other'), 'and the message belongs to that tenant');
select is((select count(*)::integer from public.messages m where m.tenant_id = (select tenant_id from x) and m.direction = 'outbound'),
  9, 'this tenant''s outbox holds exactly the messages above');

select * from finish();
rollback;
