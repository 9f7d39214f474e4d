-- The inbox under RLS: contacts, conversations, messages and calls, tried by an owner, an agent, a
-- member of another tenant (the stranger), anon and the service role.
begin;
select plan(103);

select tests.rls_fixture();

-- Owner of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-owner@test.local');

-- contacts
select is(tests.rls_visible('contacts', array[tests.rls_id('a.contact')]), 1, 'owner: sees their contacts');
select is(tests.rls_visible('contacts', array[tests.rls_id('b.contact')]), 0, 'owner: does not see another tenant''s contacts');
select lives_ok($$with i as (insert into public.contacts (tenant_id, name, phone)
  values (tests.rls_id('a.tenant'), 'Owner made', '(415) 555-0777') returning id) select tests.rls_put('a.contact2', i.id) from i$$,
  'owner: can add a contact');
select throws_ok($$insert into public.contacts (tenant_id, name) values (tests.rls_id('b.tenant'), 'Planted')$$,
  '42501', 'new row violates row-level security policy for table "contacts"',
  'owner: cannot add a contact to another tenant (WITH CHECK)');
with u as (update public.contacts set tags = '{vip}' where id = tests.rls_id('a.contact') returning 1)
select is(count(*)::int, 1, 'owner: can edit a contact') from u;
with u as (update public.contacts set tags = '{vip}' where id = tests.rls_id('b.contact') returning 1)
select is(count(*)::int, 0, 'owner: cannot edit another tenant''s contact') from u;
select throws_ok($$update public.contacts set tenant_id = tests.rls_id('b.tenant') where id = tests.rls_id('a.contact')$$,
  '42501', null, 'owner: cannot move a contact to another tenant');
with d as (delete from public.contacts where id = tests.rls_id('b.contact') returning 1)
select is(count(*)::int, 0, 'owner: cannot delete another tenant''s contact') from d;

-- conversations
select is(tests.rls_visible('conversations', array[tests.rls_id('a.conversation')]), 1, 'owner: sees their conversations');
select is(tests.rls_visible('conversations', array[tests.rls_id('b.conversation')]), 0,
  'owner: does not see another tenant''s conversations');
select lives_ok($$insert into public.conversations (tenant_id, contact_id, channel)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'email')$$, 'owner: can start a conversation');
select throws_ok($$insert into public.conversations (tenant_id, contact_id, channel)
  values (tests.rls_id('a.tenant'), tests.rls_id('b.contact'), 'email')$$,
  '42501', 'new row violates row-level security policy for table "conversations"',
  'owner: cannot start a conversation with another tenant''s contact');
with u as (update public.conversations set status = 'archived', unread_count = 0
  where id = tests.rls_id('a.conversation') returning 1)
select is(count(*)::int, 1, 'owner: can triage a conversation') from u;
with u as (update public.conversations set status = 'spam' where id = tests.rls_id('b.conversation') returning 1)
select is(count(*)::int, 0, 'owner: cannot triage another tenant''s conversation') from u;
select throws_ok($$update public.conversations set last_message_at = now() where id = tests.rls_id('a.conversation')$$,
  '42501', null, 'owner: cannot write the last_* bookkeeping');
select throws_ok($$update public.conversations set tenant_id = tests.rls_id('b.tenant') where id = tests.rls_id('a.conversation')$$,
  '42501', null, 'owner: cannot move a conversation to another tenant');
select throws_ok($$delete from public.conversations where id = tests.rls_id('a.conversation')$$,
  '42501', null, 'owner: cannot delete a conversation');

-- messages
select is(tests.rls_visible('messages', array[tests.rls_id('a.inbound'), tests.rls_id('a.scheduled')]), 2,
  'owner: sees their messages');
select is(tests.rls_visible('messages', array[tests.rls_id('b.inbound'), tests.rls_id('b.scheduled')]), 0,
  'owner: does not see another tenant''s messages');
