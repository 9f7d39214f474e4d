-- Demo data for `deno task dev` and the end-to-end tests. Applied once per database by
-- `supabase db push --include-seed` (tracked in supabase_migrations.seed_files), after every
-- migration, so every business trigger fires as in production:
--   * a new tenant gets its default templates and automations;
--   * contacts' phone numbers are normalised;
--   * messages keep their conversation's last_* columns and unread count current;
--   * paid/fulfilled/payment_failed orders and upcoming appointments enqueue their notifications
--     (and the appointments their 24 h / 2 h reminders as scheduled rows). We accept those
--     messages and, at the end, mark the ones that went "now" as delivered, as if the dispatcher
--     had sent them when the booking was made.
--
-- Logins (password switchboard-demo for all three):
--   demo@switchboard.local   owner of Bloom Salon (about 50 contacts, SMS, WhatsApp and email)
--   agent@switchboard.local  agent of Bloom Salon
--   other@switchboard.local  owner of Harbor Books, a second tenant that shows isolation
--
-- Sending (migrations/20261202300000_tenant_sending_policy.sql): Bloom Salon is provisioned by the
-- operator, so it sends through the platform's Twilio account, which `task dev` points at its
-- simulator (nothing real leaves the machine), and its email domain is verified. Harbor Books is a
-- self-serve business that has not connected its own Twilio account: it is in test mode (its
-- history was made before; new SMS/WhatsApp are failed with the test-mode reason), which is what
-- a fresh sign-up sees too.

-- Users, as GoTrue stores them (confirmed email, an email identity, empty token strings: GoTrue
-- reads those columns as non-null strings).
insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at, confirmation_token, recovery_token,
  email_change_token_new, email_change)
select '00000000-0000-0000-0000-000000000000', u.id, 'authenticated', 'authenticated', u.email,
  extensions.crypt('switchboard-demo', extensions.gen_salt('bf')), now(),
  '{"provider": "email", "providers": ["email"]}', jsonb_build_object('name', u.name),
  now() - interval '60 days', now(), '', '', '', ''
from (values
  ('5e1d0000-0000-4000-8000-000000000001'::uuid, 'demo@switchboard.local', 'Maya Bloom'),
  ('5e1d0000-0000-4000-8000-000000000002'::uuid, 'agent@switchboard.local', 'Sam Rivers'),
  ('5e1d0000-0000-4000-8000-000000000003'::uuid, 'other@switchboard.local', 'Olive Harbor')
) as u (id, email, name);

insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at,
  created_at, updated_at)
select u.id::text, u.id,
  jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true), 'email',
  now(), now(), now()
from auth.users u
where u.email in ('demo@switchboard.local', 'agent@switchboard.local', 'other@switchboard.local');

-- Tenants, members, numbers ---------------------------------------------------------------------
insert into private.settings (key, value) values ('platform_email_address', 'no-reply@switchboard.local')
on conflict (key) do nothing;

insert into public.tenants (id, name, slug, timezone, services, help_text, email_from, created_at)
values
  ('5e1d0000-0000-4000-8000-0000000000a1', 'Bloom Salon', 'bloom-salon', 'America/New_York',
    'Haircut $45, Color $120, Balayage from $180, Blowout $40, Bridal styling on request',
    'Bloom Salon: call (555) 123-0001 or reply here. Reply STOP to unsubscribe.',
    'hello@bloomsalon.example', now() - interval '60 days'),
  ('5e1d0000-0000-4000-8000-0000000000b1', 'Harbor Books', 'harbor-books', 'Europe/London',
    'New and used books, special orders', default, null, now() - interval '45 days');

update public.tenants set platform_provisioned = true, allowed_country_codes = '{1}'
where id = '5e1d0000-0000-4000-8000-0000000000a1';
update public.tenants set allowed_country_codes = '{44,1}'
where id = '5e1d0000-0000-4000-8000-0000000000b1';
insert into public.tenant_email_domains (tenant_id, domain, verified_at) values
  ('5e1d0000-0000-4000-8000-0000000000a1', 'bloomsalon.example', now() - interval '60 days');

