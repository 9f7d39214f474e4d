-- The sending rules at enqueue: opt-out per channel (transactional email excepted), reminder and
-- promotional consent, missing address, the WhatsApp 24 h window and approved templates, and quiet
-- hours (pure function at fixed instants, and the trigger at now() in the contact's vs the
-- tenant's timezone).
begin;
select plan(50);

select tests.ob_tenant('ob-rules') as tenant \gset

-- contact_block_reason ----------------------------------------------------------------------------
select tests.ob_contact(:'tenant', p_email => 'out-sms@example.com',
  p_opted_out_channels => '{sms}') as c_sms_out \gset
select tests.ob_contact(:'tenant', p_email => 'out-email@example.com',
  p_opted_out_channels => '{email}') as c_email_out \gset
select tests.ob_contact(:'tenant', p_reminder_consent => false, p_promotional_consent => false)
  as c_noconsent \gset
select tests.ob_contact(:'tenant', p_phone => null, p_email => null) as c_noaddr \gset
select tests.ob_contact(:'tenant') as c_ok \gset

create function pg_temp.reason(p_contact uuid, p_channel text, p_kind text) returns text
language sql as $$
  select private.contact_block_reason(c, p_channel, p_kind) from public.contacts c where c.id = p_contact
$$;

select is(pg_temp.reason(:'c_sms_out', 'sms', 'manual'), 'opted_out', 'opted out of sms: no sms');
select is(pg_temp.reason(:'c_sms_out', 'sms', 'transactional'), 'opted_out',
  'opted out of sms: not even transactional sms');
select is(pg_temp.reason(:'c_sms_out', 'email', 'bulk'), null,
  'opted out of sms: email still allowed (per channel)');
select is(pg_temp.reason(:'c_sms_out', 'whatsapp', 'manual'), null,
  'opted out of sms: whatsapp still allowed (per channel)');
select is(pg_temp.reason(:'c_email_out', 'email', 'transactional'), null,
  'opted out of email: transactional email still allowed');
select is(pg_temp.reason(:'c_email_out', 'email', 'manual'), 'opted_out',
  'opted out of email: other email is not');
select is(pg_temp.reason(:'c_noconsent', 'sms', 'reminder'), 'no_reminder_consent',
  'a reminder needs reminder_consent');
select is(pg_temp.reason(:'c_ok', 'sms', 'reminder'), null, 'a reminder with consent may go');
select is(pg_temp.reason(:'c_noconsent', 'sms', 'reengagement'), 'no_promotional_consent',
  're-engagement needs promotional_consent');
select is(pg_temp.reason(:'c_noconsent', 'sms', 'bulk'), 'no_promotional_consent',
  'bulk needs promotional_consent');
select is(pg_temp.reason(:'c_ok', 'sms', 'bulk'), null, 'bulk with promotional consent may go');
select is(pg_temp.reason(:'c_noconsent', 'sms', 'transactional'), null,
  'transactional and manual need no consent flag');
select is(pg_temp.reason(:'c_noaddr', 'sms', 'manual'), 'no_address', 'no phone: no sms');
select is(pg_temp.reason(:'c_ok', 'email', 'manual'), 'no_address', 'no email: no email');
select is(pg_temp.reason(:'c_ok', 'whatsapp', 'manual'), null,
  'whatsapp falls back to the phone number');

-- The enqueue trigger stores blocked messages (never drops them) ------------------------------------
select tests.ob_conversation(:'c_sms_out', 'sms') as conv_sms_out \gset
select tests.ob_conversation(:'c_email_out', 'email') as conv_email_out \gset
select tests.ob_conversation(:'c_noconsent', 'sms') as conv_noconsent \gset
select tests.ob_conversation(:'c_noaddr', 'sms') as conv_noaddr \gset
select tests.ob_conversation(:'c_ok', 'sms') as conv_ok \gset

select * from tests.ob_send(:'conv_sms_out') \gset m_
select is(array[:'m_status', :'m_error_code'], array['canceled', 'opted_out'],
  'a message to an opted-out contact is stored canceled with error_code opted_out');
select is(:'m_error_message'::text, 'The contact opted out of sms messages.', '… and a human error_message');

select * from tests.ob_send(:'conv_email_out', 'transactional') \gset m_
select is(array[:'m_status', :'m_next_attempt_at'::timestamptz::text], array['queued', now()::text],
  'transactional email to a contact opted out of email is queued, due now');
select * from tests.ob_send(:'conv_email_out', 'manual') \gset m_
select is(:'m_status'::text, 'canceled', 'a manual email to the same contact is not');

select * from tests.ob_send(:'conv_noconsent', 'reminder') \gset m_
select is(array[:'m_status', :'m_error_code'], array['canceled', 'no_reminder_consent'],
  'a reminder without consent is canceled with no_reminder_consent');
select * from tests.ob_send(:'conv_noconsent', 'reengagement') \gset m_
select is(array[:'m_status', :'m_error_code'], array['canceled', 'no_promotional_consent'],
  're-engagement without promotional consent is canceled');
select * from tests.ob_send(:'conv_noconsent', 'bulk') \gset m_
select is(array[:'m_status', :'m_error_code'], array['canceled', 'no_promotional_consent'],
  'bulk without promotional consent is canceled');
select * from tests.ob_send(:'conv_noconsent', 'reminder', 'scheduled', p_scheduled_for => now() + interval '1 day') \gset m_
select is(array[:'m_status', :'m_error_code'], array['canceled', 'no_reminder_consent'],
  'a scheduled reminder is checked at enqueue too');

select * from tests.ob_send(:'conv_noaddr') \gset m_
select is(array[:'m_status', :'m_error_code', :'m_error_message'],
  array['failed', 'no_address', 'The contact has no phone number.'],
  'no phone number: failed with no_address');
select isnt(:'m_failed_at'::timestamptz, null, '… and failed_at set');

select * from tests.ob_send(:'conv_ok') \gset m_
select is(array[:'m_status', :'m_to_address'],
  array['queued', (select phone from public.contacts where id = :'c_ok')],
  'an allowed message is queued with to_address from the contact');

select tests.ob_tenant('ob-rules-other') as other_tenant \gset
select throws_ok(
  format($$insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
    kind, status) values (%L, %L, %L, 'outbound', 'sms', 'manual', 'queued')$$,
    :'other_tenant', :'conv_ok', :'c_ok'),
  '23514', null,
  'a message cannot point at another tenant''s conversation'
);

