-- The dispatcher's write-back for a group of successful sends, set-based: one UPDATE for a group
-- of rows instead of one private.record_send_result() call each. It applies exactly the
-- success branch of private.record_send_result (20261122002300_send_results.sql): a row still
-- 'sending', or 'queued' again after its lease expired, becomes 'sent' with sent_at,
-- provider_sid, segments and from_address, its lease and earlier retry errors cleared; anything
-- else (already recorded, final) is left alone. Errors keep going through record_send_result,
-- which owns the retry/backoff/opt-out rules. Keep the two in step.
-- The group's ids go into the conditions as an array so both updates look their rows up by key:
-- jsonb_to_recordset is estimated at 100 rows whatever it holds, and joined through it alone the
-- planner preferred a hash join over send_attempts_unsettled_idx, which keeps an entry for every
-- attempt settled since the last vacuum (so each group walked a whole drain's attempts).
-- (Folded: an earlier unreleased migration 20261122006500 restated this function to add that.)
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
