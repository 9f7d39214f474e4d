-- record_inbound: tenant lookup, contact and conversation upsert, idempotency on provider_sid,
-- channels (sms, whatsapp, email, form), conversation reopening, and who may call it.
begin;
select plan(39);

create temp table t as select
  tests.inbound_tenant('rec-clinic', '+15550003100') as a,
  tests.inbound_tenant('rec-bakery', '+15550003200') as b;
grant select on t to service_role;

-- Who may call it: the service role (webhooks), nobody else.
select tests.create_user('rec-owner@example.com');
select tests.authenticate_as('rec-owner@example.com');
select throws_ok($$ select tests.sms_in('+15550003101', '+15550003100', 'hi') $$, '42501', null,
  'a signed-in user cannot call record_inbound');
select tests.authenticate_as_anon();
select throws_ok($$ select tests.sms_in('+15550003101', '+15550003100', 'hi') $$, '42501', null,
  'anon cannot call record_inbound');

select tests.authenticate_as_service_role();
select throws_ok($$ select tests.sms_in('+15550003101', '+15559999999', 'hi') $$, 'P0002',
  'unknown number: +15559999999', 'a number nobody owns is refused with P0002');
select throws_ok($$ select public.record_inbound('fax', '+15550003101', '+15550003100', 'hi', 'SMx') $$,
  '22023', null, 'an unknown channel is refused');

-- First SMS: contact, conversation and message are created.
create temp table r1 as select public.record_inbound('sms', '+15550003101', '+15550003100', 'Hello there',
  'SMrec1', '[{"url": "https://media.example/1.jpg", "content_type": "image/jpeg"}]') as r;
select is((select (r ->> 'duplicate')::boolean from r1), false, 'a new message is not a duplicate');
select is((select (r ->> 'tenant_id')::uuid from r1), (select a from t), 'the tenant is the owner of the To number');
select results_eq(
  $$ select c.tenant_id, c.phone, c.preferred_channel, c.name from public.contacts c
     where c.id = (select (r ->> 'contact_id')::uuid from r1) $$,
  $$ select (select a from t), '+15550003101'::text, 'sms'::text, ''::text $$,
  'a new contact is created with the sender''s number, sms preferred');
select results_eq(
  $$ select c.contact_id, c.channel, c.status, c.sender_number_id from public.conversations c
     where c.id = (select (r ->> 'conversation_id')::uuid from r1) $$,
  $$ select (select (r ->> 'contact_id')::uuid from r1), 'sms'::text, 'open'::text,
       (select id from public.phone_numbers where e164 = '+15550003100') $$,
  'a new open sms conversation, sticky to the number written to');
select results_eq(
  $$ select m.direction, m.status, m.kind, m.body, m.from_address, m.to_address, m.media -> 0 ->> 'url',
       m.conversation_id, m.contact_id
     from public.messages m where m.id = (select (r ->> 'message_id')::uuid from r1) $$,
  $$ select 'inbound'::text, 'received'::text, 'inbound'::text, 'Hello there'::text, '+15550003101'::text,
       '+15550003100'::text, 'https://media.example/1.jpg'::text,
       (select (r ->> 'conversation_id')::uuid from r1), (select (r ->> 'contact_id')::uuid from r1) $$,
  'the message is stored inbound/received with its addresses and media');
select is((select r -> 'keyword' from r1), 'null'::jsonb, 'keyword is null for ordinary text');

-- The same sender again (in national format): same contact, same conversation.
create temp table r2 as select tests.sms_in('(555) 000-3101', '+15550003100', 'Second') as r;
select is((select r ->> 'contact_id' from r2), (select r ->> 'contact_id' from r1), 'the same number finds the same contact (national format normalised)');
select is((select r ->> 'conversation_id' from r2), (select r ->> 'conversation_id' from r1), 'and the same conversation');
select is((select count(*)::integer from public.contacts where tenant_id = (select a from t)), 1, 'no second contact');