-- WhatsApp 24 h window -------------------------------------------------------------------------------
select tests.ob_contact(:'tenant', p_whatsapp => '+14155550999') as c_wa \gset
select tests.ob_conversation(:'c_wa', 'whatsapp', now() - interval '23 hours') as conv_wa_open \gset
select * from tests.ob_send(:'conv_wa_open') \gset m_
select is(array[:'m_status', :'m_to_address'], array['queued', '+14155550999'],
  'WhatsApp free-form inside 24 h of the last inbound message is queued');

update public.conversations set last_inbound_at = now() - interval '25 hours' where id = :'conv_wa_open';
select * from tests.ob_send(:'conv_wa_open') \gset m_
select is(array[:'m_status', :'m_error_code'], array['failed', 'whatsapp_window_closed'],
  'WhatsApp free-form after 24 h fails with whatsapp_window_closed');
select matches(:'m_error_message'::text, '24 hours.*approved WhatsApp template', '… with a clear error_message');

insert into public.templates (tenant_id, name, body, channel, whatsapp_content_sid, whatsapp_approved)
values (:'tenant', 'ob approved', 'Hi there', 'whatsapp', 'HX0123456789abcdef', true)
returning id as tpl_ok \gset
insert into public.templates (tenant_id, name, body, channel, whatsapp_content_sid, whatsapp_approved)
values (:'tenant', 'ob pending', 'Hi there', 'whatsapp', 'HXfedcba9876543210', false)
returning id as tpl_pending \gset
select * from tests.ob_send(:'conv_wa_open', 'manual', 'queued', :'tpl_ok') \gset m_
select is(:'m_status'::text, 'queued', 'an approved template may go outside the 24 h window');
select * from tests.ob_send(:'conv_wa_open', 'manual', 'queued', :'tpl_pending') \gset m_
select is(:'m_error_code'::text, 'whatsapp_window_closed', 'a template not yet approved may not');

select tests.ob_conversation(tests.ob_contact(:'tenant'), 'whatsapp', null) as conv_wa_never \gset
select * from tests.ob_send(:'conv_wa_never', 'transactional') \gset m_
select is(:'m_error_code'::text, 'whatsapp_window_closed',
  'a customer who never wrote gets no free-form WhatsApp, transactional included');
select * from tests.ob_send(:'conv_wa_never', 'reminder', 'scheduled', p_scheduled_for => now() + interval '1 day') \gset m_
select is(:'m_status'::text, 'scheduled',
  'a scheduled WhatsApp row is judged at its sending time, not at enqueue');

-- Quiet hours as a pure function ------------------------------------------------------------------
select is(private.quiet_hours_next_allowed('2026-01-10 22:30Z', 'UTC', '21:00', '08:00'),
  '2026-01-11 08:00Z'::timestamptz, 'window across midnight: 22:30 goes at 08:00 the next day');
