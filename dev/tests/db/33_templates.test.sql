-- Templates: render_template with every variable, validation when saved, usage counts, and the
-- variables built for a contact, an appointment and an order.
begin;
select plan(40);

-- render_template: each allowed variable.
select is(public.render_template('Hi {first_name}!', '{"first_name": "Ada"}'), 'Hi Ada!', '{first_name} is replaced');
select is(public.render_template('{business_name} says hi', '{"business_name": "Glow Salon"}'), 'Glow Salon says hi', '{business_name} is replaced');
select is(public.render_template('Your {service}', '{"service": "haircut"}'), 'Your haircut', '{service} is replaced');
select is(public.render_template('on {date}', '{"date": "Tue, Dec 1"}'), 'on Tue, Dec 1', '{date} is replaced');
select is(public.render_template('at {time}', '{"time": "10:00 AM"}'), 'at 10:00 AM', '{time} is replaced');
select is(public.render_template('order {order_number}', '{"order_number": "A-1001"}'), 'order A-1001', '{order_number} is replaced');
select is(public.render_template('#{tracking_number}', '{"tracking_number": "1Z999"}'), '#1Z999', '{tracking_number} is replaced');
select is(public.render_template('see {tracking_url}', '{"tracking_url": "https://track.example/1Z999"}'), 'see https://track.example/1Z999', '{tracking_url} is replaced');
select is(public.render_template('retry: {retry_url}', '{"retry_url": "https://pay.example/r/1"}'), 'retry: https://pay.example/r/1', '{retry_url} is replaced');
select is(public.render_template('{first_name} {first_name}', '{"first_name": "Bo"}'), 'Bo Bo', 'a variable used twice is replaced twice');
select is(public.render_template('{first_name} at {time}', '{"first_name": "{time}", "time": "9"}'), '{time} at 9',
  'a value is never substituted again');
select is(public.render_template('Plain { text } {{ and }}', '{}'), 'Plain { text } {{ and }}', 'braces that are not a variable stay');
select is(public.render_template('Costs 5$', '{"first_name": "x"}'), 'Costs 5$', 'a text without variables is unchanged');
select throws_ok($$ select public.render_template('Hi {first_name}', '{}') $$, '22023',
  'missing value for template variable {first_name}', 'a missing value raises instead of leaving a blank');
select throws_ok($$ select public.render_template('Hi {first_name}', '{"first_name": null}') $$, '22023',
  'missing value for template variable {first_name}', 'a null value raises too');
select throws_like($$ select public.render_template('Hi {firstname}', '{"firstname": "x"}') $$,
  'unknown template variable {firstname}%', 'an unknown variable raises even with a value');
select is(private.template_variable_names(), array['first_name', 'business_name', 'service', 'date', 'time',
  'order_number', 'tracking_number', 'tracking_url', 'retry_url'], 'the allowed variables');

-- Saving a template: unknown variables are refused, naming the variable and the allowed ones.
create temp table x as select tests.inbound_tenant('tpl-spa') as tenant_id;
select throws_ok($$ insert into public.templates (tenant_id, name, body)
  values ((select tenant_id from x), 'Typo', 'Hi {frist_name}, see you {date}') $$, '22023',
  'unknown template variable {frist_name}; allowed: {first_name}, {business_name}, {service}, {date}, {time}, {order_number}, {tracking_number}, {tracking_url}, {retry_url}',
  'a template with an unknown variable is refused when saved');
select throws_like($$ insert into public.templates (tenant_id, name, body, subject)
  values ((select tenant_id from x), 'Bad subject', 'Hi', 'About {topic}') $$,
  'unknown template variable {topic}%', 'an unknown variable in the subject is refused too');
select lives_ok($$ insert into public.templates (tenant_id, name, body)
  values ((select tenant_id from x), 'Good', 'Hi {first_name}, your {service} is on {date} at {time}.') $$,
  'a template with allowed variables is saved');
select throws_like($$ update public.templates set body = 'Hi {name}'
  where tenant_id = (select tenant_id from x) and name = 'Good' $$,
  'unknown template variable {name}%', 'an update introducing an unknown variable is refused');
select tests.create_user('tpl-owner@example.com');
select tests.authenticate_as('tpl-owner@example.com');
select is(public.render_template('Hi {first_name}', '{"first_name": "Cy"}'), 'Hi Cy', 'a signed-in user can preview a template');
select tests.clear_authentication();

