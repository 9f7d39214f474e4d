-- A tenant's settings under RLS: phone_numbers, templates, automations and bulk_sends, tried by an
-- owner, an agent, a member of another tenant (the stranger), anon and the service role.
begin;
select plan(92);

select tests.rls_fixture();

-- Owner of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-owner@test.local');

-- phone_numbers
select is(tests.rls_visible('phone_numbers', array[tests.rls_id('a.phone')]), 1, 'owner: sees their numbers');
select is(tests.rls_visible('phone_numbers', array[tests.rls_id('b.phone')]), 0, 'owner: not another tenant''s');
-- Numbers come only from the business's own Twilio account through twilio-sync (service role).
select throws_ok($$insert into public.phone_numbers (tenant_id, e164, whatsapp)
  values (tests.rls_id('a.tenant'), '+14156669901', true)$$,
  '42501', 'permission denied for table phone_numbers', 'owner: cannot register a number by insert');
select throws_ok($$insert into public.phone_numbers (tenant_id, e164) values (tests.rls_id('b.tenant'), '+14156669902')$$,
  '42501', 'permission denied for table phone_numbers',
  'owner: cannot add a number to another tenant either');
select throws_ok($$update public.phone_numbers set e164 = '+14156669906' where id = tests.rls_id('a.phone')$$,
  '42501', null, 'owner: cannot change a number''s e164');
with u as (update public.phone_numbers set friendly_name = 'Front desk' where id = tests.rls_id('a.phone') returning 1)
select is(count(*)::int, 1, 'owner: can change a number') from u;
with u as (update public.phone_numbers set friendly_name = 'Mine' where id = tests.rls_id('b.phone') returning 1)
select is(count(*)::int, 0, 'owner: cannot change another tenant''s number') from u;
select throws_ok($$update public.phone_numbers set last_used_at = now() where id = tests.rls_id('a.phone')$$,
  '42501', null, 'owner: cannot write the rotation bookkeeping');
select throws_ok($$update public.phone_numbers set tenant_id = tests.rls_id('b.tenant') where id = tests.rls_id('a.phone')$$,
  '42501', null, 'owner: cannot move a number to another tenant');
select tests.clear_authentication();
with i as (
  insert into public.phone_numbers (tenant_id, e164) values (tests.rls_id('a.tenant'), '+14156669901')
  returning id)
select tests.rls_put('a.phone2', i.id) from i;
select tests.authenticate_as('rls-a-owner@test.local');
with d as (delete from public.phone_numbers where id = tests.rls_id('a.phone2') returning 1)
select is(count(*)::int, 1, 'owner: can remove a number') from d;
with d as (delete from public.phone_numbers where id = tests.rls_id('b.phone') returning 1)
select is(count(*)::int, 0, 'owner: cannot remove another tenant''s number') from d;

-- templates
select is(tests.rls_visible('templates', array[tests.rls_id('a.template')]), 1, 'owner: sees their templates');
select is(tests.rls_visible('templates', array[tests.rls_id('b.template')]), 0, 'owner: not another tenant''s');
select lives_ok($$with i as (insert into public.templates (tenant_id, name, body)
  values (tests.rls_id('a.tenant'), 'RLS owner template', 'Thanks {first_name}!') returning id)
  select tests.rls_put('a.template2', i.id) from i$$, 'owner: can create a template');
select throws_ok($$insert into public.templates (tenant_id, name, body) values (tests.rls_id('b.tenant'), 'Planted', 'x')$$,
  '42501', 'new row violates row-level security policy for table "templates"',
  'owner: cannot create a template in another tenant (WITH CHECK)');
with u as (update public.templates set body = 'Hello {first_name}' where id = tests.rls_id('a.template') returning 1)
select is(count(*)::int, 1, 'owner: can edit a template') from u;
with u as (update public.templates set body = 'x' where id = tests.rls_id('b.template') returning 1)
select is(count(*)::int, 0, 'owner: cannot edit another tenant''s template') from u;
select throws_ok($$update public.templates set usage_count = 1000 where id = tests.rls_id('a.template')$$,
  '42501', null, 'owner: cannot set usage_count');
