-- One audience query for a campaign, shared by the send and its preview.
--
-- The dashboard used to preview a campaign with its own copy of the audience rules
-- (web/src/lib/audience.ts): it matched contacts having ANY of the chosen tags while
-- public.bulk_send requires ALL of them, so the preview promised messages the send never queued.
-- Now both come from private.campaign_audience (who is in the audience and why each contact is or
-- is not eligible) and private.campaign_template (who may send, the channel, the template), and the
-- preview is public.bulk_send_preview: the same functions without the writes.
--
-- public.bulk_send is restated here (from 20261122004400_bulk_send.sql) only to call those two
-- functions instead of holding the checks and the audience query inline; what it writes and
-- returns is unchanged.

-- Who may run or preview a campaign, on which channel, with which template: owners only (and the
-- service role). Raises the errors bulk_send always raised; returns the template row (all nulls
-- without a template). Security invoker: its callers are the security definer functions below.
create or replace function private.campaign_template(
  p_tenant_id uuid,
  p_channel text,
  p_template_id uuid,
  p_attributes jsonb
) returns public.templates
language plpgsql stable set search_path = '' as $$
declare
  v_template public.templates;
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
  if not exists (select 1 from public.tenants t where t.id = p_tenant_id) then
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
  return v_template;
end;
$$;
comment on function private.campaign_template(uuid, text, uuid, jsonb) is
  'Checks a campaign before it is sent or previewed: owner (or service role), channel, attributes object, tenant exists, template of this tenant and channel. Returns the template row (nulls when none).';
revoke all on function private.campaign_template(uuid, text, uuid, jsonb) from public;

-- The audience: every contact of the tenant having ALL of p_tags and every key/value of
-- p_attributes, with the reason it would be skipped (null: it gets the message). A scheduled
-- campaign is judged on the contact rules now; the WhatsApp window is the sending time's business
-- (the claim re-checks it). Callers are the two security definer functions below, which have
-- checked the caller first.
create or replace function private.campaign_audience(
  p_tenant_id uuid,
  p_channel text,
  p_tags text[],
  p_attributes jsonb,
  p_template public.templates,
  p_later boolean
) returns table (contact_id uuid, reason text, to_address text, first_name text)
language plpgsql stable set search_path = '' as $$
begin
  return query
  select c.id,
    case when p_later
      then private.contact_block_reason(c, p_channel, 'bulk')
      else private.message_block_reason(c, cv, p_template, p_channel, 'bulk', now())
    end,
    private.contact_address(c, p_channel),
    coalesce(nullif(split_part(trim(c.name), ' ', 1), ''), 'there')
  from public.contacts c
  left join public.conversations cv
    on cv.tenant_id = p_tenant_id and cv.contact_id = c.id and cv.channel = p_channel
  where c.tenant_id = p_tenant_id
    and c.tags @> coalesce(p_tags, '{}')
    and c.attributes @> coalesce(p_attributes, '{}');
end;
$$;
comment on function private.campaign_audience(uuid, text, text[], jsonb, public.templates, boolean) is
  'A campaign''s audience (contacts with all p_tags and p_attributes) with each contact''s skip reason (null = eligible), address and first name. The one audience query of bulk_send and bulk_send_preview.';
revoke all on function private.campaign_audience(uuid, text, text[], jsonb, public.templates, boolean)
  from public;

-- What a campaign would do, without doing it: {targeted, eligible, skipped: {reason: count}}.
-- Same arguments and checks as bulk_send. It cannot foresee a refusal by the enqueue rules trigger
-- at insert time (bulk_send reports those under their own code), which the audience query has
-- already ruled out for every reason it knows.
create or replace function public.bulk_send_preview(
  p_tenant_id uuid,
  p_channel text,
  p_template_id uuid default null,
  p_tags text[] default '{}',
  p_attributes jsonb default '{}',
  p_scheduled_for timestamptz default null
) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  v_template public.templates;
  v_result jsonb;
begin
  v_template := private.campaign_template(p_tenant_id, p_channel, p_template_id, p_attributes);
  select jsonb_build_object(
      'targeted', coalesce(sum(a.n), 0),
      'eligible', coalesce(sum(a.n) filter (where a.reason is null), 0),
      'skipped', coalesce(jsonb_object_agg(a.reason, a.n) filter (where a.reason is not null), '{}'))
    into v_result
  from (
    select r.reason, count(*) as n
    from private.campaign_audience(p_tenant_id, p_channel, p_tags, p_attributes, v_template,
      p_scheduled_for is not null and p_scheduled_for > now()) r
    group by r.reason
  ) a;
  return v_result;
end;
$$;
comment on function public.bulk_send_preview(uuid, text, uuid, text[], jsonb, timestamptz) is
  'Owner-only preview of public.bulk_send with the same arguments: {targeted, eligible, skipped: {reason: count}} from the same audience query; writes nothing.';
revoke all on function public.bulk_send_preview(uuid, text, uuid, text[], jsonb, timestamptz)
  from public, anon;
grant execute on function public.bulk_send_preview(uuid, text, uuid, text[], jsonb, timestamptz)
  to authenticated, service_role;

-- bulk_send, now over the two functions above (see the header).
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
  v_template := private.campaign_template(p_tenant_id, p_channel, p_template_id, p_attributes);
  select * into v_tenant from public.tenants t where t.id = p_tenant_id;
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
  select a.contact_id, a.reason, a.to_address, a.first_name
  from private.campaign_audience(p_tenant_id, p_channel, p_tags, p_attributes, v_template, v_later) a;
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
