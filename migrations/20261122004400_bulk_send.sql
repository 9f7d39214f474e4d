-- public.bulk_send(...): a campaign to an audience chosen by tags, attributes and consent. One
-- outbound 'bulk' message per eligible contact, in that contact's conversation on the channel
-- (created when missing), queued now or scheduled for later; one public.bulk_sends row with the
-- counts.
--
-- Who may send: owners only (and the service role, for server-side jobs). A campaign is a
-- marketing decision that costs money and touches every customer; agents work the inbox one
-- conversation at a time. Security definer because it writes conversations, messages and
-- bulk_sends in one go under that owner check; search_path is empty and every name qualified.
-- (Advisor note: a security definer function in an exposed schema is intended here; the first
-- thing it does is the membership/owner check.)
--
-- Skipped contacts are counted by reason, from the outbox rules' own functions
-- (private.message_block_reason: 'opted_out', 'no_promotional_consent', 'no_address',
-- 'whatsapp_window_closed' for WhatsApp free-form text to a contact silent for 24 h), plus any code
-- the enqueue rules trigger set if it still refused a row on insert (that row stays as history).

create or replace function public.bulk_send(
  p_tenant_id uuid,
  p_channel text,
  p_body text default null,
  p_template_id uuid default null,
  p_tags text[] default '{}',
  p_attributes jsonb default '{}',
  p_name text default '',
  p_scheduled_for timestamptz default null
)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_template public.templates;
  v_tenant public.tenants;
  v_body text;
  v_bulk_id uuid;
  v_later boolean := p_scheduled_for is not null and p_scheduled_for > now();
  v_targeted integer;
  v_queued integer;
  v_skipped jsonb;
begin
  if coalesce(auth.role(), '') <> 'service_role' and not private.is_owner(p_tenant_id) then
    raise exception 'only an owner of this tenant can send a bulk message' using errcode = '42501';
  end if;
  if p_channel is null or p_channel not in ('sms', 'whatsapp', 'email') then
    raise exception 'channel must be sms, whatsapp or email (got %)', p_channel using errcode = '22023';
  end if;
  if p_attributes is null or jsonb_typeof(p_attributes) <> 'object' then
    raise exception 'attributes must be a JSON object' using errcode = '22023';
  end if;
  select * into v_tenant from public.tenants t where t.id = p_tenant_id;
  if v_tenant.id is null then
    raise exception 'no such tenant' using errcode = 'P0002';
  end if;

  if p_template_id is not null then
    select * into v_template from public.templates t
    where t.id = p_template_id and t.tenant_id = p_tenant_id;
    if v_template.id is null then
      raise exception 'template not found in this tenant' using errcode = '22023';
    end if;
    if v_template.channel not in ('any', p_channel) then
      raise exception 'template % is for channel %', v_template.name, v_template.channel
        using errcode = '22023';
    end if;
  end if;
  v_body := coalesce(nullif(trim(p_body), ''), v_template.body);
  if v_body is null then
    raise exception 'a body or a template is required' using errcode = '22023';
  end if;

  insert into public.bulk_sends (tenant_id, name, channel, template_id, body, subject, audience,
    status, scheduled_for, created_by)
  values (p_tenant_id, coalesce(p_name, ''), p_channel, v_template.id, v_body, v_template.subject,
    jsonb_build_object('tags', to_jsonb(coalesce(p_tags, '{}')), 'attributes', p_attributes),
    'queued', case when v_later then p_scheduled_for end, auth.uid())
  returning id into v_bulk_id;

  -- The audience and why each contact is or is not eligible.
  if to_regclass('pg_temp.bulk_audience') is null then
    create temporary table bulk_audience (
      contact_id uuid primary key,
      reason text,
      to_address text,
      first_name text
    ) on commit drop;
  else
    truncate pg_temp.bulk_audience;
  end if;

  insert into pg_temp.bulk_audience (contact_id, reason, to_address, first_name)
  select c.id,
    case when v_later
      -- Scheduled: contact rules now; the WhatsApp window is the sending time's business (the
      -- claim re-checks it).
      then private.contact_block_reason(c, p_channel, 'bulk')
      else private.message_block_reason(c, cv, v_template, p_channel, 'bulk', now())
    end,
    private.contact_address(c, p_channel),
    coalesce(nullif(split_part(trim(c.name), ' ', 1), ''), 'there')
  from public.contacts c
  left join public.conversations cv
    on cv.tenant_id = p_tenant_id and cv.contact_id = c.id and cv.channel = p_channel
  where c.tenant_id = p_tenant_id
    and c.tags @> coalesce(p_tags, '{}')
    and c.attributes @> p_attributes;
  get diagnostics v_targeted = row_count;

  insert into public.conversations (tenant_id, contact_id, channel)
  select p_tenant_id, a.contact_id, p_channel from pg_temp.bulk_audience a where a.reason is null
  on conflict (tenant_id, contact_id, channel) do nothing;

  -- Rows the enqueue rules refused on insert (they come back 'failed' with an error code) count as
  -- skipped under that code.
  with ins as (
    insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
      body, subject, status, scheduled_for, next_attempt_at, to_address, template_id, variables,
      bulk_send_id, sent_by)
    select p_tenant_id, cv.id, a.contact_id, 'outbound', p_channel, 'bulk',
      public.render_template(v_body, vars.v),
      case when p_channel = 'email' then coalesce(v_template.subject, nullif(p_name, ''), v_tenant.name) end,
      case when v_later then 'scheduled' else 'queued' end,
      case when v_later then p_scheduled_for end,
      case when v_later then null else now() end,
      a.to_address, v_template.id, vars.v, v_bulk_id, auth.uid()
    from pg_temp.bulk_audience a
    join public.conversations cv
      on cv.tenant_id = p_tenant_id and cv.contact_id = a.contact_id and cv.channel = p_channel
    cross join lateral (
      select jsonb_strip_nulls(jsonb_build_object('first_name', a.first_name,
        'business_name', v_tenant.name)) as v
    ) vars
    where a.reason is null
    returning contact_id, status, error_code
  )
  update pg_temp.bulk_audience a
  set reason = coalesce(ins.error_code, ins.status)
  from ins
  where a.contact_id = ins.contact_id and ins.status not in ('queued', 'scheduled');

  select count(*) filter (where a.reason is null) into v_queued from pg_temp.bulk_audience a;
  select coalesce(jsonb_object_agg(s.reason, s.n), '{}') into v_skipped
  from (
    select a.reason, count(*) as n from pg_temp.bulk_audience a
    where a.reason is not null group by a.reason
  ) s;

  update public.bulk_sends b
  set targeted = v_targeted, queued = v_queued, skipped = v_skipped
  where b.id = v_bulk_id;

  return jsonb_build_object('bulk_send_id', v_bulk_id, 'targeted', v_targeted,
    'queued', v_queued, 'skipped', v_skipped);
end;
$$;
comment on function public.bulk_send(uuid, text, text, uuid, text[], jsonb, text, timestamptz) is
  'Owner-only campaign: one bulk message per eligible contact (tags, attributes, consent), queued or scheduled; returns {bulk_send_id, targeted, queued, skipped: {reason: count}}.';
revoke all on function public.bulk_send(uuid, text, text, uuid, text[], jsonb, text, timestamptz)
  from public, anon;
grant execute on function public.bulk_send(uuid, text, text, uuid, text[], jsonb, text, timestamptz)
  to authenticated, service_role;