insert into public.tenant_members (tenant_id, user_id, role) values
  ('5e1d0000-0000-4000-8000-0000000000a1', '5e1d0000-0000-4000-8000-000000000001', 'owner'),
  ('5e1d0000-0000-4000-8000-0000000000a1', '5e1d0000-0000-4000-8000-000000000002', 'agent'),
  ('5e1d0000-0000-4000-8000-0000000000b1', '5e1d0000-0000-4000-8000-000000000003', 'owner');

insert into public.phone_numbers (tenant_id, e164, friendly_name, sms, mms, whatsapp, voice) values
  ('5e1d0000-0000-4000-8000-0000000000a1', '+15551230001', 'Bloom main line', true, true, true, true),
  ('5e1d0000-0000-4000-8000-0000000000a1', '+15551230002', 'Bloom reminders', true, false, false, false),
  ('5e1d0000-0000-4000-8000-0000000000b1', '+15559870001', 'Harbor Books', true, false, false, false);

-- Bloom's own templates next to the defaults.
insert into public.templates (tenant_id, name, category, channel, subject, body) values
  ('5e1d0000-0000-4000-8000-0000000000a1', 'Holiday hours', 'general', 'any', 'Holiday hours',
    'Hi {first_name}, {business_name} is closed Thursday and Friday for the holiday. Book online anytime!'),
  ('5e1d0000-0000-4000-8000-0000000000a1', 'Thanks for visiting', 'marketing', 'any', 'Thank you!',
    'Thanks for visiting {business_name}, {first_name}! Show this message for 10% off your next {service}.'),
  ('5e1d0000-0000-4000-8000-0000000000a1', 'Running late', 'support', 'sms', null,
    'Hi {first_name}, your stylist is running about 10 minutes late today. Sorry for the wait!'),
  ('5e1d0000-0000-4000-8000-0000000000b1', 'Special order arrived', 'order', 'any', 'Your book is here',
    'Hi {first_name}, your special order {order_number} is ready to pick up at {business_name}.');

-- Contacts, conversations and history -------------------------------------------------------------
do $$
declare
  v_bloom constant uuid := '5e1d0000-0000-4000-8000-0000000000a1';
  v_harbor constant uuid := '5e1d0000-0000-4000-8000-0000000000b1';
  v_owner constant uuid := '5e1d0000-0000-4000-8000-000000000001';
  v_agent constant uuid := '5e1d0000-0000-4000-8000-000000000002';
  v_first text[] := array['Ava', 'Liam', 'Sofia', 'Noah', 'Mia', 'Ethan', 'Isla', 'Lucas', 'Chloe',
    'Mateo', 'Zoe', 'Omar', 'Priya', 'Diego', 'Hana', 'Leo', 'Grace', 'Ravi', 'Nora', 'Kai', 'Elena',
    'Jonah', 'Amara', 'Felix', 'Lena', 'Theo', 'Maya', 'Owen', 'Iris', 'Jude', 'Aria', 'Malik',
    'Julia', 'Sam', 'Freya', 'Hugo', 'Lila', 'Ezra', 'Nina', 'Caleb', 'Rosa', 'Ivan', 'Tess',
    'Arlo', 'June', 'Milo', 'Vera', 'Ari', 'Cora', 'Remy'];
  v_last text[] := array['Martinez', 'Chen', 'Rossi', 'Okafor', 'Nguyen', 'Kowalski', 'Haddad',
    'Silva', 'Dubois', 'Kim'];
  v_services text[] := array['Haircut', 'Color', 'Balayage', 'Blowout', 'Haircut and color',
    'Keratin treatment'];
  v_stylists text[] := array['Maya', 'Jordan', 'Alex', 'Priya'];
  v_in text[] := array[
    'Hi! Do you have any openings this Saturday?',
    'Can I move my appointment to 3pm?',
    'How much is a balayage for shoulder-length hair?',
    'Do you sell the shampoo you used last time?',
    'Running 10 min late, sorry!',
    'Is there parking nearby?',
    'Could I book a cut and color for next week?',
    'Thank you so much, I love it!'];
  v_out text[] := array[
    'Hi {name}! We have 10:30 and 2:00 open on Saturday. Which works for you?',
    'No problem, you are moved to 3pm. See you then!',
    'Balayage starts at $180 and depends on length; shoulder length is usually $200.',
    'Yes! We have it in stock for $28, we can set one aside for you.',
    'Thanks for letting us know, we will see you soon!',
    'There is free parking behind the building on Elm Street.',
    'Booked! We will send you a reminder the day before.',
    'So happy you love it! Tag us in your photos.'];
  v_contact uuid;
  v_conv uuid;
  v_name text;
  v_phone text;
  v_email text;
  v_channel text;
  v_last_at timestamptz;
  v_at timestamptz;
  v_n integer;
  v_status text;
  v_bulk uuid;
  i integer;
  k integer;
