-- Claiming due messages and expiring leases: the dispatcher's side of the outbox.
--
-- A row is due when status = 'queued' and next_attempt_at <= now() (messages_due_idx). A claim
-- locks due rows with FOR UPDATE SKIP LOCKED (concurrent dispatchers never get the same row),
-- re-checks every sending rule at the sending time, applies the per-tenant rate limit, and moves
-- what may go to 'sending' with attempts + 1 and a lease. A dispatcher that dies leaves the lease
-- to expire; expire_leases() then puts the row back in the queue.

-- Per-tenant send rate: one row per tenant holding the current minute and how many messages were
-- claimed in it (a fixed window: a burst may reach 2x the rate across a minute boundary, which
-- providers' own per-second limits absorb). A claim locks the counter rows of the tenants it is
-- about to send for with SKIP LOCKED too: it never waits for another claim (so concurrent
-- dispatchers cannot deadlock or queue up behind each other); a tenant whose counter another claim
-- holds right now is simply left for that claim's next round, its rows untouched and still due.
create table private.tenant_send_counters (
  tenant_id uuid primary key references public.tenants (id) on delete cascade,
  minute timestamptz not null default date_trunc('minute', now()),
  claimed integer not null default 0 check (claimed >= 0)
);
comment on table private.tenant_send_counters is
  'Messages claimed per tenant in its current minute (tenants.send_rate_per_minute); one row per tenant, locked SKIP LOCKED by claims.';
revoke all on private.tenant_send_counters from public, anon, authenticated, service_role;

insert into private.tenant_send_counters (tenant_id) select t.id from public.tenants t
on conflict do nothing;

-- Every tenant gets its counter row when it is created, so a claim never has to insert one (an
-- insert could wait for another claim inserting the same row).
create or replace function private.create_tenant_send_counter()
returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  insert into private.tenant_send_counters (tenant_id) values (new.id) on conflict do nothing;
  return null;
end;
$$;
comment on function private.create_tenant_send_counter() is
  'AFTER INSERT trigger on public.tenants: creates the tenant''s send-rate counter row.';
revoke all on function private.create_tenant_send_counter() from public;

create trigger tenants_create_send_counter
  after insert on public.tenants
  for each row execute function private.create_tenant_send_counter();

-- Rows in flight by lease, for expire_leases().
create index messages_sending_lease_idx on public.messages (lease_until) where status = 'sending';

-- Call it in its own short transaction (autocommit) and commit before sending: the claimed rows
-- and the tenant counters stay locked until then.
create or replace function private.claim_due_messages(p_batch integer, p_lease_seconds integer default 60)
returns setof public.messages
language plpgsql security definer set search_path = '' as $$
declare
  v_now timestamptz := now();
  v_minute timestamptz := date_trunc('minute', now());
  v_lease interval := make_interval(secs => coalesce(p_lease_seconds, 60));
  v_wanted integer := p_batch;
  v_rows public.messages[];
  v_seen uuid[] := '{}';
  v_got integer;
  v_pass integer := 0;
begin
  -- Up to 4 passes: rows held back (rate limit, quiet hours, a tenant another claim is serving)
  -- or blocked are set aside by a pass, so when a pass returns less than asked, the next one
  -- reaches the due rows behind them (a bulk send over its tenant's rate must not starve other
  -- tenants until the next kick). v_seen keeps a pass from looking at the same rows again.
  while v_wanted > 0 and v_pass < 4 loop
    v_pass := v_pass + 1;
    -- The oldest due rows nobody else holds, kept whole so the next statement need not read them
    -- again.
    select coalesce(array_agg(q.m), '{}') into v_rows
    from (
      select m from public.messages m
      where m.status = 'queued' and m.next_attempt_at <= v_now and m.id <> all (v_seen)
      order by m.next_attempt_at
      limit v_wanted
      for update of m skip locked
    ) q;
    exit when cardinality(v_rows) = 0;
    v_seen := v_seen || array(select r.id from unnest(v_rows) r);

    return query
    with locked as materialized (
      select r.id, r.tenant_id, r.contact_id, r.conversation_id, r.template_id, r.channel, r.kind,
        r.next_attempt_at
      from unnest(v_rows) r
    ),
    checked as materialized (
      -- The rules again, at the sending time: an opt-out, a lost consent or a closed WhatsApp
      -- window since enqueue blocks it; quiet hours defer it.
      select l.id, l.tenant_id, l.next_attempt_at, (t.tenant).send_rate_per_minute as rate,
        private.contact_address(c.contact, l.channel) as address,
        private.message_block_reason(c.contact, cv.conversation, tp.template, l.channel, l.kind, v_now)
          as reason,
        case when private.quiet_hours_kind(l.kind)
          then private.send_not_before(l.kind, c.contact, t.tenant, v_now) end as not_before
      from locked l
      -- One primary-key lookup per claimed row whatever the table sizes (OFFSET 0 keeps each
      -- subquery from being flattened into a hash join over the whole table).
      cross join lateral (
        select x as contact from public.contacts x where x.id = l.contact_id offset 0) c
      cross join lateral (
        select x as conversation from public.conversations x where x.id = l.conversation_id offset 0) cv
      cross join lateral (
        select x as tenant from public.tenants x where x.id = l.tenant_id offset 0) t
      left join lateral (
        select x as template from public.templates x
        where x.id = l.template_id and x.tenant_id = l.tenant_id offset 0) tp on true
    ),
    ranked as materialized (
      select ch.*,
        ch.reason is null and (ch.not_before is null or ch.not_before <= v_now) as eligible,
        row_number() over (
          partition by ch.tenant_id, ch.reason is null and (ch.not_before is null or ch.not_before <= v_now)
          order by ch.next_attempt_at, ch.id
        ) as rn
      from checked ch
    ),
    wanted as (
      select r.tenant_id, count(*)::integer as n, min(r.rate) as rate
      from ranked r where r.eligible
      group by r.tenant_id
    ),
    counters as materialized (
      -- This minute's use so far; a new minute starts from 0.
      select sc.tenant_id, case when sc.minute = v_minute then sc.claimed else 0 end as used
      from private.tenant_send_counters sc
      where sc.tenant_id in (select w.tenant_id from wanted w)
      for update skip locked
    ),
    granted as (
      update private.tenant_send_counters sc
      set minute = v_minute,
        claimed = cn.used + least(w.n, greatest(w.rate - cn.used, 0))
      from counters cn
      join wanted w on w.tenant_id = cn.tenant_id
      where sc.tenant_id = cn.tenant_id
      returning sc.tenant_id, sc.claimed - cn.used as grant_n
    ),
    decided as (
      select r.id, r.reason, r.address, r.not_before,
        case
          when r.reason is not null then private.block_status(r.reason)
          when not r.eligible then 'queued'
          when r.rn <= g.grant_n then 'sending'
          else 'queued'
        end as new_status
      from ranked r
      left join granted g on g.tenant_id = r.tenant_id
      -- A tenant whose counter another claim holds: its eligible rows stay as they are (due).
      where not r.eligible or g.tenant_id is not null
    ),
    updated as (
      update public.messages m set
        status = d.new_status,
        attempts = m.attempts + case when d.new_status = 'sending' then 1 else 0 end,
        lease_until = case when d.new_status = 'sending' then v_now + v_lease end,
        next_attempt_at = case
          when d.reason is not null then m.next_attempt_at
          -- Quiet hours: when the window ends. Over the rate: the next minute.
          when d.not_before > v_now then d.not_before
          when d.new_status = 'queued' then v_minute + interval '1 minute'
          else m.next_attempt_at
        end,
        -- The contact's current address (it may have changed since enqueue).
        to_address = coalesce(d.address, m.to_address),
        error_code = case when d.reason is not null then d.reason else m.error_code end,
        error_message = case when d.reason is not null
          then private.block_message(d.reason, m.channel) else m.error_message end,
        failed_at = case when d.reason is not null and d.new_status = 'failed'
          then v_now else m.failed_at end
      from decided d
      where m.id = d.id
      returning m.*
    )
    select u.* from updated u where u.status = 'sending';
    get diagnostics v_got = row_count;
    -- Fewer rows than asked could be locked: nothing else is due (or free) right now.
    exit when cardinality(v_rows) < v_wanted;
    v_wanted := v_wanted - v_got;
  end loop;
end;
$$;
comment on function private.claim_due_messages(integer, integer) is
  'Dispatcher: claims up to p_batch due queued messages (FOR UPDATE SKIP LOCKED), re-checks the sending rules (blocked rows become canceled/failed with error_code, quiet hours defer), applies tenants.send_rate_per_minute (over the limit: stays queued until the next minute; never waits for a concurrent claim), and returns the rows moved to sending with attempts + 1 and lease_until = now() + p_lease_seconds. Run it in its own short transaction.';
revoke all on function private.claim_due_messages(integer, integer) from public, anon, authenticated;
grant execute on function private.claim_due_messages(integer, integer) to service_role;

-- A row whose lease expired goes back to the queue, due now. Its dispatcher may have crashed after
-- the provider accepted the send: provider_sid, attempts and errors are therefore kept as they
-- are (never cleared here), so that the next claim's dispatcher can see it is a repeat
-- (attempts > 1, private.send_attempts) and reconcile with the provider instead of sending twice.
create or replace function private.expire_leases()
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_count integer;
begin
  with expired as (
    select m.id from public.messages m
    where m.status = 'sending' and m.lease_until < now()
    order by m.lease_until
    for update skip locked
  )
  update public.messages m
  set status = 'queued', lease_until = null, next_attempt_at = now()
  from expired
  where m.id = expired.id;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function private.expire_leases() is
  'pg_cron job: sending rows whose lease expired go back to queued, due now, keeping provider_sid and attempts (the dispatcher reconciles a send that may have happened). Returns the number of rows re-queued.';
revoke all on function private.expire_leases() from public, anon, authenticated;
grant execute on function private.expire_leases() to service_role;