select is(private.quiet_hours_next_allowed('2026-01-10 03:00Z', 'UTC', '21:00', '08:00'),
  '2026-01-10 08:00Z'::timestamptz, 'window across midnight: 03:00 goes at 08:00 the same day');
select is(private.quiet_hours_next_allowed('2026-01-10 21:00Z', 'UTC', '21:00', '08:00'),
  '2026-01-11 08:00Z'::timestamptz, 'the start minute is quiet');
select is(private.quiet_hours_next_allowed('2026-01-10 08:00Z', 'UTC', '21:00', '08:00'),
  '2026-01-10 08:00Z'::timestamptz, 'the end minute is allowed');
select is(private.quiet_hours_next_allowed('2026-01-10 20:59:59Z', 'UTC', '21:00', '08:00'),
  '2026-01-10 20:59:59Z'::timestamptz, 'daytime is not deferred');
select is(private.quiet_hours_next_allowed('2026-01-10 12:00Z', 'America/New_York', '21:00', '08:00'),
  '2026-01-10 13:00Z'::timestamptz, '07:00 in New York goes at 08:00 New York time');
select is(private.quiet_hours_next_allowed('2026-01-10 13:00Z', 'UTC', '12:00', '14:00'),
  '2026-01-10 14:00Z'::timestamptz, 'a same-day window (12:00-14:00) defers to its end');
select is(private.quiet_hours_next_allowed('2026-01-10 03:00Z', 'UTC', '00:00', '00:00'),
  '2026-01-10 03:00Z'::timestamptz, 'start = end: no quiet hours');

-- Contact timezone first, else the tenant's (14:00 UTC is 23:00 in Tokyo).
select tests.ob_tenant('ob-rules-qh', 'UTC', '21:00', '08:00') as t_qh \gset
select tests.ob_contact(:'t_qh', p_timezone => 'Asia/Tokyo') as c_tokyo \gset
select tests.ob_contact(:'t_qh') as c_notz \gset
select tests.ob_contact(:'t_qh', p_timezone => 'Mars/Olympus_Mons') as c_badtz \gset
create function pg_temp.not_before(p_contact uuid, p_kind text, p_at timestamptz) returns timestamptz
language sql as $$
  select private.send_not_before(p_kind, c, t, p_at)
  from public.contacts c join public.tenants t on t.id = c.tenant_id where c.id = p_contact
$$;
select is(pg_temp.not_before(:'c_tokyo', 'reminder', '2026-01-10 14:00Z'),
  '2026-01-10 23:00Z'::timestamptz, 'the contact''s timezone decides (23:00 in Tokyo: wait for 08:00 Tokyo)');
select is(pg_temp.not_before(:'c_notz', 'reminder', '2026-01-10 14:00Z'),
  '2026-01-10 14:00Z'::timestamptz, 'without one, the tenant''s (14:00 UTC: allowed)');
select is(pg_temp.not_before(:'c_badtz', 'reminder', '2026-01-10 22:00Z'),
  '2026-01-11 08:00Z'::timestamptz, 'an unknown contact timezone falls back to the tenant''s');
select is(pg_temp.not_before(:'c_tokyo', 'transactional', '2026-01-10 14:00Z'),
  '2026-01-10 14:00Z'::timestamptz, 'transactional messages are exempt');

-- The trigger at now(): a quiet window from an hour ago to an hour ahead in Kolkata (no DST), which
-- never covers now in UTC.
select tests.ob_tenant('ob-rules-now', 'UTC',
  ((now() at time zone 'Asia/Kolkata') - interval '1 hour')::time,
  ((now() at time zone 'Asia/Kolkata') + interval '1 hour')::time) as t_now \gset
select tests.ob_conversation(tests.ob_contact(:'t_now', p_timezone => 'Asia/Kolkata')) as conv_kolkata \gset
select tests.ob_conversation(tests.ob_contact(:'t_now')) as conv_utc \gset
select * from tests.ob_send(:'conv_kolkata', 'reminder') \gset m_
select is(array[:'m_status', :'m_next_attempt_at'::timestamptz::text],
  array['queued', (now() + interval '1 hour')::text],
  'a reminder inside the contact''s quiet hours stays queued until they end');
select * from tests.ob_send(:'conv_utc', 'bulk') \gset m_
select is(:'m_next_attempt_at'::timestamptz, now(),
  'the same tenant''s contact without a timezone is outside them (tenant timezone UTC)');
select * from tests.ob_send(:'conv_kolkata', 'transactional') \gset m_
select is(:'m_next_attempt_at'::timestamptz, now(), 'transactional is not deferred');
select * from tests.ob_send(:'conv_kolkata', 'manual') \gset m_
select is(:'m_next_attempt_at'::timestamptz, now(), 'a manual reply is not deferred');

select * from finish();
rollback;