select lives_ok($$with i as (insert into public.messages (tenant_id,
  conversation_id, contact_id, direction, channel, kind, body, status, sent_by)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.conversation'), tests.rls_id('a.contact'), 'outbound',
  'sms', 'manual', 'On our way', 'queued', tests.rls_id('a.owner')) returning id) select tests.rls_put('a.sent_by_owner', i.id) from i$$,
  'owner: can send a manual message');
select is((select status in ('queued', 'scheduled') and sent_by = tests.rls_id('a.owner')
  from public.messages where id = tests.rls_id('a.sent_by_owner')), true,
  'owner: the message is in the outbox, sent by them');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by) values (tests.rls_id('b.tenant'), tests.rls_id('b.conversation'),
  tests.rls_id('b.contact'), 'outbound', 'sms', 'manual', 'Spam', 'queued', tests.rls_id('a.owner'))$$,
  '42501', 'new row violates row-level security policy for table "messages"',
  'owner: cannot send in another tenant''s conversation');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by) values (tests.rls_id('a.tenant'), tests.rls_id('b.conversation'),
  tests.rls_id('b.contact'), 'outbound', 'sms', 'manual', 'Spam', 'queued', tests.rls_id('a.owner'))$$,
  null, null, 'owner: cannot send to another tenant''s conversation under their own tenant');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by) values (tests.rls_id('a.tenant'), tests.rls_id('b.conversation'),
  tests.rls_id('b.contact'), 'outbound', 'sms', 'manual', 'Spam', 'canceled', tests.rls_id('a.owner'))$$,
  '42501', 'new row violates row-level security policy for table "messages"',
  'owner: the policy itself refuses another tenant''s conversation (WITH CHECK)');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by) values (tests.rls_id('a.tenant'), tests.rls_id('a.conversation'),
  tests.rls_id('a.contact'), 'outbound', 'sms', 'manual', 'As someone else', 'queued', tests.rls_id('a.agent'))$$,
  '42501', null, 'owner: cannot send in someone else''s name');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by) values (tests.rls_id('a.tenant'), tests.rls_id('a.conversation'),
  tests.rls_id('a.contact'), 'outbound', 'sms', 'bulk', 'Not manual', 'queued', tests.rls_id('a.owner'))$$,
  '42501', null, 'owner: can only insert manual messages');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status) values (tests.rls_id('a.tenant'), tests.rls_id('a.conversation'),
  tests.rls_id('a.contact'), 'inbound', 'sms', 'inbound', 'Fake inbound', 'received')$$,
  '42501', null, 'owner: cannot forge an inbound message');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by, provider_sid) values (tests.rls_id('a.tenant'),
  tests.rls_id('a.conversation'), tests.rls_id('a.contact'), 'outbound', 'sms', 'manual', 'x', 'queued',
  tests.rls_id('a.owner'), 'SM-forged')$$,
  '42501', null, 'owner: cannot set provider_sid');
select throws_ok($$update public.messages set body = 'edited' where id = tests.rls_id('a.scheduled')$$,
  '42501', null, 'owner: cannot edit a message body');
select throws_ok($$update public.messages set attempts = 0, lease_until = null where id = tests.rls_id('a.scheduled')$$,
  '42501', null, 'owner: cannot touch delivery internals');
select throws_ok($$update public.messages set status = 'queued' where id = tests.rls_id('a.scheduled')$$,
  '42501', null, 'owner: cannot move a message forward themselves (only cancel)');
with u as (update public.messages set status = 'canceled' where id = tests.rls_id('b.scheduled') returning 1)
select is(count(*)::int, 0, 'owner: cannot cancel another tenant''s message') from u;
with u as (update public.messages set status = 'canceled' where id = tests.rls_id('a.inbound') returning 1)
select is(count(*)::int, 0, 'owner: cannot change an inbound message') from u;
with u as (update public.messages set status = 'canceled' where id = tests.rls_id('a.scheduled') returning 1)
select is(count(*)::int, 1, 'owner: can cancel a scheduled message') from u;
select throws_ok($$update public.messages set tenant_id = tests.rls_id('b.tenant') where id = tests.rls_id('a.inbound')$$,
  '42501', null, 'owner: cannot move a message to another tenant');
