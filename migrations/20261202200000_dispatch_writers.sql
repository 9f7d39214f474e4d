-- The dispatcher's writers: every write it makes to public.messages and private.send_attempts is
-- one of these functions, so the TypeScript worker (functions/dispatch/worker.ts) only moves data
-- between SQL and the providers. Per batch the hot path is two calls: claim_sends (claim, render,
-- pick senders, attempt rows, email threading: everything a send needs) and record_send_results
-- (one call per group of results). The rules they apply stay where they are: claim_due_messages
-- (sending rules of 20261122002100, rate limits), pick_senders, record_send_result and
-- record_sends_succeeded are called, not restated.

-- A template body rendered, or null when a variable is missing (render_template raises 22023):
-- one bad row must not abort the claim of a whole batch.
create or replace function private.try_render_template(p_body text, p_variables jsonb)
returns text
language plpgsql stable set search_path = '' as $$
begin
  return public.render_template(p_body, coalesce(p_variables, '{}'::jsonb));
exception when invalid_parameter_value then
  return null;
end;
$$;
comment on function private.try_render_template(text, jsonb) is
  'public.render_template, or null when the template cannot be rendered (a variable is missing).';
revoke all on function private.try_render_template(text, jsonb) from public, anon, authenticated;

-- Prepares claimed rows (p_items: [{id, attempt}], still 'sending' at that attempt: a fencing
-- token) for their provider call and returns one job per row: what the channel sender needs and
-- nothing to look up. Written here, before any request leaves (committed when the call returns):
-- * sms/whatsapp: the sender (pick_senders: sticky, rotation, messaging service; else
--   p_platform_number) and a 'pending' attempt row with To/From/body SHA-256, the evidence
--   reconcile needs after a crash or timeout. No address or no sender: no attempt row; the worker
--   reports the failure.
-- * email: the Message-ID (ours, stable across retries) and In-Reply-To (the last inbound mail of
--   the conversation) on the row, the subject, the From, and a 'pending' attempt row.
-- A new attempt settles the row's earlier unsettled attempts as 'reconciled': preparing it means
-- their copy was looked for and not found (Twilio), or the provider dedupes the retry (email's
-- idempotency key / Message-ID).
create or replace function private.prepare_sends(
  p_items jsonb,
  p_platform_number text default null,
  p_email_from text default null
) returns setof jsonb
language plpgsql security definer set search_path = '' as $$
declare
  v_ids uuid[];