begin
  -- A past campaign, for the analytics page.
  insert into public.bulk_sends (tenant_id, name, channel, body, audience, status, targeted, queued,
    skipped, created_by, created_at)
  values (v_bloom, 'October color special', 'sms',
    'Hi {first_name}, 15% off all color services at {business_name} this month!',
    '{"tags": ["color"], "attributes": {}}', 'done', 17, 12,
    '{"no_promotional_consent": 4, "opted_out": 1}', v_owner, now() - interval '20 days')
  returning id into v_bulk;

  for i in 1..50 loop
    v_name := v_first[i] || ' ' || v_last[1 + (i * 7) % 10];
    v_phone := '+1555010' || lpad(i::text, 4, '0');
    v_email := case when i % 2 = 0 then lower(v_first[i]) || '.' || lower(v_last[1 + (i * 7) % 10])
      || '@example.com' end;
    insert into public.contacts (tenant_id, name, phone, email, whatsapp, timezone, preferred_channel,
      reminder_consent, promotional_consent, opted_out_at, opted_out_channels, tags, attributes,
      created_at)
    values (v_bloom, v_name, v_phone, v_email,
      case when i % 4 = 0 then v_phone end,
      case when i % 9 = 0 then 'America/Los_Angeles' end,
      case when i % 4 = 0 then 'whatsapp' when i % 10 = 6 then 'email' else 'sms' end,
      i % 10 <> 0,
      i % 3 <> 0,
      case when i in (7, 23) then now() - interval '12 days' end,
      case when i in (7, 23) then '{sms}'::text[] else '{}' end,
      array_remove(array[
        case when i % 5 = 0 then 'vip' end,
        case when i % 3 = 0 then 'color' end,
        case when i > 40 then 'new' end,
        case when i % 11 = 0 then 'bridal' end,
        case when i % 5 <> 0 and i <= 40 then 'regular' end], null),
      jsonb_build_object('stylist', v_stylists[1 + i % 4], 'visits', (i * 3) % 17),
      now() - make_interval(days => 60 - i))
    returning id into v_contact;

    -- Past visits (completed appointments send nothing).
    if i <= 30 then
      insert into public.appointments (tenant_id, contact_id, service, starts_at, duration_minutes,
        status, created_at)
      values (v_bloom, v_contact, v_services[1 + i % 6],
        date_trunc('day', now()) - make_interval(days => 10 + i) + interval '15 hours',
        case when i % 6 in (1, 4) then 90 else 45 end,
        case when i % 13 = 0 then 'no_show' else 'completed' end,
        now() - make_interval(days => 20 + i));
    end if;

    -- Conversations for the first 40 contacts: their preferred channel (SMS for email-preferring
    -- contacts without an address), plus email for some who have one.
    continue when i > 40;
    foreach v_channel in array array_remove(array[
      case when i % 4 = 0 then 'whatsapp' when i % 10 = 6 and v_email is not null then 'email' else 'sms' end,
      case when i % 5 = 0 and v_email is not null then 'email' end], null)
    loop
      insert into public.conversations (tenant_id, contact_id, channel, subject, created_at)
      values (v_bloom, v_contact, v_channel,
        case when v_channel = 'email' then 'Question about my appointment' end,
        now() - make_interval(days => 40))
      returning id into v_conv;

      -- When the thread last moved: recent for most, 8-12 days for some (re-engagement
      -- candidates), 16-30 days for others (dormant).
      v_last_at := case
        when i <= 25 then now() - make_interval(hours => i * 5 + 1)
        when i <= 32 then now() - make_interval(days => 8 + i % 5, hours => 3)
        else now() - make_interval(days => 16 + i % 15)
      end;
      v_n := 2 + i % 4;
      for k in reverse v_n..1 loop
        v_at := v_last_at - make_interval(hours => (k - 1) * 20, mins => 7);
        -- Inbound question ...
        insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
          kind, body, subject, status, from_address, to_address, provider_sid, created_at)
        values (v_bloom, v_conv, v_contact, 'inbound', v_channel, 'inbound',
          v_in[1 + (i + k) % 8],
          case when v_channel = 'email' then 'Re: Question about my appointment' end,
          'received',
          case when v_channel = 'email' then v_email else v_phone end,
          case when v_channel = 'email' then 'hello@bloomsalon.example' else '+15551230001' end,
          case when v_channel <> 'email' then 'SMseed' || md5(v_conv::text || k || 'in') end,
          v_at);
        -- ... and the answer, except when the contact wrote last (unread in the inbox).
        continue when k = 1 and i % 3 = 1 and i <= 25;
        v_status := case
          when v_channel = 'email' then 'sent'
          when (i + k) % 17 = 0 then 'failed'
          when (i + k) % 19 = 0 then 'undelivered'
          when v_channel = 'whatsapp' then 'read'
          else 'delivered' end;
        insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
          kind, body, subject, status, from_address, to_address, provider_sid, error_code,
          error_message, sent_by, attempts, segments, created_at, sent_at, delivered_at, read_at,
          failed_at)
        values (v_bloom, v_conv, v_contact, 'outbound', v_channel,
          case when k % 4 = 3 then 'auto_reply' else 'manual' end,
          replace(v_out[1 + (i + k) % 8], '{name}', v_first[i]),
          case when v_channel = 'email' then 'Re: Question about my appointment' end,
          v_status,
          case when v_channel = 'email' then 'hello@bloomsalon.example' else '+15551230001' end,
          case when v_channel = 'email' then v_email else v_phone end,
          case when v_status <> 'failed' then 'SMseed' || md5(v_conv::text || k || 'out') end,
          case v_status when 'failed' then '30003' when 'undelivered' then '30005' end,
          case v_status when 'failed' then 'Unreachable destination handset'
            when 'undelivered' then 'Unknown destination handset' end,
          case when k % 4 = 3 then null when i % 2 = 0 then v_owner else v_agent end,
          1, case when v_channel = 'email' then null else 1 end,
          v_at + make_interval(mins => 2 + (i * k) % 25),
          case when v_status <> 'failed' then v_at + make_interval(mins => 2 + (i * k) % 25) end,
          case when v_status in ('delivered', 'read') then v_at + make_interval(mins => 3 + (i * k) % 25) end,
          case when v_status = 'read' then v_at + make_interval(mins => 9 + (i * k) % 25) end,
          case when v_status in ('failed', 'undelivered') then v_at + make_interval(mins => 3) end);
      end loop;

      -- The October campaign reached the color clients who had agreed to promotions.
      if v_channel = 'sms' and i % 3 = 0 and i not in (7, 23) then
        insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel,
          kind, body, status, from_address, to_address, provider_sid, bulk_send_id, sent_by,
          attempts, segments, created_at, sent_at, delivered_at, error_code, failed_at)
        values (v_bloom, v_conv, v_contact, 'outbound', 'sms', 'bulk',
          'Hi ' || v_first[i] || ', 15% off all color services at Bloom Salon this month!',
          case when i % 9 = 0 then 'undelivered' else 'delivered' end,
          '+15551230002', v_phone, 'SMseed' || md5(v_conv::text || 'bulk'), v_bulk, v_owner, 1, 1,
          now() - interval '20 days', now() - interval '20 days',
          case when i % 9 <> 0 then now() - interval '20 days' + interval '4 seconds' end,
          case when i % 9 = 0 then '30005' end,
          case when i % 9 = 0 then now() - interval '20 days' + interval '5 seconds' end);
      end if;
    end loop;
  end loop;

  -- Read what was answered; what the contact wrote last stays unread.
  update public.conversations c
  set unread_count = case when c.last_inbound_at >= coalesce(c.last_outbound_at, '-infinity')
    then 1 else 0 end
  where c.tenant_id = v_bloom;
  -- Threads idle 14 days are dormant (what the cron job would do on its first tick).
  update public.conversations c set status = 'dormant'
  where c.tenant_id = v_bloom and c.last_message_at < now() - interval '14 days';
  -- One conversation needs a human, one is archived.
  update public.conversations c set needs_human = true,
    needs_human_reason = 'Asked about a refund'
  where c.id = (select id from public.conversations where tenant_id = v_bloom and channel = 'sms'
    order by last_message_at desc limit 1 offset 2);

  -- A message scheduled by the owner for tomorrow morning.
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body,
    status, scheduled_for, sent_by)
  select c.tenant_id, c.id, c.contact_id, 'outbound', c.channel, 'manual',
    'Good morning! Just checking you are still good for your appointment this week?',
    'scheduled', date_trunc('day', now()) + interval '1 day 14 hours', v_owner
  from public.conversations c
  where c.tenant_id = v_bloom and c.channel = 'sms' and c.status = 'open'
  order by c.last_message_at desc
  limit 1;

  -- Upcoming appointments (their confirmations and reminders come from the business triggers)
  -- and one canceled.
  insert into public.appointments (tenant_id, contact_id, service, starts_at, duration_minutes,
    status, notes, created_at)
  select v_bloom, c.id, v_services[1 + n % 6],
    date_trunc('day', now()) + make_interval(days => 1 + n % 9, hours => 14 + n % 5),
    case when n % 6 in (1, 4) then 90 else 45 end,
    case when n % 3 = 0 then 'confirmed' else 'booked' end,
    case when n % 4 = 0 then 'Prefers ' || v_stylists[1 + n % 4] end,
    now() - make_interval(days => n % 5)
  from (
    select c.id, (row_number() over (order by c.created_at))::integer as n
    from public.contacts c where c.tenant_id = v_bloom
  ) c
  where c.n % 3 = 1 and c.n <= 45;
  insert into public.appointments (tenant_id, contact_id, service, starts_at, status, created_at)
  select v_bloom, c.id, 'Blowout', date_trunc('day', now()) + interval '3 days 15 hours', 'canceled',
    now() - interval '2 days'
  from public.contacts c where c.tenant_id = v_bloom and c.phone = '+15550100002';

  -- Orders (the salon sells products) in every state; paid, fulfilled and payment_failed send
  -- their notices through the business triggers.
  insert into public.orders (tenant_id, contact_id, order_number, status, total, tracking_number,
    tracking_url, payment_url, created_at)
  select v_bloom, c.id, 'BL-' || (1000 + c.n),
    (array['pending', 'paid', 'fulfilled', 'payment_failed', 'canceled', 'refunded', 'fulfilled'])[1 + c.n % 7],
    round((18 + (c.n * 13) % 90)::numeric, 2),
    case when c.n % 7 in (2, 6) then '1Z999AA1' || lpad(c.n::text, 8, '0') end,
    case when c.n % 7 in (2, 6) then 'https://track.example.com/1Z999AA1' || lpad(c.n::text, 8, '0') end,
    'https://pay.example.com/bloom/BL-' || (1000 + c.n),
    now() - make_interval(days => c.n % 12)
  from (
    select c.id, (row_number() over (order by c.created_at))::integer as n
    from public.contacts c where c.tenant_id = v_bloom
  ) c
  where c.n % 4 = 2;

  -- Harbor Books: a few contacts, one conversation, orders.
  insert into public.contacts (tenant_id, name, phone, email, promotional_consent, tags, created_at)
  values
    (v_harbor, 'Edith Marsh', '+447700900101', 'edith@example.co.uk', true, '{book-club}', now() - interval '40 days'),
    (v_harbor, 'Rupert Vale', '+447700900102', null, false, '{}', now() - interval '30 days'),
    (v_harbor, 'Anika Rao', '+447700900103', 'anika@example.co.uk', true, '{book-club,special-order}', now() - interval '20 days'),
    (v_harbor, 'Tom Ashby', '+447700900104', null, true, '{}', now() - interval '10 days'),
    (v_harbor, 'Greta Holm', '+447700900105', 'greta@example.co.uk', false, '{special-order}', now() - interval '5 days');
  insert into public.conversations (tenant_id, contact_id, channel)
  select v_harbor, c.id, 'sms' from public.contacts c where c.tenant_id = v_harbor and c.name = 'Anika Rao'
  returning id into v_conv;
  insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind, body,
    status, from_address, to_address, provider_sid, created_at, sent_at, delivered_at)
  select v_harbor, v_conv, c.id, m.direction, 'sms', m.kind, m.body, m.status,
    case when m.direction = 'inbound' then c.phone else '+15559870001' end,
    case when m.direction = 'inbound' then '+15559870001' else c.phone end,
    'SMseedharbor' || m.n, now() - m.ago,
    case when m.direction = 'outbound' then now() - m.ago end,
    case when m.direction = 'outbound' then now() - m.ago + interval '5 seconds' end
  from public.contacts c,
    (values
      (1, 'inbound', 'inbound', 'Has my copy of The Overstory come in?', 'received', interval '2 days 3 hours'),
      (2, 'outbound', 'manual', 'Not yet, Anika - the distributor says Thursday.', 'delivered', interval '2 days 2 hours'),
      (3, 'inbound', 'inbound', 'Lovely, thank you!', 'received', interval '2 days 1 hour')
    ) as m (n, direction, kind, body, status, ago)
  where c.tenant_id = v_harbor and c.name = 'Anika Rao';
  insert into public.orders (tenant_id, contact_id, order_number, status, total, created_at)
  select v_harbor, c.id, 'HB-' || (200 + row_number() over (order by c.name)),
    case when c.name = 'Edith Marsh' then 'canceled' else 'pending' end, 24.99, now() - interval '3 days'
  from public.contacts c where c.tenant_id = v_harbor and c.name in ('Edith Marsh', 'Anika Rao');

  -- The notifications the business triggers queued just now went out when the bookings and
  -- orders were made (the dispatcher is not part of the seed).
  update public.messages m
  set status = 'sent', sent_at = now(), attempts = 1,
    provider_sid = 'SMseed' || md5(m.id::text)
  where m.tenant_id in (v_bloom, v_harbor) and m.status = 'queued' and m.kind = 'transactional';
  update public.messages m
  set status = 'delivered', delivered_at = now()
  where m.tenant_id in (v_bloom, v_harbor) and m.status = 'sent' and m.kind = 'transactional'
    and m.provider_sid like 'SMseed%' and m.sent_at = now();
end;
$$;

-- Harbor Books' history above was sent before; from now on it is a self-serve business without
-- its own Twilio account: test mode.
update public.tenants set platform_provisioned = false
where id = '5e1d0000-0000-4000-8000-0000000000b1';