select throws_ok($$update public.templates set tenant_id = tests.rls_id('b.tenant') where id = tests.rls_id('a.template')$$,
  '42501', null, 'owner: cannot move a template to another tenant');
with d as (delete from public.templates where id = tests.rls_id('a.template2') returning 1)
select is(count(*)::int, 1, 'owner: can delete a template') from d;
with d as (delete from public.templates where id = tests.rls_id('b.template') returning 1)
select is(count(*)::int, 0, 'owner: cannot delete another tenant''s template') from d;

-- automations
select is(tests.rls_visible('automations', array[tests.rls_id('a.automation')]), 1, 'owner: sees their automations');
select is(tests.rls_visible('automations', array[tests.rls_id('b.automation')]), 0, 'owner: not another tenant''s');
with d as (delete from public.automations where id = tests.rls_id('a.automation') returning 1)
select is(count(*)::int, 1, 'owner: can remove an automation') from d;
select lives_ok($$insert into public.automations (tenant_id, kind, template_id, offset_minutes)
  values (tests.rls_id('a.tenant'), 'reengagement', tests.rls_id('a.template'), 10080)$$,
  'owner: can add an automation');
select throws_ok($$insert into public.automations (tenant_id, kind) values (tests.rls_id('b.tenant'), 'reengagement')$$,
  '42501', 'new row violates row-level security policy for table "automations"',
  'owner: cannot add an automation to another tenant (WITH CHECK)');
with u as (update public.automations set enabled = false, offset_minutes = 20160
  where tenant_id = tests.rls_id('a.tenant') and kind = 'reengagement' returning 1)
select is(count(*)::int, 1, 'owner: can change an automation') from u;
select throws_ok($$update public.automations set template_id = tests.rls_id('b.template')
  where tenant_id = tests.rls_id('a.tenant') and kind = 'reengagement'$$,
  '42501', 'new row violates row-level security policy for table "automations"',
  'owner: cannot point an automation at another tenant''s template');
with u as (update public.automations set enabled = false where id = tests.rls_id('b.automation') returning 1)
select is(count(*)::int, 0, 'owner: cannot change another tenant''s automation') from u;
select throws_ok($$update public.automations set kind = 'reminder_2h' where tenant_id = tests.rls_id('a.tenant')$$,
  '42501', null, 'owner: cannot change an automation''s kind');
with d as (delete from public.automations where id = tests.rls_id('b.automation') returning 1)
select is(count(*)::int, 0, 'owner: cannot remove another tenant''s automation') from d;

-- bulk_sends
select is(tests.rls_visible('bulk_sends', array[tests.rls_id('a.bulk')]), 1, 'owner: sees their bulk sends');
select is(tests.rls_visible('bulk_sends', array[tests.rls_id('b.bulk')]), 0, 'owner: not another tenant''s');
select throws_ok($$insert into public.bulk_sends (tenant_id, channel, body) values (tests.rls_id('a.tenant'), 'sms', 'x')$$,
  '42501', null, 'owner: creates bulk sends through bulk_send(), not by insert');
select throws_ok($$update public.bulk_sends set name = 'x' where id = tests.rls_id('a.bulk')$$,
  '42501', null, 'owner: cannot rewrite a bulk send');
with u as (update public.bulk_sends set status = 'canceled' where id = tests.rls_id('b.bulk') returning 1)
select is(count(*)::int, 0, 'owner: cannot cancel another tenant''s bulk send') from u;
select throws_ok($$update public.bulk_sends set status = 'done' where id = tests.rls_id('a.bulk')$$,
  '42501', 'new row violates row-level security policy for table "bulk_sends"',
  'owner: can only set a bulk send to canceled (WITH CHECK)');
with u as (update public.bulk_sends set status = 'canceled' where id = tests.rls_id('a.bulk') returning 1)
select is(count(*)::int, 1, 'owner: can cancel a bulk send') from u;
select throws_ok($$delete from public.bulk_sends where id = tests.rls_id('a.bulk')$$,
  '42501', null, 'owner: cannot delete a bulk send');

-- Agent of A --------------------------------------------------------------------------------------
select tests.authenticate_as('rls-a-agent@test.local');