begin
  select coalesce(array_agg(i.id), '{}') into v_ids from jsonb_to_recordset(p_items) as i(id uuid);
  if cardinality(v_ids) = 0 then
    return;
  end if;
  return query
  with x as materialized (
    select m.id, m.attempts as attempt, m.tenant_id, m.conversation_id, m.channel, m.body,
      m.subject, m.media, m.variables, m.email_message_id, m.in_reply_to,
      nullif(regexp_replace(coalesce(m.to_address, ''), '^whatsapp:', ''), '') as addr,
      tpl.whatsapp_content_sid, tpl.subject as template_subject,
      row_number() over (order by m.next_attempt_at, m.id)::integer as n
    from jsonb_to_recordset(p_items) as i(id uuid, attempt integer)
    join public.messages m on m.id = i.id and m.attempts = i.attempt and m.status = 'sending'
    left join public.templates tpl on tpl.id = m.template_id
    where m.id = any (v_ids)
  ),
  picked as (
    select s.* from private.pick_senders((
      select coalesce(jsonb_agg(jsonb_build_object('message_id', x.id,
        'conversation_id', x.conversation_id, 'channel', x.channel, 'n', x.n)), '[]'::jsonb)
      from x where x.channel <> 'email' and x.addr is not null)) s
  ),
  sender as (
    -- The platform number only for a business that sends through the platform account
    -- (20261202300000_tenant_sending_policy.sql): on its own account Twilio would refuse it.
    select p.message_id as id, p.messaging_service_sid as mss,
      case when p.e164 is null and p.messaging_service_sid is not null then null
        else coalesce(p.e164, case when private.tenant_sending_mode(x.tenant_id) = 'platform'
                                   then p_platform_number end) end as num
    from picked p join x on x.id = p.message_id
  ),
  em as (
    select x.id,
      coalesce(x.email_message_id, '<' || x.id || '@switchboard.local>') as message_id,
      coalesce(x.in_reply_to, (
        select e.email_message_id from public.messages e
        where e.conversation_id = x.conversation_id and e.direction = 'inbound'
          and e.email_message_id is not null
        order by e.created_at desc limit 1)) as in_reply_to,
      coalesce(x.subject, x.template_subject, case
        when cv.subject is null then 'Message from ' || t.name
        when cv.subject ~* '^re:' then cv.subject
        else 'Re: ' || cv.subject end) as subject,
      coalesce(t.email_from, p_email_from) as sender
    from x
    join public.tenants t on t.id = x.tenant_id
    join public.conversations cv on cv.id = x.conversation_id
    where x.channel = 'email' and x.addr is not null
  ),
  threaded as (
    update public.messages m set email_message_id = em.message_id, in_reply_to = em.in_reply_to
    from em where m.id = em.id and m.id = any (v_ids)
    returning 1
  ),
  att as (
    select x.id, x.attempt, x.channel, x.body,
      case when x.channel = 'whatsapp' then 'whatsapp:' || x.addr else x.addr end as to_address,
      case when x.channel = 'whatsapp' and s.num is not null then 'whatsapp:' || s.num
        else s.num end as from_address
    from x join sender s on s.id = x.id
    where s.num is not null or s.mss is not null
    union all
    select x.id, x.attempt, x.channel, x.body, x.addr, em.sender
    from x join em on em.id = x.id
  ),
  written as (
    insert into private.send_attempts
      (message_id, attempt, channel, to_address, from_address, body_sha256)
    select att.id, att.attempt, att.channel, att.to_address, att.from_address,
      encode(sha256(convert_to(att.body, 'UTF8')), 'hex')
    from att
    on conflict (message_id, attempt) do update
      set started_at = now(), outcome = 'pending', to_address = excluded.to_address,
        from_address = excluded.from_address, body_sha256 = excluded.body_sha256,
        finished_at = null
    returning 1
  ),
  superseded as (
    update private.send_attempts a set outcome = 'reconciled', finished_at = now()
    from att
    where a.message_id = any (v_ids) and a.message_id = att.id and a.attempt < att.attempt
      and a.outcome in ('pending', 'unknown')
    returning 1
  )
  select jsonb_build_object(
    'id', x.id, 'attempt', x.attempt, 'tenant_id', x.tenant_id, 'channel', x.channel,
    'body', x.body, 'variables', x.variables, 'content_sid', x.whatsapp_content_sid,
    'media', coalesce((select jsonb_agg(e->>'url') from jsonb_array_elements(x.media) e
      where e->>'url' is not null), '[]'::jsonb),
    'to', case when x.channel = 'whatsapp' then 'whatsapp:' || x.addr else x.addr end,
    'from', case when x.channel = 'email' then em.sender
      when x.channel = 'whatsapp' and s.num is not null then 'whatsapp:' || s.num
      else s.num end,
    'mss', case when s.num is null then s.mss end,
    'subject', em.subject, 'message_id', em.message_id, 'in_reply_to', em.in_reply_to)
  from x
  left join sender s on s.id = x.id
  left join em on em.id = x.id
  order by x.n;
end;
$$;
comment on function private.prepare_sends(jsonb, text, text) is
  'Dispatcher: for claimed rows [{id, attempt}] picks the sender, writes the pending attempt row (and email threading ids), settles earlier unsettled attempts as reconciled, and returns one send job per row {id, attempt, tenant_id, channel, body, variables, content_sid, media, to, from, mss, subject, message_id, in_reply_to}.';
revoke all on function private.prepare_sends(jsonb, text, text) from public, anon, authenticated;
grant execute on function private.prepare_sends(jsonb, text, text) to service_role;

-- One claim for the dispatcher: claims (claim_due_messages), renders template bodies, and
-- returns a job per claimed row. Rows that can go at once come prepared (prepare_sends, ready =
-- true). The others come held, with what their step needs: ai_step 'compose' (an auto_reply
-- without text) or 'enhance' (an ai_enhance template just rendered), or `unsettled`: an earlier
-- Twilio attempt may have reached Twilio, so the worker looks it up before preparing a new one.
-- A template that cannot be rendered fails its row (template_error) here.
--
-- Why the claim is a statement of its own, before the reads: claim_due_messages takes fresh
-- snapshots inside, so it can claim a row whose contact or conversation was committed after the
-- calling statement began; a single statement joining its result would read those with the older
-- snapshot and miss them. In this (volatile, READ COMMITTED) function each following statement
-- takes a new snapshot, so it sees everything the claim saw, in the same round trip.
create or replace function private.claim_sends(
  p_batch integer,
  p_lease_seconds integer default 60,
  p_platform_number text default null,
  p_email_from text default null
) returns setof jsonb
language plpgsql security definer set search_path = '' as $$
declare
  v_ids uuid[];
  v_empty uuid[];
  v_ready jsonb;
  v_held jsonb[];