select throws_ok($$delete from public.messages where id = tests.rls_id('a.inbound')$$,
  '42501', null, 'owner: cannot delete a message');

-- calls
select is(tests.rls_visible('calls', array[tests.rls_id('a.call')]), 1, 'owner: sees their calls');
select is(tests.rls_visible('calls', array[tests.rls_id('b.call')]), 0, 'owner: does not see another tenant''s calls');
select throws_ok($$insert into public.calls (tenant_id, provider_sid, direction)
  values (tests.rls_id('a.tenant'), 'CA-forged', 'inbound')$$, '42501', null, 'owner: cannot insert calls (synced)');
select throws_ok($$update public.calls set status = 'x' where id = tests.rls_id('a.call')$$,
  '42501', null, 'owner: cannot update calls');
select throws_ok($$delete from public.calls where id = tests.rls_id('a.call')$$,
  '42501', null, 'owner: cannot delete calls');

-- Agent of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-agent@test.local');

select is(tests.rls_visible('contacts', array[tests.rls_id('a.contact'), tests.rls_id('a.contact2')]), 2,
  'agent: sees their tenant''s contacts');
select is(tests.rls_visible('contacts', array[tests.rls_id('b.contact')]), 0, 'agent: not another tenant''s');
select lives_ok($$insert into public.contacts (tenant_id, name, email)
  values (tests.rls_id('a.tenant'), 'Agent made', 'agent-made@test.local')$$, 'agent: can add a contact');
with u as (update public.contacts set promotional_consent = false where id = tests.rls_id('a.contact') returning 1)
select is(count(*)::int, 1, 'agent: can edit a contact') from u;
with d as (delete from public.contacts where id = tests.rls_id('a.contact2') returning 1)
select is(count(*)::int, 0, 'agent: cannot delete a contact (owners only)') from d;
select throws_ok($$insert into public.contacts (tenant_id, name) values (tests.rls_id('b.tenant'), 'Planted')$$,
  '42501', null, 'agent: cannot add a contact to another tenant');

select is(tests.rls_visible('conversations', array[tests.rls_id('a.conversation')]), 1, 'agent: sees conversations');
select lives_ok($$insert into public.conversations (tenant_id, contact_id, channel)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'whatsapp')$$, 'agent: can start a conversation');
with u as (update public.conversations set ai_paused = true, ai_paused_until = now() + interval '1 hour',
  needs_human = false where id = tests.rls_id('a.conversation') returning 1)
select is(count(*)::int, 1, 'agent: can pause the AI and clear needs_human') from u;
with u as (update public.conversations set status = 'open' where id = tests.rls_id('b.conversation') returning 1)
select is(count(*)::int, 0, 'agent: cannot triage another tenant''s conversation') from u;
select throws_ok($$delete from public.conversations where id = tests.rls_id('a.conversation')$$,
  '42501', null, 'agent: cannot delete a conversation');

select is(tests.rls_visible('messages', array[tests.rls_id('a.inbound'), tests.rls_id('a.sent_by_owner')]), 2,
  'agent: sees every message of their tenant');
select lives_ok($$with i as (insert into public.messages (tenant_id,
  conversation_id, contact_id, direction, channel, kind, body, status, scheduled_for, sent_by)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.conversation'), tests.rls_id('a.contact'), 'outbound',
  'sms', 'manual', 'See you tomorrow', 'scheduled', now() + interval '1 day', tests.rls_id('a.agent'))
  returning id) select tests.rls_put('a.sent_by_agent', i.id) from i$$, 'agent: can schedule a manual message');
select throws_ok($$update public.messages set status = 'sent' where id = tests.rls_id('a.sent_by_owner')$$,
  '42501', null, 'agent: cannot mark a message sent');