select is(tests.rls_visible('phone_numbers', array[tests.rls_id('a.phone')]), 1, 'agent: sees the numbers');
select throws_ok($$insert into public.phone_numbers (tenant_id, e164) values (tests.rls_id('a.tenant'), '+14156669903')$$,
  '42501', 'permission denied for table phone_numbers',
  'agent: cannot add a number');
with u as (update public.phone_numbers set friendly_name = 'Agent' where id = tests.rls_id('a.phone') returning 1)
select is(count(*)::int, 0, 'agent: cannot change a number') from u;
with d as (delete from public.phone_numbers where id = tests.rls_id('a.phone') returning 1)
select is(count(*)::int, 0, 'agent: cannot remove a number') from d;

select is(tests.rls_visible('templates', array[tests.rls_id('a.template')]), 1, 'agent: sees the templates');
select lives_ok($$insert into public.templates (tenant_id, name, body)
  values (tests.rls_id('a.tenant'), 'RLS agent template', 'See you {date}')$$, 'agent: can create a template');
with u as (update public.templates set ai_enhance = true where id = tests.rls_id('a.template') returning 1)
select is(count(*)::int, 1, 'agent: can edit a template') from u;
with d as (delete from public.templates where id = tests.rls_id('a.template') returning 1)
select is(count(*)::int, 0, 'agent: cannot delete a template (owners only)') from d;

select is((select count(*)::int from public.automations where tenant_id = tests.rls_id('a.tenant') and kind = 'reengagement'), 1,
  'agent: sees the automations');
select throws_ok($$insert into public.automations (tenant_id, kind) values (tests.rls_id('a.tenant'), 'reminder_2h')$$,
  '42501', 'new row violates row-level security policy for table "automations"',
  'agent: cannot add an automation');
with u as (update public.automations set enabled = true where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'agent: cannot change automations') from u;
with d as (delete from public.automations where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'agent: cannot remove automations') from d;

select is(tests.rls_visible('bulk_sends', array[tests.rls_id('a.bulk')]), 1, 'agent: sees bulk sends');
select throws_ok($$insert into public.bulk_sends (tenant_id, channel, body) values (tests.rls_id('a.tenant'), 'sms', 'x')$$,
  '42501', null, 'agent: cannot insert a bulk send');
with u as (update public.bulk_sends set status = 'canceled' where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'agent: cannot cancel a bulk send (owners only)') from u;
select throws_ok($$delete from public.bulk_sends where id = tests.rls_id('a.bulk')$$,
  '42501', null, 'agent: cannot delete a bulk send');

-- Stranger: owner of B ----------------------------------------------------------------------------
select tests.authenticate_as('rls-b-owner@test.local');

select is(tests.rls_visible('phone_numbers', array[tests.rls_id('a.phone')]), 0, 'stranger: sees none of A''s numbers');
select throws_ok($$insert into public.phone_numbers (tenant_id, e164) values (tests.rls_id('a.tenant'), '+14156669904')$$,
  '42501', null, 'stranger: cannot add a number to A');
with u as (update public.phone_numbers set friendly_name = 'x' where id = tests.rls_id('a.phone') returning 1)
select is(count(*)::int, 0, 'stranger: cannot change A''s number') from u;
with d as (delete from public.phone_numbers where id = tests.rls_id('a.phone') returning 1)
select is(count(*)::int, 0, 'stranger: cannot remove A''s number') from d;

select is(tests.rls_visible('templates', array[tests.rls_id('a.template')]), 0, 'stranger: sees none of A''s templates');
select throws_ok($$insert into public.templates (tenant_id, name, body) values (tests.rls_id('a.tenant'), 'Planted', 'x')$$,
  '42501', null, 'stranger: cannot create a template in A');
with u as (update public.templates set body = 'x' where id = tests.rls_id('a.template') returning 1)
select is(count(*)::int, 0, 'stranger: cannot edit A''s template') from u;
with d as (delete from public.templates where id = tests.rls_id('a.template') returning 1)
select is(count(*)::int, 0, 'stranger: cannot delete A''s template') from d;

select is((select count(*)::int from public.automations where tenant_id = tests.rls_id('a.tenant')), 0,
  'stranger: sees none of A''s automations');
