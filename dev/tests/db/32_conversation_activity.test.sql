-- The conversation's inbox columns kept by the messages triggers: unread_count, last_inbound_at,
-- last_outbound_at, last_message_at, last_message_preview.
begin;
select plan(20);

create temp table x as select tests.inbound_tenant('act-studio') as tenant_id;
alter table x add column contact_id uuid, add column conversation_id uuid;
update x set contact_id = tests.inbound_contact(tenant_id, 'Ada Lovelace', '+15550003301');
update x set conversation_id = (private.ensure_conversation(tenant_id, contact_id, 'sms')).id;

create function pg_temp.conv() returns public.conversations language sql as $$
  select * from public.conversations where id = (select conversation_id from x)
$$;
create function pg_temp.msg(p_direction text, p_body text, p_status text, p_created timestamptz,
  p_scheduled timestamptz default null, p_media jsonb default '[]') returns uuid language sql as $$
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body,
    status, created_at, scheduled_for, media)
  select tenant_id, conversation_id, contact_id, p_direction, 'sms',
    case when p_direction = 'inbound' then 'inbound' else 'manual' end, p_body, p_status, p_created,
    p_scheduled, p_media
  from x returning id
$$;

select is((pg_temp.conv()).unread_count, 0, 'a new conversation has nothing unread');

select pg_temp.msg('inbound', 'Hi, is Tuesday free?', 'received', now() - interval '10 minutes');
select is((pg_temp.conv()).unread_count, 1, 'an inbound message adds one unread');
select is((pg_temp.conv()).last_inbound_at, now() - interval '10 minutes', 'last_inbound_at is its time');
select is((pg_temp.conv()).last_message_at, now() - interval '10 minutes', 'last_message_at is its time');
select is((pg_temp.conv()).last_message_preview, 'Hi, is Tuesday free?', 'the preview is its text');

select pg_temp.msg('inbound', repeat('word  ', 40), 'received', now() - interval '9 minutes');
select is((pg_temp.conv()).unread_count, 2, 'a second inbound message: two unread');
select is(length((pg_temp.conv()).last_message_preview), 120, 'the preview is cut to 120 characters');
select is(left((pg_temp.conv()).last_message_preview, 10), 'word word ', 'the preview collapses whitespace');

select pg_temp.msg('outbound', 'Yes, 3pm works.', 'queued', now() - interval '5 minutes');
select is((pg_temp.conv()).unread_count, 2, 'an outbound message does not change unread');
select is((pg_temp.conv()).last_outbound_at, now() - interval '5 minutes', 'last_outbound_at is its time');
select is((pg_temp.conv()).last_inbound_at, now() - interval '9 minutes', 'last_inbound_at unchanged by outbound');
select is((pg_temp.conv()).last_message_preview, 'Yes, 3pm works.', 'the preview follows the latest message');

-- A member reads the thread: unread is reset by an update.
update public.conversations set unread_count = 0 where id = (select conversation_id from x);
select is((pg_temp.conv()).unread_count, 0, 'unread can be reset');

-- A late message from the past (sync, slow webhook) counts but does not move the thread back.
select pg_temp.msg('inbound', 'old news', 'received', now() - interval '1 hour');
select is((pg_temp.conv()).unread_count, 1, 'a late inbound message still counts as unread');
select is((pg_temp.conv()).last_message_at, now() - interval '5 minutes', 'last_message_at does not go back');
select is((pg_temp.conv()).last_message_preview, 'Yes, 3pm works.', 'the preview does not go back');

-- A scheduled reminder is not in the thread until it is promoted.
create temp table s as select pg_temp.msg('outbound', 'Reminder for tomorrow', 'scheduled', now(), now() + interval '1 day') as id;
select is((pg_temp.conv()).last_outbound_at, now() - interval '5 minutes', 'a scheduled row does not touch last_outbound_at');
update public.messages set status = 'queued' where id = (select id from s);
select is((pg_temp.conv()).last_message_preview, 'Reminder for tomorrow', 'promoted to queued, it becomes the latest message');
select is((pg_temp.conv()).last_outbound_at, now(), 'and sets last_outbound_at to the promotion time');

-- Media without text.
select pg_temp.msg('inbound', '', 'received', now(), null, '[{"url": "https://media.example/x.jpg"}]');
select is((pg_temp.conv()).last_message_preview, '[attachment]', 'a media-only message previews as [attachment]');

select * from finish();
rollback;
