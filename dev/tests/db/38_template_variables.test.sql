-- The template variable catalog and the RPCs the dashboard asks: template_variables (the list),
-- template_check (the editor), template_fill (a template put into a reply), and who may call them.
begin;
select plan(19);

select tests.cron_tenant('tplvar-shop', 'tplvar-owner@test.local') as t \gset
select tests.cron_tenant('tplvar-other', 'tplvar-stranger@test.local') as t_other \gset
select tests.cron_member(:'t', 'tplvar-agent@test.local', 'agent') as agent \gset
select tests.cron_contact(:'t', 'Maya Lind', '+15550380001', true) as maya \gset
select tests.cron_contact(:'t', '', '+15550380002', true) as nameless \gset
insert into public.templates (tenant_id, name, body, subject)
values (:'t', 'Visit', 'Hi {first_name}, {business_name} sees you at {time}.', 'About {service}')
returning id as tpl \gset
insert into public.templates (tenant_id, name, body) values (:'t_other', 'Theirs', 'Hi {first_name}')
returning id as other_tpl \gset

-- One list.
select is((select array_agg(name) from private.template_variable_catalog()),
  private.template_variable_names(), 'the names the save check allows are the catalog''s');
select is((select count(*)::integer from private.template_variable_catalog()
  where source not in ('contact', 'appointment', 'order') or sample is null or sample = ''), 0,
  'every variable has a source and a sample');
select lives_ok(format('insert into public.templates (tenant_id, name, body) values (%L, %L, %L)', :'t',
  'All', (select string_agg('{' || name || '}', ' ') from private.template_variable_catalog())),
  'a template using every catalog variable is saved');
select throws_ok(format('insert into public.templates (tenant_id, name, body) values (%L, %L, %L)', :'t',
  'Typo', 'Hi {frist_name}'), '22023', null, 'a variable outside the catalog is refused on save');

select tests.authenticate_as('tplvar-owner@test.local');
select is((select count(*)::integer from public.template_variables()),
  (select count(*)::integer from private.template_variable_catalog()), 'template_variables lists the catalog');
select is(public.template_check('Hi {first_name}, {oops} at {time} { not } {{x'),
  '{"variables": [{"name": "first_name", "known": true}, {"name": "oops", "known": false},
    {"name": "time", "known": true}], "unknown": ["oops"], "preview": null}'::jsonb,
  'template_check: the variables used, the unknown one, no preview while it is unknown');
select is(public.template_check('Hi {first_name} at {time}') ->> 'preview', 'Hi Maria at 3:30 PM',
  'a known text is rendered with the samples');
select is(public.template_fill(:'tpl', :'maya'),
  '{"body": "Hi Maya, Tplvar Shop sees you at {time}.", "subject": "About {service}"}'::jsonb,
  'template_fill: the contact''s variables filled, the appointment''s left to complete');
select is(public.template_fill(:'tpl', :'nameless') ->> 'body', 'Hi there, Tplvar Shop sees you at {time}.',
  'a contact without a name is "there", as at send time');
select throws_ok(format('select public.template_fill(%L, %L)', :'other_tpl', :'maya'), 'P0002',
  'no such template', 'another business''s template cannot be filled for our contact');

select tests.authenticate_as('tplvar-agent@test.local');
select is(public.template_fill(:'tpl', :'maya') ->> 'body', 'Hi Maya, Tplvar Shop sees you at {time}.',
  'an agent of the business can fill a template');
select is(public.template_check('{date}') ->> 'preview', 'Tue, May 14', 'and check a text');

select tests.authenticate_as('tplvar-stranger@test.local');
select throws_ok(format('select public.template_fill(%L, %L)', :'tpl', :'maya'), 'P0002',
  'no such contact', 'an owner of another business cannot fill for our contact');
select throws_ok(format('select public.template_fill(%L, %L)', :'other_tpl', :'maya'), 'P0002',
  'no such contact', 'not even with their own template');
select is((select count(*)::integer from public.template_variables()) > 0, true,
  'the catalog is the same for everyone signed in');

select tests.authenticate_as_anon();
select throws_ok('select public.template_variables()', '42501', null, 'anon cannot list variables');
select throws_ok($$select public.template_check('x')$$, '42501', null, 'or check a text');
select throws_ok(format('select public.template_fill(%L, %L)', :'tpl', :'maya'), '42501', null,
  'or fill a template');

select tests.authenticate_as_service_role();
select is(public.template_fill(:'tpl', :'maya') ->> 'subject', 'About {service}', 'the service role can fill');

select * from finish();
rollback;
