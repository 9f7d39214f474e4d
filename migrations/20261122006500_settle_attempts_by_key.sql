-- Settling a group of results by key. record_sends_succeeded joined its items to
-- private.send_attempts and public.messages through jsonb_to_recordset, which the planner
-- estimates at 100 rows whatever it holds; it then preferred a hash join over a scan of
-- send_attempts_unsettled_idx (or of the table), and that index keeps an entry for every attempt
-- settled since the last vacuum, so each group walked all the attempts of the drain so far, a
-- cost that grew with the drain. With the group's ids as an array in the conditions, both updates
-- look their rows up by key (`BENCH_STATEMENTS=1 deno task bench dispatch` shows the statements).
-- The rule is unchanged: the success branch of private.record_send_result; keep the two in step.
create or replace function private.record_sends_succeeded(p_items jsonb)
returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_ids uuid[];
  v_count integer;
begin
  select array_agg(r.id) into v_ids
  from jsonb_to_recordset(p_items) as r(id uuid);
  if v_ids is null then
    return 0;
  end if;

  with r as materialized (
    select * from jsonb_to_recordset(p_items)
      as r(id uuid, sid text, segments integer, "from" text)
  ), settled as (
    update private.send_attempts a
       set outcome = 'sent', provider_sid = r.sid, finished_at = now()
      from r
     where a.message_id = any (v_ids) and a.message_id = r.id
       and a.outcome in ('pending', 'unknown')
    returning 1
  )
  update public.messages m set
    status = 'sent',
    sent_at = now(),
    provider_sid = coalesce(r.sid, m.provider_sid),
    segments = coalesce(r.segments, m.segments),
    from_address = coalesce(r."from", m.from_address),
    lease_until = null,
    error_code = null,
    error_message = null
  from r
  -- As record_send_result: 'queued' only after a claim (attempts > 0); a row never handed out
  -- cannot have been sent.
  where m.id = any (v_ids) and m.id = r.id
    and (m.status = 'sending' or (m.status = 'queued' and m.attempts > 0));
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function private.record_sends_succeeded(jsonb) is
  'Dispatcher: records a group of accepted sends [{id, sid, segments, from}] at once (the success branch of record_send_result, set-based) and settles their attempt rows. Returns the number of messages moved to sent.';
revoke all on function private.record_sends_succeeded(jsonb) from public, anon, authenticated;