-- Idempotency: the same provider id again changes nothing and returns the original ids.
create temp table r3 as select public.record_inbound('sms', '+15550003101', '+15550003100', 'Hello there', 'SMrec1') as r;
select is((select (r ->> 'duplicate')::boolean from r3), true, 'the same MessageSid is a duplicate');
select is((select r ->> 'message_id' from r3), (select r ->> 'message_id' from r1), 'a duplicate returns the original message id');
select is((select r ->> 'conversation_id' from r3), (select r ->> 'conversation_id' from r1), 'and the original conversation id');
select is((select count(*)::integer from public.messages where provider_sid = 'SMrec1'), 1, 'one row per provider id');
select is((select unread_count from public.conversations where id = (select (r ->> 'conversation_id')::uuid from r1)), 2,
  'a duplicate does not count as unread again');
-- A duplicate HELP does not queue a second reply.
select tests.sms_in('+15550003102', '+15550003100', 'HELP', 'SMrechelp');
create temp table r4 as select tests.sms_in('+15550003102', '+15550003100', 'HELP', 'SMrechelp') as r;
select is((select r ->> 'reply_text' from r4), null, 'a duplicate HELP returns no reply text');
select is((select count(*)::integer from public.messages m join public.contacts c on c.id = m.contact_id
  where c.phone = '+15550003102' and m.direction = 'outbound'), 1, 'a duplicate HELP queues nothing more');

-- Tenants are separate: the same customer writing to another business is another contact.
create temp table r5 as select tests.sms_in('+15550003101', '+15550003200', 'Hi bakery') as r;
select is((select (r ->> 'tenant_id')::uuid from r5), (select b from t), 'the other number finds the other tenant');
select isnt((select r ->> 'contact_id' from r5), (select r ->> 'contact_id' from r1), 'with its own contact');

-- WhatsApp: "whatsapp:" prefixes are stripped; the contact is found by its whatsapp number.
create temp table w1 as select public.record_inbound('whatsapp', 'whatsapp:+15550003110',
  'whatsapp:+15550003100', 'Hi on WhatsApp', 'SMrecwa1') as r;
select results_eq(
  $$ select c.whatsapp, c.phone, c.preferred_channel, v.channel, m.from_address, m.to_address
     from public.messages m join public.contacts c on c.id = m.contact_id
     join public.conversations v on v.id = m.conversation_id
     where m.id = (select (r ->> 'message_id')::uuid from w1) $$,
  $$ select '+15550003110'::text, null::text, 'whatsapp'::text, 'whatsapp'::text, '+15550003110'::text, '+15550003100'::text $$,
  'a WhatsApp sender becomes a contact with that whatsapp number, in a whatsapp conversation');
select is((public.record_inbound('whatsapp', 'whatsapp:+15550003110', 'whatsapp:+15550003100', 'again', 'SMrecwa2')) ->> 'contact_id',
  (select r ->> 'contact_id' from w1), 'the second WhatsApp message finds the same contact');

-- Email: the tenant is given; the contact is found by address, case-insensitively.
create temp table e1 as select public.record_inbound('email', 'Jane Doe <Jane.Doe@Example.com>', 'inbox@rec-clinic.example',
  'Can I book?', '<m1@example.com>', p_subject => 'Booking', p_email_message_id => '<m1@example.com>',
  p_tenant_id => (select a from t), p_contact_name => 'Jane Doe') as r;
select results_eq(
  $$ select c.email, c.name, c.preferred_channel, v.channel, v.subject, m.subject, m.email_message_id
     from public.messages m join public.contacts c on c.id = m.contact_id
     join public.conversations v on v.id = m.conversation_id
     where m.id = (select (r ->> 'message_id')::uuid from e1) $$,
  $$ select 'jane.doe@example.com'::text, 'Jane Doe'::text, 'email'::text, 'email'::text, 'Booking'::text,
       'Booking'::text, '<m1@example.com>'::text $$,
  'an email sender becomes a contact (address lower-cased, name kept) in an email conversation with the subject');
