-- public.analytics(tenant, days): the dashboard's numbers, computed in one round trip.
--
-- Security invoker: RLS on messages/tenants decides what is counted. A caller who is not a member
-- of the tenant gets an explicit error (42501) rather than a page of zeros that would look like "no
-- activity"; the service role (and the superuser) may ask about any tenant.
--
-- Definitions (outbound rows by status; the window is the last p_days calendar days in the
-- tenant's timezone, today included, by created_at):
--   sent           outbound rows that reached the provider: sent, delivered, read, undelivered
--   delivered      delivered or read;  delivered_rate = delivered / sent (null when nothing sent)
--   failed         failed or undelivered (undelivered is both sent and failed)
--   received       inbound rows
--   response_rate  share of conversations with an inbound message in the window that got a reply
--                  (manual or auto_reply, not failed/canceled) after their first inbound message
--                  in the window; first_response_seconds: mean and median of that delay
--   first_response_buckets  that delay's distribution (issue 7: the dashboard's chart): an array,
--                  fastest band first, of {"from_seconds": a, "to_seconds": b, "conversations": n}
--                  with a <= delay < b (to_seconds null for the last band): < 5 min, 5-15 min,
--                  15-60 min, 1-4 h, 4-24 h, >= 24 h; counted in the same aggregate as the mean and
--                  median, so they add up to responded_conversations; zeros when nothing answered
--   by_channel     per channel {sent, received, delivered, failed}
--   by_status      outbound rows per status (every status, zeros included)
--   daily          one entry per day {date, sent, received, failed}, zeros included

create or replace function public.analytics(p_tenant_id uuid, p_days integer)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_tz text;
  v_today date;
  v_since timestamptz;
  v_totals jsonb;
  v_channels jsonb;
  v_statuses jsonb;
  v_daily jsonb;
  v_response jsonb;
