-- private.normalize_phone() and the contacts trigger that applies it (and tidies email).
begin;
select plan(34);

-- Valid variants ------------------------------------------------------------------------------------
select is(private.normalize_phone('+1 (415) 555-0123'), '+14155550123', 'E.164 with separators');
select is(private.normalize_phone('(415) 555-0123'), '+14155550123', 'US national number gets +1');
select is(private.normalize_phone('415.555.0123'), '+14155550123', 'dots are separators');
select is(private.normalize_phone('1-415-555-0123'), '+14155550123', 'US number with leading 1 and no plus');
select is(private.normalize_phone('  +61 2 9876 5432 '), '+61298765432', 'surrounding spaces are ignored');
select is(private.normalize_phone('0044 20 7946 0958'), '+442079460958', '00 prefix becomes +');
select is(private.normalize_phone('07911 123456', '44'), '+447911123456',
  'national number with trunk 0 in another country');
select is(private.normalize_phone('030 1234567', '49'), '+49301234567', 'German national number');
select is(private.normalize_phone('whatsapp:+14155550123'), '+14155550123', 'Twilio WhatsApp prefix is stripped');
select is(private.normalize_phone('+861012345678'), '+861012345678', 'a long non-NANP number');
select is(private.normalize_phone(''), null, 'blank is no number');
select is(private.normalize_phone(null), null, 'null is no number');

-- Invalid input, with the clear error ---------------------------------------------------------------
select throws_ok($$select private.normalize_phone('12345')$$, '22023', 'invalid phone number: 12345',
  'too short');
select throws_ok($$select private.normalize_phone('+1 415 555 012')$$, '22023',
  'invalid phone number: +1 415 555 012', 'country code 1 with 9 national digits');
select throws_ok($$select private.normalize_phone('+1 415 555 01234')$$, '22023',
  'invalid phone number: +1 415 555 01234', 'country code 1 with 11 national digits');
select throws_ok($$select private.normalize_phone('call me maybe')$$, '22023',
  'invalid phone number: call me maybe', 'letters');
select throws_ok($$select private.normalize_phone('+0123456789')$$, '22023',
  'invalid phone number: +0123456789', 'country code cannot start with 0');
select throws_ok($$select private.normalize_phone('+4412345678901234')$$, '22023',
  'invalid phone number: +4412345678901234', 'more than 15 digits');
select throws_ok($$select private.normalize_phone('++14155550123')$$, '22023',
  'invalid phone number: ++14155550123', 'a doubled plus');
select throws_ok($$select private.normalize_phone('+1415555O123')$$, '22023',
  'invalid phone number: +1415555O123', 'a letter O for a zero');
select throws_ok($$select private.normalize_phone('4155550123', 'x')$$, '22023',
  'invalid default country code: x', 'a bad default country code');

-- The contacts trigger ------------------------------------------------------------------------------
select tests.rls_fixture();
update public.tenants set default_country_code = '44' where id = tests.rls_id('b.tenant');

select tests.authenticate_as('rls-b-owner@test.local');
insert into public.contacts (tenant_id, name, phone, whatsapp, email)
values (tests.rls_id('b.tenant'), 'Norm UK', '07911 123456', 'whatsapp:+1 415 555 0199', '  Jane.Doe@Example.COM ');
select is((select phone from public.contacts where name = 'Norm UK'), '+447911123456',
  'phone uses the tenant''s default country code');
select is((select whatsapp from public.contacts where name = 'Norm UK'), '+14155550199',
  'whatsapp is normalised too');
select is((select email from public.contacts where name = 'Norm UK'), 'jane.doe@example.com',
  'email is trimmed and lower-cased');

insert into public.contacts (tenant_id, name, phone, whatsapp, email, timezone)
values (tests.rls_id('b.tenant'), 'Norm blanks', '  ', '', ' ', '');
select is((select array[phone, whatsapp, email, timezone] from public.contacts where name = 'Norm blanks'),
  array[null, null, null, null]::text[], 'blank strings become null');

update public.contacts set phone = '+44 (79) 1112-3457' where name = 'Norm UK';
select is((select phone from public.contacts where name = 'Norm UK'), '+447911123457',
  'an update is normalised too');

select throws_ok($$insert into public.contacts (tenant_id, name, phone) values (tests.rls_id('b.tenant'), 'Bad', '555')$$,
  '22023', 'invalid phone number: 555', 'an invalid phone is refused with a clear error');
select throws_ok($$update public.contacts set whatsapp = 'not a number' where name = 'Norm UK'$$,
  '22023', 'invalid phone number: not a number', 'an invalid whatsapp on update is refused');
select throws_ok($$insert into public.contacts (tenant_id, name, phone) values (tests.rls_id('b.tenant'), 'Dup', '0044 7911 123457')$$,
  '23505', null, 'the same number written differently is a duplicate');

select tests.authenticate_as('rls-a-agent@test.local');
insert into public.contacts (tenant_id, name, phone) values (tests.rls_id('a.tenant'), 'Norm US', '415 555 0142');
select is((select phone from public.contacts where name = 'Norm US'), '+14155550142',
  'tenant A (default country 1) gets +1');
select throws_ok($$update public.contacts set tenant_id = tests.rls_id('b.tenant') where name = 'Norm US'$$,
  '42501', null, 'the normalisation trigger does not open a way to move contacts');

select tests.authenticate_as_service_role();
insert into public.contacts (tenant_id, name, phone) values (tests.rls_id('b.tenant'), 'Norm service', '020 7946 0000');
select is((select phone from public.contacts where name = 'Norm service'), '+442079460000',
  'service-role writes are normalised too');
select is((select phone from public.contacts where id = tests.rls_id('b.contact')), '+14155550002',
  'an E.164 number is kept as is');

select tests.clear_authentication();
select ok(exists (select 1 from pg_trigger where tgrelid = 'public.contacts'::regclass
  and tgname = 'contacts_a_normalize' and not tgisinternal), 'the trigger is installed');

select * from finish();
rollback;
