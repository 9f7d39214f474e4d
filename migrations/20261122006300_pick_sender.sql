-- Which number sends each message of a dispatcher batch, decided set-based (one statement per
-- batch instead of one function call per message):
-- 1. the conversation's sticky number, while the tenant still owns it and it has the channel;
-- 2. else a rotation-enabled number of the tenant with the channel, least recently used first
--    (a batch spreads its new conversations round-robin over them), which becomes sticky;
-- 3. else the tenant's Messaging Service SID;
-- 4. else nothing: the dispatcher then uses the platform TWILIO_PHONE_NUMBER.
-- Chosen numbers get last_used_at = now(), except a number another dispatcher round is touching
-- at that moment (FOR NO KEY UPDATE SKIP LOCKED): it is being used right now, so skipping it keeps
-- last_used_at as true as waiting would, and rounds running side by side for the same tenants
-- never queue behind each other's uncommitted batches.
-- (Folded: an earlier unreleased migration 20261122006600 restated this function to add that.)
create or replace function private.pick_senders(p_items jsonb)
returns table (message_id uuid, phone_number_id uuid, e164 text, messaging_service_sid text)
language plpgsql security definer set search_path = '' as $$
begin
  return query
  with items as (
    select * from jsonb_to_recordset(p_items)
      as x(message_id uuid, conversation_id uuid, channel text, n integer)
  ),
  conv as (
    select i.message_id, i.conversation_id, i.channel, i.n, c.tenant_id, c.sender_number_id
      from items i join public.conversations c on c.id = i.conversation_id
  ),
  sticky as (
    select cv.message_id, pn.id as pid
      from conv cv
      join public.phone_numbers pn on pn.id = cv.sender_number_id and pn.tenant_id = cv.tenant_id
     where case cv.channel when 'whatsapp' then pn.whatsapp else pn.sms end
  ),
  needy as (
    select distinct on (cv.conversation_id) cv.conversation_id, cv.tenant_id, cv.channel
      from conv cv
     where not exists (select 1 from sticky s where s.message_id = cv.message_id)
     order by cv.conversation_id, cv.n
  ),
  needy_ranked as (
    select nd.*, row_number() over (partition by nd.tenant_id, nd.channel
                                    order by nd.conversation_id) - 1 as k
      from needy nd
  ),
  pool as (
    select pn.id, pn.tenant_id, ch.channel,
           row_number() over w - 1 as r, count(*) over (partition by pn.tenant_id, ch.channel) as cnt
      from public.phone_numbers pn
     cross join (values ('sms'), ('whatsapp')) as ch(channel)
     where pn.rotation_enabled
       and case ch.channel when 'whatsapp' then pn.whatsapp else pn.sms end
       and pn.tenant_id in (select nd.tenant_id from needy nd)
    window w as (partition by pn.tenant_id, ch.channel order by pn.last_used_at nulls first, pn.id)
  ),
  assigned as (
    select nr.conversation_id, p.id as pid
      from needy_ranked nr
      join pool p on p.tenant_id = nr.tenant_id and p.channel = nr.channel and p.r = nr.k % p.cnt
  ),
  made_sticky as (
    update public.conversations c set sender_number_id = a.pid
      from assigned a where c.id = a.conversation_id
    returning 1
  ),
  chosen as (
    select cv.message_id, cv.n, cv.tenant_id, coalesce(s.pid, a.pid) as pid
      from conv cv
      left join sticky s on s.message_id = cv.message_id
      left join assigned a on a.conversation_id = cv.conversation_id
  ),
  free as (
    select pn.id from public.phone_numbers pn
     where pn.id in (select ch.pid from chosen ch where ch.pid is not null)
     for no key update skip locked
  ),
  touched as (
    update public.phone_numbers pn set last_used_at = now()
     where pn.id in (select f.id from free f)
    returning 1
  )
  select ch.message_id, pn.id, pn.e164,
         case when pn.id is null then t.messaging_service_sid end
    from chosen ch
    left join public.phone_numbers pn on pn.id = ch.pid
    join public.tenants t on t.id = ch.tenant_id
   order by ch.n;
end;
$$;
comment on function private.pick_senders(jsonb) is
  'Dispatcher: the sending number for each {message_id, conversation_id, channel, n} of a batch: sticky, else least recently used rotation number (made sticky), else the tenant''s Messaging Service SID (number null); touches last_used_at of the chosen numbers no other dispatcher is touching at that moment (never waits).';
revoke all on function private.pick_senders(jsonb) from public, anon, authenticated;