begin
  if p_days is null or p_days not in (7, 30, 90, 365) then
    raise exception 'p_days must be one of 7, 30, 90, 365 (got %)', p_days using errcode = '22023';
  end if;
  if not private.is_member(p_tenant_id)
     and not exists (
       select 1 from pg_catalog.pg_roles r
       where r.rolname = current_user and (r.rolbypassrls or r.rolsuper)
     ) then
    raise exception 'not a member of this tenant' using errcode = '42501';
  end if;

  select t.timezone into v_tz from public.tenants t where t.id = p_tenant_id;
  if v_tz is null then
    raise exception 'no such tenant' using errcode = 'P0002';
  end if;
  v_today := (now() at time zone v_tz)::date;
  v_since := ((v_today - (p_days - 1))::timestamp) at time zone v_tz;

  -- One pass over the window (messages_tenant_created_idx), aggregated to at most
  -- days x channels x directions x statuses rows; everything else is derived from it.
  with agg as (
    select (m.created_at at time zone v_tz)::date as day, m.channel, m.direction, m.status,
      count(*)::integer as n
    from public.messages m
    where m.tenant_id = p_tenant_id and m.created_at >= v_since
    group by 1, 2, 3, 4
  ),
  flags as (
    select agg.*,
      (direction = 'outbound' and status in ('sent', 'delivered', 'read', 'undelivered')) as is_sent,
      (direction = 'outbound' and status in ('delivered', 'read')) as is_delivered,
      (direction = 'outbound' and status in ('failed', 'undelivered')) as is_failed,
      (direction = 'inbound') as is_received
    from agg
  ),
  totals as (
    select
      coalesce(sum(n) filter (where is_sent), 0)::integer as sent,
      coalesce(sum(n) filter (where is_delivered), 0)::integer as delivered,
      coalesce(sum(n) filter (where is_failed), 0)::integer as failed,
      coalesce(sum(n) filter (where is_received), 0)::integer as received
    from flags
  ),
  channels as (
    select ch.channel,
      coalesce(sum(f.n) filter (where f.is_sent), 0)::integer as sent,
      coalesce(sum(f.n) filter (where f.is_received), 0)::integer as received,
      coalesce(sum(f.n) filter (where f.is_delivered), 0)::integer as delivered,
      coalesce(sum(f.n) filter (where f.is_failed), 0)::integer as failed
    from unnest(array['sms', 'whatsapp', 'email']) as ch (channel)
    left join flags f on f.channel = ch.channel
    group by ch.channel
  ),
  statuses as (
    select st.status, coalesce(sum(f.n) filter (where f.direction = 'outbound'), 0)::integer as n
    from unnest(array['scheduled', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed',
      'undelivered', 'canceled']) as st (status)
    left join flags f on f.status = st.status
    group by st.status
  ),
  days as (
    select d::date as day,
      coalesce(sum(f.n) filter (where f.is_sent), 0)::integer as sent,
      coalesce(sum(f.n) filter (where f.is_received), 0)::integer as received,
      coalesce(sum(f.n) filter (where f.is_failed), 0)::integer as failed
    from generate_series(v_today - (p_days - 1), v_today, interval '1 day') as d
    left join flags f on f.day = d::date
    group by 1
  )
  select
    (select to_jsonb(totals) || jsonb_build_object('delivered_rate',
       case when totals.sent > 0 then round(totals.delivered::numeric / totals.sent, 4) end)
     from totals),
    (select jsonb_object_agg(channel, jsonb_build_object('sent', sent, 'received', received,
       'delivered', delivered, 'failed', failed)) from channels),
    (select jsonb_object_agg(status, n) from statuses),
    (select jsonb_agg(jsonb_build_object('date', day, 'sent', sent, 'received', received,
       'failed', failed) order by day) from days)
  into v_totals, v_channels, v_statuses, v_daily;

  -- First response per conversation: its first inbound message in the window, and the first
  -- human or AI reply after it (messages_conversation_created_idx). Mean, median and the
  -- distribution come from one aggregate over these per-conversation delays.
  with firsts as (
    select m.conversation_id, min(m.created_at) as first_in
    from public.messages m
    where m.tenant_id = p_tenant_id and m.created_at >= v_since and m.direction = 'inbound'
    group by m.conversation_id
  ),
  replies as (
    select f.conversation_id,
      extract(epoch from (r.created_at - f.first_in))::numeric as seconds
    from firsts f
    left join lateral (
      select m.created_at from public.messages m
      where m.conversation_id = f.conversation_id and m.direction = 'outbound'
        and m.kind in ('manual', 'auto_reply') and m.status not in ('failed', 'canceled')
        and m.created_at >= f.first_in
      order by m.created_at
      limit 1
    ) r on true
  )
  select jsonb_build_object(
    'conversations_with_inbound', count(*),
    'responded_conversations', count(seconds),
    'response_rate', case when count(*) > 0 then round(count(seconds)::numeric / count(*), 4) end,
    'first_response_seconds', jsonb_build_object(
      'mean', round(avg(seconds), 1),
      'median', round((percentile_cont(0.5) within group (order by seconds))::numeric, 1)
    ),
    -- Band edges in seconds: 5 min, 15 min, 1 h, 4 h, 24 h; lower edge inclusive.
    'first_response_buckets', jsonb_build_array(
      jsonb_build_object('from_seconds', 0, 'to_seconds', 300,
        'conversations', count(*) filter (where seconds < 300)),
      jsonb_build_object('from_seconds', 300, 'to_seconds', 900,
        'conversations', count(*) filter (where seconds >= 300 and seconds < 900)),
      jsonb_build_object('from_seconds', 900, 'to_seconds', 3600,
        'conversations', count(*) filter (where seconds >= 900 and seconds < 3600)),
      jsonb_build_object('from_seconds', 3600, 'to_seconds', 14400,
        'conversations', count(*) filter (where seconds >= 3600 and seconds < 14400)),
      jsonb_build_object('from_seconds', 14400, 'to_seconds', 86400,
        'conversations', count(*) filter (where seconds >= 14400 and seconds < 86400)),
      jsonb_build_object('from_seconds', 86400, 'to_seconds', null,
        'conversations', count(*) filter (where seconds >= 86400))
    )
  )
  into v_response
  from replies;

  return jsonb_build_object(
    'tenant_id', p_tenant_id,
    'days', p_days,
    'timezone', v_tz,
    'since', v_since,
    'until', now()
  ) || v_totals || v_response || jsonb_build_object(
    'by_channel', v_channels,
    'by_status', v_statuses,
    'daily', v_daily
  );
end;
$$;
comment on function public.analytics(uuid, integer) is
  'Dashboard numbers for the last 7/30/90/365 days (security invoker: RLS decides; non-members get 42501): sent, received, delivered rate, failed, response rate, first-response mean/median and distribution (first_response_buckets: <5 min, 5-15 min, 15-60 min, 1-4 h, 4-24 h, >=24 h), per channel, per status, per day.';
revoke all on function public.analytics(uuid, integer) from public, anon;
grant execute on function public.analytics(uuid, integer) to authenticated, service_role;