with u as (update public.messages set status = 'canceled' where id = tests.rls_id('a.sent_by_agent') returning 1)
select is(count(*)::int, 1, 'agent: can cancel a scheduled message') from u;
with u as (update public.messages set status = 'canceled' where id = tests.rls_id('b.scheduled') returning 1)
select is(count(*)::int, 0, 'agent: cannot cancel another tenant''s message') from u;
select throws_ok($$delete from public.messages where id = tests.rls_id('a.inbound')$$,
  '42501', null, 'agent: cannot delete a message');

select is(tests.rls_visible('calls', array[tests.rls_id('a.call')]), 1, 'agent: sees calls');
select throws_ok($$insert into public.calls (tenant_id, provider_sid, direction)
  values (tests.rls_id('a.tenant'), 'CA-forged', 'inbound')$$, '42501', null, 'agent: cannot insert calls');
select throws_ok($$update public.calls set status = 'x'$$, '42501', null, 'agent: cannot update calls');
select throws_ok($$delete from public.calls$$, '42501', null, 'agent: cannot delete calls');

-- Stranger: owner of B ----------------------------------------------------------------------------
select tests.authenticate_as('rls-b-owner@test.local');

select is(tests.rls_visible('contacts', array[tests.rls_id('a.contact'), tests.rls_id('a.contact2')]), 0,
  'stranger: sees none of A''s contacts');
select throws_ok($$insert into public.contacts (tenant_id, name) values (tests.rls_id('a.tenant'), 'Planted')$$,
  '42501', null, 'stranger: cannot add a contact to A');
with u as (update public.contacts set name = 'x' where id = tests.rls_id('a.contact') returning 1)
select is(count(*)::int, 0, 'stranger: cannot edit A''s contact') from u;
with d as (delete from public.contacts where id = tests.rls_id('a.contact') returning 1)
select is(count(*)::int, 0, 'stranger: cannot delete A''s contact') from d;

select is(tests.rls_visible('conversations', array[tests.rls_id('a.conversation')]), 0,
  'stranger: sees none of A''s conversations');
select throws_ok($$insert into public.conversations (tenant_id, contact_id, channel)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'email')$$, '42501', null,
  'stranger: cannot start a conversation in A');
select throws_ok($$insert into public.conversations (tenant_id, contact_id, channel)
  values (tests.rls_id('b.tenant'), tests.rls_id('a.contact'), 'email')$$, '42501', null,
  'stranger: cannot attach A''s contact to their own tenant');
with u as (update public.conversations set status = 'spam' where id = tests.rls_id('a.conversation') returning 1)
select is(count(*)::int, 0, 'stranger: cannot triage A''s conversation') from u;
select throws_ok($$delete from public.conversations where id = tests.rls_id('a.conversation')$$,
  '42501', null, 'stranger: cannot delete conversations');

select is(tests.rls_visible('messages', array[tests.rls_id('a.inbound'), tests.rls_id('a.sent_by_owner')]), 0,
  'stranger: sees none of A''s messages');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by) values (tests.rls_id('a.tenant'), tests.rls_id('a.conversation'),
  tests.rls_id('a.contact'), 'outbound', 'sms', 'manual', 'Spam', 'queued', tests.rls_id('b.owner'))$$,
  '42501', null, 'stranger: cannot send in A''s conversation');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status, sent_by) values (tests.rls_id('b.tenant'), tests.rls_id('a.conversation'),
  tests.rls_id('a.contact'), 'outbound', 'sms', 'manual', 'Spam', 'queued', tests.rls_id('b.owner'))$$,
  null, null, 'stranger: cannot send to A''s contact under their own tenant');
with u as (update public.messages set status = 'canceled' where id = tests.rls_id('a.sent_by_owner') returning 1)
select is(count(*)::int, 0, 'stranger: cannot cancel A''s message') from u;
select throws_ok($$delete from public.messages where id = tests.rls_id('a.inbound')$$,
  '42501', null, 'stranger: cannot delete messages');