begin
  select coalesce(array_agg(c.id), '{}'), coalesce(array_agg(c.id) filter (where c.body = ''), '{}')
  into v_ids, v_empty
  from private.claim_due_messages(p_batch, p_lease_seconds) c;
  if cardinality(v_ids) = 0 then
    return;
  end if;

  if cardinality(v_empty) > 0 then
    perform private.record_send_result(p_message_id => m.id, p_provider_sid => null,
      p_error_code => 'template_error',
      p_error_message => 'the template could not be rendered: a variable has no value',
      p_permanent => true, p_attempt => m.attempts)
    from public.messages m join public.templates t on t.id = m.template_id
    where m.id = any (v_empty) and private.try_render_template(t.body, m.variables) is null;
    update public.messages m set body = private.try_render_template(t.body, m.variables)
    from public.templates t
    where m.id = any (v_empty) and t.id = m.template_id and m.status = 'sending'
      and private.try_render_template(t.body, m.variables) is not null;
  end if;

  with c as materialized (
    select m.id, m.attempts, m.channel, m.kind, m.body, m.tenant_id, m.conversation_id,
      m.template_id, m.variables, tpl.body as template_body, tpl.ai_enhance,
      tpl.whatsapp_content_sid,
      case
        when m.id = any (v_empty) and m.kind = 'auto_reply' then 'compose'
        when m.id = any (v_empty) and tpl.ai_enhance and tpl.whatsapp_content_sid is null
          and m.body <> '' then 'enhance'
      end as ai_step,
      u.unsettled
    from public.messages m
    left join public.templates tpl on tpl.id = m.template_id
    left join lateral (
      select jsonb_build_object('since', a.started_at, 'from', a.from_address,
        'to', a.to_address, 'body_sha256', a.body_sha256) as unsettled
      from private.send_attempts a
      where m.channel <> 'email' and a.message_id = m.id and a.attempt < m.attempts
        and a.outcome in ('pending', 'unknown')
      order by a.attempt limit 1
    ) u on true
    where m.id = any (v_ids) and m.status = 'sending'
  )
  select
    coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'attempt', c.attempts))
      filter (where c.ai_step is null and c.unsettled is null), '[]'::jsonb),
    coalesce(array_agg(jsonb_build_object('ready', false, 'id', c.id, 'attempt', c.attempts,
      'channel', c.channel, 'kind', c.kind, 'body', c.body, 'tenant_id', c.tenant_id,
      'conversation_id', c.conversation_id, 'template_id', c.template_id,
      'template_body', c.template_body, 'variables', c.variables, 'ai_enhance', c.ai_enhance,
      'whatsapp_content_sid', c.whatsapp_content_sid, 'ai_step', c.ai_step,
      'unsettled', c.unsettled))
      filter (where c.ai_step is not null or c.unsettled is not null), '{}')
  into v_ready, v_held
  from c;

  return query
  select j || '{"ready": true}'::jsonb
  from private.prepare_sends(v_ready, p_platform_number, p_email_from) j;
  return query select unnest(v_held);
end;
$$;
comment on function private.claim_sends(integer, integer, text, text) is
  'Dispatcher: claims up to p_batch due messages (claim_due_messages), renders template bodies (template_error fails a row), and returns one job per claimed row: prepared (prepare_sends, ready) or held for the AI step (ai_step compose/enhance) or for reconciling an unsettled earlier attempt (unsettled {since, from, to, body_sha256}).';
revoke all on function private.claim_sends(integer, integer, text, text) from public, anon, authenticated;
grant execute on function private.claim_sends(integer, integer, text, text) to service_role;

