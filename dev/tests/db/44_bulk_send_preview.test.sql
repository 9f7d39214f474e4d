-- public.bulk_send_preview: the same audience as public.bulk_send (all chosen tags, attributes,
-- consent, address, WhatsApp window), counted without writing, and who may ask.
begin;
select plan(17);

select tests.cron_tenant('preview-shop', 'preview-owner@test.local') as t \gset
select tests.cron_tenant('preview-other', 'preview-stranger@test.local') as t_other \gset
select tests.cron_member(:'t', 'preview-agent@test.local', 'agent') as agent \gset

-- Ann has both tags; Ben only "spring"; Col only "vip"; Dan both but no consent; Eve both, no phone.
select tests.cron_contact(:'t', 'Ann', '+15550440001', true, '{spring,vip}') as ann \gset
select tests.cron_contact(:'t', 'Ben', '+15550440002', true, '{spring}') as ben \gset
select tests.cron_contact(:'t', 'Col', '+15550440003', true, '{vip}') as col \gset
select tests.cron_contact(:'t', 'Dan', '+15550440004', false, '{spring,vip}') as dan \gset
select tests.cron_contact(:'t', 'Eve', null, true, '{spring,vip}', '{"city": "Oslo"}', 'eve@example.com') as eve \gset
select tests.cron_contact(:'t_other', 'Theirs', '+15550440009', true, '{spring,vip}') as theirs \gset

select tests.authenticate_as('preview-owner@test.local');
select is(public.bulk_send_preview(:'t', 'sms', p_tags => '{spring,vip}'),
  '{"targeted": 3, "eligible": 1, "skipped": {"no_promotional_consent": 1, "no_address": 1}}'::jsonb,
  'two tags: only contacts with both are in the audience (any-tag would add Ben and Col)');
select is(public.bulk_send_preview(:'t', 'sms', p_tags => '{spring}') ->> 'targeted', '4',
  'one tag: everyone who has it');
select is(public.bulk_send_preview(:'t', 'sms') ->> 'targeted', '5', 'no tags: every contact');
select is(public.bulk_send_preview(:'t', 'email', p_attributes => '{"city": "Oslo"}'),
  '{"targeted": 1, "eligible": 1, "skipped": {}}'::jsonb, 'attributes narrow it, per channel');
select is(public.bulk_send_preview(:'t', 'whatsapp', p_tags => '{spring,vip}') -> 'skipped' ->> 'whatsapp_window_closed',
  '1', 'WhatsApp free-form text to a contact silent for 24 h is skipped now');
select is(public.bulk_send_preview(:'t', 'whatsapp', p_tags => '{spring,vip}',
    p_scheduled_for => now() + interval '1 day') -> 'skipped' -> 'whatsapp_window_closed',
  null, 'but not when scheduled: the claim judges the window at sending time');
select is((select count(*)::integer from public.bulk_sends where tenant_id = :'t'), 0,
  'a preview writes no campaign');

-- Preview and send agree, for the same arguments.
select public.bulk_send_preview(:'t', 'sms', p_tags => '{spring,vip}') as p \gset
select public.bulk_send(:'t', 'sms', 'Hi {first_name}', p_tags => '{spring,vip}') as s \gset
select is(:'s'::jsonb ->> 'targeted', :'p'::jsonb ->> 'targeted', 'the send targets what the preview counted');
select is(:'s'::jsonb ->> 'queued', :'p'::jsonb ->> 'eligible', 'and queues what it called eligible');
select is(:'s'::jsonb -> 'skipped', :'p'::jsonb -> 'skipped', 'and skips the same, by reason');

-- Validation is bulk_send's.
select throws_ok(format('select public.bulk_send_preview(%L, %L)', :'t', 'fax'), '22023', null,
  'an unknown channel is refused');
select throws_ok(format('select public.bulk_send_preview(%L, %L, p_attributes => %L)', :'t', 'sms', '[]'),
  '22023', 'attributes must be a JSON object', 'attributes must be an object');

-- Who may ask: as for bulk_send, owners of the tenant and the service role.
select tests.authenticate_as('preview-agent@test.local');
select throws_ok(format('select public.bulk_send_preview(%L, %L)', :'t', 'sms'), '42501',
  'only an owner of this tenant can send a bulk message', 'an agent cannot preview a campaign');
select tests.authenticate_as('preview-stranger@test.local');
select throws_ok(format('select public.bulk_send_preview(%L, %L)', :'t', 'sms'), '42501',
  'only an owner of this tenant can send a bulk message', 'an owner of another business cannot');
select is(public.bulk_send_preview(:'t_other', 'sms', p_tags => '{spring,vip}') ->> 'targeted', '1',
  'and sees only their own contacts in theirs');
select tests.authenticate_as_anon();
select throws_ok(format('select public.bulk_send_preview(%L, %L)', :'t', 'sms'), '42501', null,
  'anon cannot call it');
select tests.authenticate_as_service_role();
select is(public.bulk_send_preview(:'t', 'sms', p_tags => '{spring,vip}') ->> 'targeted', '3',
  'the service role can');

select * from finish();
rollback;