select is(tests.rls_visible('calls', array[tests.rls_id('a.call')]), 0, 'stranger: sees none of A''s calls');
select throws_ok($$insert into public.calls (tenant_id, provider_sid, direction)
  values (tests.rls_id('a.tenant'), 'CA-forged', 'inbound')$$, '42501', null, 'stranger: cannot insert calls');
select throws_ok($$update public.calls set status = 'x'$$, '42501', null, 'stranger: cannot update calls');
select throws_ok($$delete from public.calls$$, '42501', null, 'stranger: cannot delete calls');

-- Anon --------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();

select throws_ok($$select * from public.contacts$$, '42501', null, 'anon: cannot read contacts');
select throws_ok($$insert into public.contacts (tenant_id, name) values (tests.rls_id('a.tenant'), 'x')$$,
  '42501', null, 'anon: cannot insert contacts');
select throws_ok($$update public.contacts set name = 'x'$$, '42501', null, 'anon: cannot update contacts');
select throws_ok($$delete from public.contacts$$, '42501', null, 'anon: cannot delete contacts');
select throws_ok($$select * from public.conversations$$, '42501', null, 'anon: cannot read conversations');
select throws_ok($$insert into public.conversations (tenant_id, contact_id, channel)
  values (tests.rls_id('a.tenant'), tests.rls_id('a.contact'), 'email')$$, '42501', null,
  'anon: cannot insert conversations');
select throws_ok($$update public.conversations set status = 'spam'$$, '42501', null,
  'anon: cannot update conversations');
select throws_ok($$delete from public.conversations$$, '42501', null, 'anon: cannot delete conversations');
select throws_ok($$select * from public.messages$$, '42501', null, 'anon: cannot read messages');
select throws_ok($$insert into public.messages (tenant_id, conversation_id, contact_id, direction,
  channel, kind, body, status) values (tests.rls_id('a.tenant'), tests.rls_id('a.conversation'),
  tests.rls_id('a.contact'), 'outbound', 'sms', 'manual', 'x', 'queued')$$, '42501', null,
  'anon: cannot insert messages');
select throws_ok($$update public.messages set status = 'canceled'$$, '42501', null,
  'anon: cannot update messages');
select throws_ok($$delete from public.messages$$, '42501', null, 'anon: cannot delete messages');
select throws_ok($$select * from public.calls$$, '42501', null, 'anon: cannot read calls');
select throws_ok($$insert into public.calls (tenant_id, provider_sid, direction)
  values (tests.rls_id('a.tenant'), 'CA-x', 'inbound')$$, '42501', null, 'anon: cannot insert calls');
select throws_ok($$update public.calls set status = 'x'$$, '42501', null, 'anon: cannot update calls');
select throws_ok($$delete from public.calls$$, '42501', null, 'anon: cannot delete calls');

-- Service role ------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();

select is(tests.rls_visible('contacts', array[tests.rls_id('a.contact'), tests.rls_id('b.contact')]), 2,
  'service role: sees every tenant''s contacts');
select is(tests.rls_visible('conversations', array[tests.rls_id('a.conversation'), tests.rls_id('b.conversation')]), 2,
  'service role: sees every conversation');
select is(tests.rls_visible('messages', array[tests.rls_id('a.inbound'), tests.rls_id('b.inbound')]), 2,
  'service role: sees every message');
select is(tests.rls_visible('calls', array[tests.rls_id('a.call'), tests.rls_id('b.call')]), 2,
  'service role: sees every call');
with u as (update public.messages set body = 'fixed' where id = tests.rls_id('b.inbound') returning 1)
select is(count(*)::int, 1, 'service role: writes any column') from u;

-- Owners delete contacts (and with them the history) -------------------------------------------------
select tests.authenticate_as('rls-a-owner@test.local');
with d as (delete from public.contacts where id = tests.rls_id('a.contact2') returning 1)
select is(count(*)::int, 1, 'owner: can delete a contact') from d;

select tests.clear_authentication();
select is((select phone from public.contacts where id = tests.rls_id('a.contact')), '+14155550001',
  'fixture contact kept its number');

select * from finish();
rollback;
