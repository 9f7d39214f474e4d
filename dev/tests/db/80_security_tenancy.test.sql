-- Issue 12, driven as an attacker would: a fresh sign-up, a second tenant, forged callbacks and
-- form posts. Test mode and the sending policy (20261202300000), verified email senders
-- (20261202300100), numbers only from sync (20261202300200), provider ids per tenant and
-- untrusted form senders (20261202300300, 20261202300500), account-scoped status callbacks
-- (20261202300400) and the AI model allow-list (20261202300600).
begin;
select plan(58);

insert into private.settings (key, value) values ('platform_email_address', 'no-reply@switchboard.test')
on conflict (key) do update set value = excluded.value;
select tests.create_user('sec-1@test.local');
select tests.create_user('sec-2@test.local');

-- A fresh sign-up -------------------------------------------------------------------------------
select tests.authenticate_as('sec-1@test.local');
select tests.rls_put('sec.t1', (public.create_tenant('Sec Fresh', 'sec-fresh')).id);
select is((select platform_provisioned from public.tenants where id = tests.rls_id('sec.t1')), false,
  'sign-up: a new business is not provisioned on the platform account');
select is(public.sending_mode(tests.rls_id('sec.t1')) ->> 'mode', 'test', 'sign-up: it is in test mode');
select ok(public.sending_mode(tests.rls_id('sec.t1')) ->> 'message' like 'Test mode:%',
  'sign-up: the dashboard gets the reason in words');

-- Caps and flags the owner cannot raise.
select throws_ok($$update public.tenants set send_rate_per_minute = 100000 where id = tests.rls_id('sec.t1')$$,
  '42501', null, 'owner: cannot raise send_rate_per_minute');
select throws_ok($$update public.tenants set messaging_service_sid = 'MG' || repeat('1', 32) where id = tests.rls_id('sec.t1')$$,
  '42501', null, 'owner: cannot set messaging_service_sid');
select throws_ok($$update public.tenants set platform_provisioned = true where id = tests.rls_id('sec.t1')$$,
  '42501', null, 'owner: cannot provision itself');
select throws_ok($$update public.tenants set allowed_country_codes = '{1,44,881}' where id = tests.rls_id('sec.t1')$$,
  '42501', null, 'owner: cannot widen its countries');
select throws_ok($$update public.tenants set allowed_number_types = '{satellite}' where id = tests.rls_id('sec.t1')$$,
  '42501', null, 'owner: cannot allow special number types');

-- Any sender address.
select throws_ok($$update public.tenants set email_from = 'Security Team <security@bank.example>' where id = tests.rls_id('sec.t1')$$,
  '23514', null, 'owner: cannot send as an unverified domain');
select lives_ok($$insert into public.tenant_email_domains (tenant_id, domain) values (tests.rls_id('sec.t1'), 'bank.example')$$,
  'owner: may ask for a domain');
select throws_ok($$update public.tenants set email_from = 'security@bank.example' where id = tests.rls_id('sec.t1')$$,
  '23514', null, 'owner: an asked-for domain is not verified');
select throws_ok($$update public.tenant_email_domains set verified_at = now() where tenant_id = tests.rls_id('sec.t1')$$,
  '42501', null, 'owner: cannot mark its own domain verified');
select throws_ok($$insert into public.tenant_email_domains (tenant_id, domain, verified_at) values (tests.rls_id('sec.t1'), 'other.example', now())$$,
  '42501', null, 'owner: cannot insert a verified domain');
select throws_ok($$update public.tenants set email_from = 'Bloom Salon <no-reply@switchboard.test>' where id = tests.rls_id('sec.t1')$$,
  '23514', null, 'owner: the platform address only with its own business name');
select lives_ok($$update public.tenants set email_from = 'Sec Fresh <no-reply@switchboard.test>' where id = tests.rls_id('sec.t1')$$,
  'owner: the platform address with the business name is fine');
select lives_ok($$update public.tenants set email_from = null where id = tests.rls_id('sec.t1')$$,
  'owner: no sender (the platform default) is fine');

-- Numbers come from sync only.
select throws_ok($$insert into public.phone_numbers (tenant_id, e164) values (tests.rls_id('sec.t1'), '+14155550199')$$,
  '42501', null, 'owner: cannot register a phone number by insert');

-- AI models from the allow-list only.
select throws_ok($$update public.tenants set auto_reply_model = 'claude-opus-4-1-expensive' where id = tests.rls_id('sec.t1')$$,
  '23503', null, 'owner: a model outside the allow-list is refused');
select lives_ok($$update public.tenants set auto_reply_model = 'claude-sonnet-4-5' where id = tests.rls_id('sec.t1')$$,
  'owner: an allowed model is fine');
select throws_ok($$update public.tenants set auto_reply_provider = 'gemini' where id = tests.rls_id('sec.t1')$$,
  '23503', null, 'owner: a model of another provider is refused');

-- Test mode blocks real sends, with the reason (contact and conversation as the dashboard makes them).
with i as (
  insert into public.contacts (tenant_id, name, phone, email) values (tests.rls_id('sec.t1'), 'Pat', '+14155550123', 'pat@example.com')
  returning id)