-- Results of a group of sends, in one call (one transaction). Items: {id, attempt, outcome, sid,
-- code, message, permanent, segments, from}, outcome one of
--   sent        record_sends_succeeded (the success branch of record_send_result, set-based);
--   unknown     the request may have left and no answer came: only the attempt row says so; the
--               message stays 'sending' under its lease and the next claim reconciles;
--   failed / retry / reconciled
--               the attempt rows are settled with that outcome and record_send_result applies
--               its rules (fenced by attempt; retry/backoff; 21610 opts out; reconciled = the
--               provider's copy was found: a success with its sid).
-- Returns the number of items applied (unknown ones included).
create or replace function private.record_send_results(p_items jsonb)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_ids uuid[];
  v_sent jsonb;
  v_count integer := 0;
  v_n integer;
  r record;
begin
  if exists (
    select 1 from jsonb_array_elements(p_items) i
    where coalesce(i->>'outcome', '') not in ('sent', 'unknown', 'failed', 'retry', 'reconciled')
  ) then
    raise exception 'record_send_results: outcome must be sent, unknown, failed, retry or reconciled'
      using errcode = '22023';
  end if;
  select coalesce(array_agg(i.id), '{}') into v_ids
  from jsonb_to_recordset(p_items) as i(id uuid, outcome text) where i.outcome = 'unknown';

  select jsonb_agg(i) into v_sent from jsonb_array_elements(p_items) i where i->>'outcome' = 'sent';
  if v_sent is not null then
    v_count := v_count + private.record_sends_succeeded(v_sent);
  end if;

  if cardinality(v_ids) > 0 then
    update private.send_attempts a set outcome = 'unknown', finished_at = now()
    from jsonb_to_recordset(p_items) as u(id uuid, attempt integer, outcome text)
    where a.message_id = any (v_ids) and u.outcome = 'unknown' and a.message_id = u.id
      and a.attempt = u.attempt and a.outcome = 'pending';
    get diagnostics v_n = row_count;
    v_count := v_count + v_n;
  end if;

  -- In id order: the lock order of every writer of a group.
  for r in
    select * from jsonb_to_recordset(p_items) as x(id uuid, attempt integer, outcome text,
      sid text, code text, message text, permanent boolean, segments integer, "from" text)
    where x.outcome in ('failed', 'retry', 'reconciled')
    order by x.id
  loop
    -- Only this attempt and earlier ones: a stale result must not settle the evidence of a
    -- newer attempt that may be in flight (its crash would then go unreconciled and resend).
    update private.send_attempts a set outcome = r.outcome, provider_sid = r.sid,
      finished_at = now()
    where a.message_id = r.id and a.attempt <= r.attempt and a.outcome in ('pending', 'unknown');
    perform private.record_send_result(p_message_id => r.id, p_provider_sid => r.sid,
      p_error_code => case when r.outcome = 'reconciled' then null else r.code end,
      p_error_message => r.message, p_permanent => coalesce(r.permanent, false),
      p_segments => r.segments, p_from_address => r."from", p_attempt => r.attempt);
    v_count := v_count + 1;
  end loop;
  return v_count;
end;
$$;
comment on function private.record_send_results(jsonb) is
  'Dispatcher: writes a group of send results [{id, attempt, outcome sent|unknown|failed|retry|reconciled, sid, code, message, permanent, segments, from}] in one transaction, settling their attempt rows; rules from record_sends_succeeded / record_send_result.';
revoke all on function private.record_send_results(jsonb) from public, anon, authenticated;
grant execute on function private.record_send_results(jsonb) to service_role;

-- The AI step's rewrite of a just-rendered ai_enhance template (functions/_shared/auto_reply.ts),
-- fenced like every dispatcher write: only while the row is 'sending' at that attempt.
create or replace function private.apply_enhanced_body(
  p_message_id uuid, p_attempt integer, p_body text
) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  if nullif(trim(p_body), '') is null then
    raise exception 'an enhanced body needs text' using errcode = '22023';
  end if;
  update public.messages m set body = p_body
  where m.id = p_message_id and m.status = 'sending' and m.attempts = p_attempt;
  return found;
end;
$$;
comment on function private.apply_enhanced_body(uuid, integer, text) is
  'Dispatcher AI step: replaces the rendered body of a claimed message (status sending at attempt p_attempt) with its enhancement; false when the row moved on.';
revoke all on function private.apply_enhanced_body(uuid, integer, text) from public, anon, authenticated;
grant execute on function private.apply_enhanced_body(uuid, integer, text) to service_role;