create temp table e2 as select public.record_inbound('email', 'JANE.DOE@example.COM', null, 'Thursday?',
  '<m2@example.com>', p_subject => 'Re: Booking', p_in_reply_to => '<m1@example.com>', p_tenant_id => (select a from t)) as r;
select is((select r ->> 'contact_id' from e2), (select r ->> 'contact_id' from e1), 'email addresses match case-insensitively');
select is((select r ->> 'conversation_id' from e2), (select r ->> 'conversation_id' from e1), 'and thread into the same conversation');
select is((select in_reply_to from public.messages where id = (select (r ->> 'message_id')::uuid from e2)),
  '<m1@example.com>', 'In-Reply-To is stored');
select is((select subject from public.conversations where id = (select (r ->> 'conversation_id')::uuid from e2)),
  'Booking', 'the conversation keeps the first subject');
select throws_ok($$ select public.record_inbound('email', 'x@example.com', 'inbox@example.com', 'hi', '<m3@example.com>') $$,
  'P0002', null, 'email without a tenant is refused');
select throws_ok($$ select public.record_inbound('sms', '+15550003101', '+15550003200', 'hi', 'SMrecx', p_tenant_id => (select a from t)) $$,
  '22023', null, 'a number of another tenant than the one given is refused');

-- A contact form: an email conversation whose message is kind 'form'.
create temp table f1 as select public.record_inbound('form', 'sam@example.com', null, 'Is the flat still available?',
  null, p_subject => 'Listing 12', p_tenant_id => (select a from t), p_contact_name => 'Sam') as r;
select results_eq(
  $$ select m.kind, m.channel, m.status, v.channel from public.messages m
     join public.conversations v on v.id = m.conversation_id
     where m.id = (select (r ->> 'message_id')::uuid from f1) $$,
  $$ values ('form', 'email', 'received', 'email') $$,
  'a form submission is a received form message in an email conversation');

-- Status: dormant and archived conversations reopen when the contact writes; spam stays spam.
select tests.clear_authentication();
update public.conversations set status = 'dormant' where id = (select (r ->> 'conversation_id')::uuid from r1);
update public.conversations set status = 'archived' where id = (select (r ->> 'conversation_id')::uuid from w1);
update public.conversations set status = 'spam' where id = (select (r ->> 'conversation_id')::uuid from e1);
select tests.authenticate_as_service_role();
select tests.sms_in('+15550003101', '+15550003100', 'Are you there?');
select public.record_inbound('whatsapp', 'whatsapp:+15550003110', 'whatsapp:+15550003100', 'hello?', 'SMrecwa3');
select public.record_inbound('email', 'jane.doe@example.com', null, 'buy now', '<m4@example.com>', p_tenant_id => (select a from t));
select is((select status from public.conversations where id = (select (r ->> 'conversation_id')::uuid from r1)), 'open',
  'a dormant conversation reopens when its contact writes');
select is((select status from public.conversations where id = (select (r ->> 'conversation_id')::uuid from w1)), 'open',
  'an archived conversation reopens when its contact writes');
select is((select status from public.conversations where id = (select (r ->> 'conversation_id')::uuid from e1)), 'spam',
  'a spam conversation stays spam');
select tests.clear_authentication();
select is((select count(*)::integer from public.conversations where tenant_id = (select a from t)), 5,
  'one conversation per contact and channel (sms x2, whatsapp, email x2)');

-- Email sender validation
select tests.authenticate_as_service_role();
select throws_ok($$ select public.record_inbound('email', '   ', null, 'x', '<m5@example.com>', p_tenant_id => (select a from t)) $$,
  '22023', null, 'an empty email sender is refused');
select throws_ok($$ select tests.sms_in('not a number', '+15550003100', 'x') $$,
  '22023', null, 'an invalid phone sender is refused');
select tests.clear_authentication();
select is((select count(*)::integer from public.messages m where m.tenant_id = (select a from t) and m.direction = 'inbound'), 11,
  'every accepted inbound message is stored once');

select * from finish();
rollback;