select tests.rls_put('sec.c1', id) from i;
with i as (
  insert into public.conversations (tenant_id, contact_id, channel) values (tests.rls_id('sec.t1'), tests.rls_id('sec.c1'), 'sms')
  returning id)
select tests.rls_put('sec.cv1', id) from i;
select tests.clear_authentication();
select tests.rls_put('sec.cv1e', tests.ob_conversation(tests.rls_id('sec.c1'), 'email'));
select is((m).status || '/' || (m).error_code, 'failed/test_mode', 'test mode: an SMS is failed with test_mode')
from (select tests.ob_send(tests.rls_id('sec.cv1')) as m) x;
select is((m).status || '/' || (m).error_code, 'failed/test_mode',
  'test mode: email is failed too until a sender domain is verified (no platform relay)')
from (select tests.ob_send(tests.rls_id('sec.cv1e')) as m) x;
insert into public.tenant_email_domains (tenant_id, domain, verified_at)
values (tests.rls_id('sec.t1'), 'sec-t1.example', now());
select is((m).status, 'queued', 'with a verified sender domain its email is queued')
from (select tests.ob_send(tests.rls_id('sec.cv1e')) as m) x;
delete from public.tenant_email_domains where domain = 'sec-t1.example';

-- A provisioned business: countries, premium-rate and special numbers --------------------------------
select tests.rls_put('sec.p', tests.ob_tenant('sec-provisioned'));
select is((select platform_provisioned from public.tenants where id = tests.rls_id('sec.p')), true,
  'operator: a business the service role creates is provisioned');
select is(private.tenant_send_block_reason(tests.rls_id('sec.p'), 'sms', '+14155550100'), null,
  'provisioned: an ordinary US number may be sent to');
select is(private.tenant_send_block_reason(tests.rls_id('sec.p'), 'sms', '+19005550100'),
  'premium_rate_number', 'provisioned: a +1 900 premium-rate number is blocked');
select is(private.tenant_send_block_reason(tests.rls_id('sec.p'), 'sms', '+447700900123'),
  'country_not_allowed', 'provisioned: a country outside its list is blocked');
update public.tenants set allowed_country_codes = '{1,44,881}' where id = tests.rls_id('sec.p');
select is(private.tenant_send_block_reason(tests.rls_id('sec.p'), 'whatsapp', 'whatsapp:+447700900123'), null,
  'provisioned: once the operator allows 44, UK numbers may be sent to');
select is(private.tenant_send_block_reason(tests.rls_id('sec.p'), 'sms', '+449098790000'),
  'premium_rate_number', 'provisioned: UK 09 premium rate is blocked even in an allowed country');
select is(private.tenant_send_block_reason(tests.rls_id('sec.p'), 'sms', '+8816312345678'),
  'number_type_not_allowed', 'provisioned: a satellite number needs the type allowed');
select is(private.tenant_send_block_reason(tests.rls_id('sec.p'), 'email', 'x@example.com'), null,
  'the policy is SMS/WhatsApp only');
select tests.rls_put('sec.pc', tests.ob_contact(tests.rls_id('sec.p'), '+19765550100'));
select is((m).error_code, 'premium_rate_number', 'enqueue: a premium-rate row is failed at once')
from (select tests.ob_send(tests.ob_conversation(tests.rls_id('sec.pc'))) as m) x;

-- The rule again at claim: a business that lost its provisioning sends nothing still queued.
select tests.ob_isolate_queue();
select tests.rls_put('sec.pm', (tests.ob_send(tests.ob_conversation(tests.ob_contact(tests.rls_id('sec.p'))))).id);
update public.tenants set platform_provisioned = false where id = tests.rls_id('sec.p');
select is((select count(*)::integer from private.claim_due_messages(100)), 0, 'claim: nothing is claimed in test mode');
select is((select status || '/' || error_code from public.messages where id = tests.rls_id('sec.pm')),
  'failed/test_mode', 'claim: the queued row is failed with test_mode');

-- Own verified account: out of test mode.
insert into private.tenant_credentials (tenant_id, account_sid, auth_token_ciphertext, key_version, auth_token_last4)
values (tests.rls_id('sec.p'), 'AC' || repeat('b', 32), 'x', 1, 'abcd');
select is(private.tenant_sending_mode(tests.rls_id('sec.p')), 'own_account', 'own credentials: own_account mode');

-- Status callbacks only from the sending account -------------------------------------------------
select tests.rls_put('sec.sent', (tests.ob_send(tests.ob_conversation(tests.ob_contact(tests.rls_id('sec.p'))))).id);
update public.messages set status = 'sent', provider_sid = 'SMsecvictim' where id = tests.rls_id('sec.sent');
select is((private.record_account_status_callback('AC' || repeat('c', 32), null, 'SMsecvictim', 'failed', '30007')).id,
  null, 'status: a callback from another account finds nothing');
select is((select status from public.messages where id = tests.rls_id('sec.sent')), 'sent',
  'status: and the victim''s message is unchanged');
