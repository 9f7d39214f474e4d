-- Several inbound messages in one call and one transaction: what twilio-inbound sends while an
-- earlier call is still running, so a webhook burst costs one round trip, one plan and one commit
-- per group instead of per message. Each item is exactly one
-- public.record_inbound call with the same arguments, in its own subtransaction, so a bad item
-- fails alone. Items are recorded in sender order whatever order they came in: concurrent groups
-- then lock the same contacts and conversations in the same order. (Locks on other rows can still
-- meet in another order; the caller sends a deadlock victim again in a later group.)
-- Groups stay small (the caller sends at most 50): more than 64 subtransactions in one
-- transaction overflow each backend's cache of them and slow everyone's snapshots. A row lock
-- not granted within 2 s fails that item (55P03, retried by the caller) instead of holding up the
-- whole group and every webhook queued behind it.
--
-- Every item of a group gets the group transaction's now() as created_at; the caller therefore
-- puts at most one message per sender in a group, so that a thread keeps its order.
-- The item's shape, declared once: the function reads items through this type, and twilio-inbound's
-- InboundItemSchema (functions/twilio-inbound/record_batch.ts) is checked against it by a test.
create type private.inbound_item as (
  channel text,
  "from" text,
  "to" text,
  body text,
  provider_sid text,
  media jsonb,
  tenant_id uuid
);
comment on type private.inbound_item is
  'One webhook for record_inbound_many: the arguments of one public.record_inbound call.';

create or replace function private.record_inbound_many(p_items jsonb)
returns jsonb
language plpgsql security definer set search_path = '' set lock_timeout = '2s' as $$
declare
  v_item record;
  v_in private.inbound_item;
  v_results jsonb[] := '{}';
  v_state text;
  v_message text;
begin
  if jsonb_typeof(p_items) is distinct from 'array' then
    raise exception 'p_items must be a JSON array' using errcode = '22023';
  end if;
  v_results := array_fill(null::jsonb, array[jsonb_array_length(p_items)]);
  for v_item in
    select e.value as item, e.ordinality as n
      from jsonb_array_elements(p_items) with ordinality as e
     order by e.value ->> 'from', e.value ->> 'to', e.ordinality
  loop
    begin
      v_in := jsonb_populate_record(null::private.inbound_item, v_item.item);
      v_results[v_item.n] := jsonb_build_object('ok', public.record_inbound(
        p_channel => v_in.channel,
        p_from => v_in."from",
        p_to => v_in."to",
        p_body => v_in.body,
        p_provider_sid => v_in.provider_sid,
        p_media => coalesce(v_in.media, '[]'::jsonb),
        p_tenant_id => v_in.tenant_id));
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
      v_results[v_item.n] := jsonb_build_object('error',
        jsonb_build_object('code', v_state, 'message', v_message));
    end;
  end loop;
  return to_jsonb(v_results);
end;
$$;
comment on function private.record_inbound_many(jsonb) is
  'twilio-inbound: records [{channel, from, to, body, provider_sid, media, tenant_id}] in one transaction, each item one public.record_inbound call in its own subtransaction, in (from, to) order. Returns one element per item, in the given order: {ok: <record_inbound result>} or {error: {code: SQLSTATE, message}}.';
revoke all on function private.record_inbound_many(jsonb) from public, anon, authenticated;
grant execute on function private.record_inbound_many(jsonb) to service_role;