-- usage_count counts the messages sent with a template, several per statement too.
update x set tenant_id = tenant_id;
alter table x add column contact_id uuid, add column conversation_id uuid, add column template_id uuid;
update x set contact_id = tests.inbound_contact(tenant_id, 'Ada Lovelace', '+15550003401'),
  template_id = (select id from public.templates t where t.tenant_id = x.tenant_id and t.name = 'Good');
update x set conversation_id = (private.ensure_conversation(tenant_id, contact_id, 'sms')).id;
select is((select usage_count from public.templates where id = (select template_id from x)), 0, 'a new template is unused');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, body, status, template_id)
select tenant_id, conversation_id, contact_id, 'outbound', 'sms', 'Hi Ada', 'queued', template_id from x;
select is((select usage_count from public.templates where id = (select template_id from x)), 1, 'one message: usage 1');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, body, status, template_id)
select tenant_id, conversation_id, contact_id, 'outbound', 'sms', 'Hi Ada ' || g, 'queued', template_id
from x, generate_series(1, 3) g;
select is((select usage_count from public.templates where id = (select template_id from x)), 4, 'three more in one statement: usage 4');
insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, body, status)
select tenant_id, conversation_id, contact_id, 'outbound', 'sms', 'no template', 'queued' from x;
select is((select usage_count from public.templates where id = (select template_id from x)), 4, 'a message without template counts nothing');

-- message_variables: names, dates in the contact's timezone else the tenant's.
update public.tenants set name = 'Tpl Spa', timezone = 'Europe/Berlin' where id = (select tenant_id from x);
update public.contacts set timezone = 'America/New_York' where id = (select contact_id from x);
insert into public.appointments (tenant_id, contact_id, service, starts_at, status)
select tenant_id, contact_id, 'Deep tissue massage', '2020-12-01 15:00:00+00', 'completed' from x;
create temp table v as select private.message_variables((select contact_id from x),
  (select id from public.appointments where contact_id = (select contact_id from x))) as j;
select is((select j ->> 'first_name' from v), 'Ada', 'first_name is the first word of the name');
select is((select j ->> 'business_name' from v), 'Tpl Spa', 'business_name is the tenant''s name');
select is((select j ->> 'service' from v), 'Deep tissue massage', 'service is the appointment''s');
select is((select j ->> 'date' from v), 'Tue, Dec 1', 'date is in the contact''s timezone');
select is((select j ->> 'time' from v), '10:00 AM', 'time is in the contact''s timezone (New York)');
update public.contacts set timezone = null where id = (select contact_id from x);
select is(private.message_variables((select contact_id from x),
  (select id from public.appointments where contact_id = (select contact_id from x))) ->> 'time', '4:00 PM',
  'without a contact timezone, the tenant''s (Berlin)');
update public.contacts set timezone = 'Mars/Olympus' where id = (select contact_id from x);
select is(private.message_variables((select contact_id from x),
  (select id from public.appointments where contact_id = (select contact_id from x))) ->> 'time', '4:00 PM',
  'an unknown contact timezone falls back to the tenant''s');
update public.contacts set name = '' where id = (select contact_id from x);
select is(private.message_variables((select contact_id from x)) ->> 'first_name', 'there', 'no name: "there" (Hi there)');
select is(private.message_variables((select contact_id from x)) ? 'service', false, 'no appointment: no service');

insert into public.orders (tenant_id, contact_id, order_number, tracking_number, tracking_url, payment_url)
select tenant_id, contact_id, 'A-77', '1Z77', 'https://track.example/1Z77', 'https://pay.example/A-77' from x;
create temp table o as select private.message_variables((select contact_id from x), null,
  (select id from public.orders where order_number = 'A-77' and tenant_id = (select tenant_id from x))) as j;
select is((select j ->> 'order_number' from o), 'A-77', 'order_number is the order''s');
select is((select j ->> 'tracking_number' from o), '1Z77', 'tracking_number is the order''s');
select is((select j ->> 'tracking_url' from o), 'https://track.example/1Z77', 'tracking_url is the order''s');
select is((select j ->> 'retry_url' from o), 'https://pay.example/A-77', 'retry_url is the order''s payment_url');
update public.orders set tracking_url = null where order_number = 'A-77' and tenant_id = (select tenant_id from x);
select is(private.message_variables((select contact_id from x), null,
  (select id from public.orders where order_number = 'A-77' and tenant_id = (select tenant_id from x))) ? 'tracking_url',
  false, 'an unknown tracking_url is absent, so rendering it raises');

select * from finish();
rollback;
