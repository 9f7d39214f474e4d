-- The time-driven jobs (pure SQL, run by pg_cron every minute): promote due scheduled rows,
-- re-engage conversations idle 7 days, mark conversations dormant after 14 days. Each job is
-- idempotent and safe to run twice at once, in three layers:
--   1. a transaction-scoped advisory try-lock per job: a second concurrent run returns 0 at once;
--   2. candidate rows are locked FOR UPDATE SKIP LOCKED and re-checked by their WHERE after the
--      lock (READ COMMITTED re-evaluates it on the newest row version), so a row another run has
--      just handled no longer qualifies;
--   3. a unique index makes a second re-engagement message for the same idle period impossible.
-- private.cron_tick() runs every job in order (tests, the benchmark, manual runs).

-- Re-engagement bookkeeping: the idle period (by its last_message_at) the job has decided about,
-- whether it sent a message (then last_reengaged_at is set too) or not (no consent, automation
-- off). Without it, ineligible idle conversations would be re-examined every minute.
alter table public.conversations add column reengage_checked_at timestamptz;
comment on column public.conversations.reengage_checked_at is
  'When the re-engagement job last decided about this conversation''s idle period (sent or skipped).';

-- Only conversations still waiting for a re-engagement decision, by how long they have been idle.
create index conversations_reengage_due_idx on public.conversations (last_message_at)
  where status = 'open' and (reengage_checked_at is null or reengage_checked_at < last_message_at);
-- Open conversations by idleness, for the dormant job.
create index conversations_open_idle_idx on public.conversations (last_message_at)
  where status = 'open';
-- At most one re-engagement message per conversation and idle period (automation_key carries the
-- idle period's last_message_at).
create unique index messages_reengagement_once_idx on public.messages (conversation_id, automation_key)
  where kind = 'reengagement' and automation_key is not null;
-- The contact's last topic (appointment service, order) for personalisation.
create index orders_contact_created_idx on public.orders (contact_id, created_at desc);

-- ------------------------------------------------------------------------------------------------
create or replace function private.promote_scheduled(p_limit integer default 2000)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('switchboard:promote_scheduled')) then
    return 0;
  end if;
  -- The ids first (an array), then the update by primary key: the planner then never swaps the
  -- small batch for a hash join over every scheduled row.
  update public.messages m
  set status = 'queued', next_attempt_at = now()
  where m.id = any (array(
      select d.id from public.messages d
      where d.status = 'scheduled' and d.scheduled_for <= now()
      order by d.scheduled_for
      limit p_limit
      for update skip locked
    ))
    and m.status = 'scheduled';
  get diagnostics v_count = row_count;
  -- UPDATEs do not fire the insert kick: wake the dispatcher for what just became due.
  if v_count > 0 then
    perform private.kick_dispatch('promoted');
  end if;
  return v_count;
end;
$$;
comment on function private.promote_scheduled(integer) is
  'pg_cron job: scheduled rows whose scheduled_for has passed become queued and due now (batch of p_limit).';
revoke all on function private.promote_scheduled(integer) from public, anon, authenticated;

-- ------------------------------------------------------------------------------------------------
create or replace function private.reengage_idle(p_limit integer default 500)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids uuid[];
  v_checked uuid[];
  v_sent uuid[];