select is((private.record_account_status_callback('AC' || repeat('d', 32), 'AC' || repeat('d', 32), 'SMsecvictim', 'failed', '30007')).id,
  null, 'status: the platform account cannot touch a business with its own account');
select is((private.record_account_status_callback('AC' || repeat('b', 32), null, 'SMsecvictim', 'delivered')).status,
  'delivered', 'status: the business''s own account moves it');

-- Provider ids per tenant, and no other tenant's ids in an answer ----------------------------------
select tests.rls_put('sec.ia', tests.inbound_tenant('sec-in-a', '+14155550901'));
select tests.rls_put('sec.ib', tests.inbound_tenant('sec-in-b', '+14155550902'));
select tests.sms_in('+14155550111', '+14155550901', 'Hi A', 'SMsecshared');
select is((tests.sms_in('+14155550112', '+14155550902', 'Hi B', 'SMsecshared')) ->> 'duplicate', 'false',
  'dedup: the same provider id in another tenant is a new message');
select is((select count(*)::integer from public.messages where provider_sid = 'SMsecshared'
  and tenant_id = tests.rls_id('sec.ib')), 1, 'dedup: stored in tenant B');
select is((public.record_inbound('email', 'x@example.com', null, 'again', 'SMsecshared',
  p_tenant_id => tests.rls_id('sec.ib'))) ->> 'tenant_id', tests.rls_id('sec.ib')::text,
  'dedup: a retry answers with its own tenant''s ids only');

-- Forms are untrusted senders -----------------------------------------------------------------------
with i as (
  insert into public.contacts (tenant_id, name, email, opted_out_channels)
  values (tests.rls_id('sec.ia'), '', 'victim@example.com', '{email}') returning id)
select tests.rls_put('sec.fc', id) from i;
select is((public.record_inbound('form', 'victim@example.com', null, 'START', 'form:sec1',
  p_tenant_id => tests.rls_id('sec.ia'), p_contact_name => 'Mallory')) ->> 'keyword', null,
  'form: START is not a keyword');
select is((select opted_out_channels from public.contacts where id = tests.rls_id('sec.fc')), '{email}'::text[],
  'form: the customer''s email opt-out stands');
select is((public.record_inbound('form', 'victim@example.com', null, 'HELP', 'form:sec2',
  p_tenant_id => tests.rls_id('sec.ia'))) ->> 'reply_message_id', null, 'form: HELP mails nobody');
select is((select name from public.contacts where id = tests.rls_id('sec.fc')), '',
  'form: a typed name does not rename an existing contact');

-- tenant_email_domains under RLS, per actor ----------------------------------------------------------
select tests.create_user('sec-agent@test.local');
insert into public.tenant_members (tenant_id, user_id, role)
values (tests.rls_id('sec.t1'), tests.user_id('sec-agent@test.local'), 'agent');
select tests.authenticate_as('sec-agent@test.local');
select is((select count(*)::integer from public.tenant_email_domains where tenant_id = tests.rls_id('sec.t1')), 1,
  'agent: reads the business''s email domains');
select throws_ok($$insert into public.tenant_email_domains (tenant_id, domain) values (tests.rls_id('sec.t1'), 'agent.example')$$,
  '42501', null, 'agent: cannot ask for a domain');
with d as (delete from public.tenant_email_domains where tenant_id = tests.rls_id('sec.t1') returning 1)
select is(count(*)::integer, 0, 'agent: cannot remove a domain') from d;
select tests.authenticate_as('sec-2@test.local');
select tests.rls_put('sec.t2', (public.create_tenant('Sec Other', 'sec-other')).id);
select is((select count(*)::integer from public.tenant_email_domains where tenant_id = tests.rls_id('sec.t1')), 0,
  'another business: sees none of them');
select throws_ok($$insert into public.tenant_email_domains (tenant_id, domain) values (tests.rls_id('sec.t1'), 'planted.example')$$,
  '42501', null, 'another business: cannot add one to it');
with d as (delete from public.tenant_email_domains where tenant_id = tests.rls_id('sec.t1') returning 1)
select is(count(*)::integer, 0, 'another business: cannot remove one') from d;
select throws_ok($$select public.sending_mode(tests.rls_id('sec.t1'))$$, '42501', null,
  'another business: cannot read its sending mode');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.tenant_email_domains$$, '42501', null, 'anon: cannot read email domains');
select throws_ok($$select public.sending_mode(tests.rls_id('sec.t1'))$$, '42501', null, 'anon: no sending mode');
select tests.authenticate_as('sec-1@test.local');
with d as (delete from public.tenant_email_domains where tenant_id = tests.rls_id('sec.t1') returning 1)
select is(count(*)::integer, 1, 'owner: can remove a domain') from d;
select throws_ok($$select * from private.number_prefixes$$, '42501', null, 'owner: the prefix list is not exposed');
select is((select count(*)::integer from public.ai_models() where provider = 'anthropic') > 0, true,
  'owner: lists the allowed AI models');
select tests.clear_authentication();

select * from finish();
rollback;