select throws_ok($$insert into public.automations (tenant_id, kind) values (tests.rls_id('a.tenant'), 'reminder_2h')$$,
  '42501', null, 'stranger: cannot add an automation to A');
with u as (update public.automations set enabled = false where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'stranger: cannot change A''s automations') from u;
with d as (delete from public.automations where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'stranger: cannot remove A''s automations') from d;

select is(tests.rls_visible('bulk_sends', array[tests.rls_id('a.bulk')]), 0, 'stranger: sees none of A''s bulk sends');
select throws_ok($$insert into public.bulk_sends (tenant_id, channel, body) values (tests.rls_id('a.tenant'), 'sms', 'x')$$,
  '42501', null, 'stranger: cannot insert a bulk send');
with u as (update public.bulk_sends set status = 'canceled' where tenant_id = tests.rls_id('a.tenant') returning 1)
select is(count(*)::int, 0, 'stranger: cannot cancel A''s bulk sends') from u;
select throws_ok($$delete from public.bulk_sends where id = tests.rls_id('a.bulk')$$,
  '42501', null, 'stranger: cannot delete a bulk send');

-- Anon --------------------------------------------------------------------------------------------
select tests.authenticate_as_anon();

select throws_ok($$select * from public.phone_numbers$$, '42501', null, 'anon: cannot read numbers');
select throws_ok($$insert into public.phone_numbers (tenant_id, e164) values (tests.rls_id('a.tenant'), '+14156669905')$$,
  '42501', null, 'anon: cannot insert numbers');
select throws_ok($$update public.phone_numbers set friendly_name = 'x'$$, '42501', null, 'anon: cannot update numbers');
select throws_ok($$delete from public.phone_numbers$$, '42501', null, 'anon: cannot delete numbers');
select throws_ok($$select * from public.templates$$, '42501', null, 'anon: cannot read templates');
select throws_ok($$insert into public.templates (tenant_id, name, body) values (tests.rls_id('a.tenant'), 'x', 'x')$$,
  '42501', null, 'anon: cannot insert templates');
select throws_ok($$update public.templates set body = 'x'$$, '42501', null, 'anon: cannot update templates');
select throws_ok($$delete from public.templates$$, '42501', null, 'anon: cannot delete templates');
select throws_ok($$select * from public.automations$$, '42501', null, 'anon: cannot read automations');
select throws_ok($$insert into public.automations (tenant_id, kind) values (tests.rls_id('a.tenant'), 'reminder_2h')$$,
  '42501', null, 'anon: cannot insert automations');
select throws_ok($$update public.automations set enabled = false$$, '42501', null, 'anon: cannot update automations');
select throws_ok($$delete from public.automations$$, '42501', null, 'anon: cannot delete automations');
select throws_ok($$select * from public.bulk_sends$$, '42501', null, 'anon: cannot read bulk sends');
select throws_ok($$insert into public.bulk_sends (tenant_id, channel, body) values (tests.rls_id('a.tenant'), 'sms', 'x')$$,
  '42501', null, 'anon: cannot insert bulk sends');
select throws_ok($$update public.bulk_sends set status = 'canceled'$$, '42501', null, 'anon: cannot update bulk sends');
select throws_ok($$delete from public.bulk_sends$$, '42501', null, 'anon: cannot delete bulk sends');

-- Service role ------------------------------------------------------------------------------------
select tests.authenticate_as_service_role();

select is(tests.rls_visible('phone_numbers', array[tests.rls_id('a.phone'), tests.rls_id('b.phone')]), 2,
  'service role: sees every number');
select is(tests.rls_visible('templates', array[tests.rls_id('a.template'), tests.rls_id('b.template')]), 2,
  'service role: sees every template');
select is(tests.rls_visible('automations', array[tests.rls_id('b.automation')]), 1,
  'service role: sees every tenant''s automations');
select is(tests.rls_visible('bulk_sends', array[tests.rls_id('a.bulk'), tests.rls_id('b.bulk')]), 2,
  'service role: sees every bulk send');
with u as (update public.phone_numbers set last_used_at = now() where id = tests.rls_id('b.phone') returning 1)
select is(count(*)::int, 1, 'service role: writes the rotation bookkeeping') from u;

select * from finish();
rollback;