begin
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('switchboard:reengage_idle')) then
    return 0;
  end if;

  -- The candidates, locked, as an array: the statement below is then planned for their real
  -- number (a handful per minute) rather than for the LIMIT.
  select array_agg(s.id) into v_ids
  from (
    select c.id
    from public.conversations c
    where c.status = 'open'
      and c.last_message_at < now() - interval '7 days'
      and (c.reengage_checked_at is null or c.reengage_checked_at < c.last_message_at)
    order by c.last_message_at
    limit p_limit
    for update skip locked
  ) s;
  if v_ids is null then
    return 0;
  end if;

  with cand as (
    select c.id, c.tenant_id, c.contact_id, c.channel, c.last_message_at
    from public.conversations c
    where c.id = any (v_ids)
  ),
  info as (
    select
      cand.*,
      t.name as business_name,
      coalesce(a.enabled, false) as automation_enabled,
      -- A tenant may wait longer than 7 days (automation offset), never shorter.
      cand.last_message_at < now() - make_interval(mins => greatest(coalesce(a.offset_minutes, 0), 10080)) as idle_enough,
      tpl.id as tpl_id,
      tpl.body as tpl_body,
      tpl.subject as tpl_subject,
      -- Contact rules, and for WhatsApp the 24 h window: after 7 idle days only an approved
      -- template may go there.
      private.message_block_reason(ct, cv, tpl, cand.channel, 'reengagement', now()) as block_reason,
      private.contact_address(ct, cand.channel) as to_address,
      vars.v as variables,
      last_appt.service,
      last_order.order_number
    from cand
    join public.conversations cv on cv.id = cand.id
    join public.contacts ct on ct.id = cand.contact_id
    join public.tenants t on t.id = cand.tenant_id
    left join public.automations a on a.tenant_id = cand.tenant_id and a.kind = 'reengagement'
    left join public.templates tpl on tpl.id = a.template_id
    -- The last topic: the latest past appointment, and the latest paid or fulfilled order.
    left join lateral (
      select ap.service from public.appointments ap
      where ap.contact_id = cand.contact_id and ap.starts_at <= now()
        and ap.status in ('booked', 'confirmed', 'completed')
      order by ap.starts_at desc limit 1
    ) last_appt on true
    left join lateral (
      select o.order_number from public.orders o
      where o.contact_id = cand.contact_id and o.status in ('paid', 'fulfilled')
      order by o.created_at desc limit 1
    ) last_order on true
    cross join lateral (
      select jsonb_strip_nulls(jsonb_build_object(
        'first_name', coalesce(nullif(split_part(trim(ct.name), ' ', 1), ''), 'there'),
        'business_name', t.name,
        'service', last_appt.service,
        'order_number', last_order.order_number
      )) as v
    ) vars
  ),
  usable as (
    select info.*,
      -- The tenant's template when every variable it uses is known for this contact (a template
      -- that mentions {service} needs a last appointment); else a built-in text about the last
      -- topic. render_template refuses missing values, so this choice is what avoids an error.
      info.tpl_body is not null
        and private.template_variables_used(info.tpl_body) || private.template_variables_used(info.tpl_subject)
          <@ array(select jsonb_object_keys(info.variables)) as use_template
    from info
  ),
  decided as (
    select usable.*,
      usable.automation_enabled and usable.block_reason is null
        -- On WhatsApp the approved template itself must go, never the built-in free-form text.
        and (usable.channel <> 'whatsapp' or usable.use_template) as send
    from usable
    where usable.idle_enough or not usable.automation_enabled
  ),
  ins as (
    insert into public.messages (
      tenant_id, conversation_id, contact_id, direction, channel, kind, body, subject, status,
      next_attempt_at, to_address, template_id, variables, automation_key
    )
    select d.tenant_id, d.id, d.contact_id, 'outbound', d.channel, 'reengagement',
      public.render_template(
        case
          when d.use_template then d.tpl_body
          when d.service is not null then
            'Hi {first_name}, it''s been a while since your {service} at {business_name}. Reply here to book your next visit! Reply STOP to opt out.'
          when d.order_number is not null then
            'Hi {first_name}, thanks again for order {order_number} with {business_name}. Anything else we can help you with? Just reply here. Reply STOP to opt out.'
          else
            'Hi {first_name}, it''s been a while! Is there anything {business_name} can help you with? Just reply here. Reply STOP to opt out.'
        end,
        d.variables
      ),
      case when d.channel = 'email' then
        case when d.use_template and d.tpl_subject is not null
          then public.render_template(d.tpl_subject, d.variables)
          else 'We miss you at ' || d.business_name end
      end,
      'queued', now(), d.to_address, case when d.use_template then d.tpl_id end, d.variables,
      'reengagement:' || to_char(d.last_message_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    from decided d
    where d.send
    on conflict (conversation_id, automation_key)
      where kind = 'reengagement' and automation_key is not null
      do nothing
    returning conversation_id
  )
  select array(select d.id from decided d), array(select ins.conversation_id from ins)
  into v_checked, v_sent;

  -- Separate statement: the insert's own triggers (last_message_at) have run by now, so the idle
  -- period we record covers our own message too and it does not start a new one.
  update public.conversations c
  set reengage_checked_at = greatest(now(), c.last_message_at),
      last_reengaged_at = case when c.id = any (v_sent) then now() else c.last_reengaged_at end
  where c.id = any (v_checked);

  return coalesce(array_length(v_sent, 1), 0);
end;
$$;
comment on function private.reengage_idle(integer) is
  'pg_cron job: one re-engagement message per idle period for open conversations idle 7+ days whose contact has promotional consent and whose tenant has the automation on; personalised by the last appointment or order.';
revoke all on function private.reengage_idle(integer) from public, anon, authenticated;

-- ------------------------------------------------------------------------------------------------
create or replace function private.mark_dormant(p_limit integer default 5000)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('switchboard:mark_dormant')) then
    return 0;
  end if;
  update public.conversations c
  set status = 'dormant'
  where c.id = any (array(
      select i.id from public.conversations i
      where i.status = 'open' and i.last_message_at < now() - interval '14 days'
      order by i.last_message_at
      limit p_limit
      for update skip locked
    ))
    and c.status = 'open';
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function private.mark_dormant(integer) is
  'pg_cron job: open conversations idle 14 days become dormant (they reopen when the contact writes).';
revoke all on function private.mark_dormant(integer) from public, anon, authenticated;

-- ------------------------------------------------------------------------------------------------
create or replace function private.cron_tick()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_result jsonb := '{}';
  v_errors jsonb := '{}';
begin
  -- Each job in its own subtransaction: one failing job must not undo the others.
  begin
    v_result := v_result || jsonb_build_object('expired', private.expire_leases());
  exception when others then
    v_errors := v_errors || jsonb_build_object('expire_leases', sqlerrm);
  end;
  begin
    v_result := v_result || jsonb_build_object('promoted', private.promote_scheduled());
  exception when others then
    v_errors := v_errors || jsonb_build_object('promote_scheduled', sqlerrm);
  end;
  begin
    v_result := v_result || jsonb_build_object('reengaged', private.reengage_idle());
  exception when others then
    v_errors := v_errors || jsonb_build_object('reengage_idle', sqlerrm);
  end;
  begin
    v_result := v_result || jsonb_build_object('dormant', private.mark_dormant());
  exception when others then
    v_errors := v_errors || jsonb_build_object('mark_dormant', sqlerrm);
  end;
  v_result := v_result || jsonb_build_object('kick', private.kick_dispatch('cron'));
  if v_errors <> '{}' then
    raise warning 'cron_tick errors: %', v_errors;
    v_result := v_result || jsonb_build_object('errors', v_errors);
  end if;
  return v_result;
end;
$$;
comment on function private.cron_tick() is
  'Runs every time-driven job once, in order (expire leases, promote, re-engage, dormant, kick); for tests, benchmarks and manual runs.';
revoke all on function private.cron_tick() from public, anon, authenticated;
