-- Templates: the allowed {variables}, rendering, validation when a template is saved, usage counts,
-- and the helpers that build the variables of a contact, an appointment or an order.

-- The one list of variables a template may use. Everything else in braces that looks like a
-- variable ({word}) is refused when the template is saved, so a typo never becomes a blank at send
-- time. {retry_url} is the order's payment_url, used by the payment-failed notice.
-- (PL/pgSQL rather than SQL here and below: a SQL function with a SET clause is never inlined and
-- is planned again on every call, which a bulk send of thousands of renders would feel.)
create or replace function private.template_variable_names() returns text[]
language plpgsql immutable parallel safe set search_path = '' as $$
begin
  return array[
    'first_name', 'business_name', 'service', 'date', 'time',
    'order_number', 'tracking_number', 'tracking_url', 'retry_url'
  ];
end;
$$;
comment on function private.template_variable_names() is
  'The variables a template may use, without braces: first_name, business_name, service, date, time, order_number, tracking_number, tracking_url, retry_url.';
revoke all on function private.template_variable_names() from public;
grant execute on function private.template_variable_names() to authenticated, service_role;

-- What counts as a variable: a name in braces. Other braces ("{ }", "{{") are left alone.
create or replace function private.template_variables_used(p_body text) returns text[]
language plpgsql immutable parallel safe set search_path = '' as $$
begin
  return (select coalesce(array_agg(distinct m[1] order by m[1]), '{}')
    from regexp_matches(coalesce(p_body, ''), '\{([A-Za-z_][A-Za-z0-9_]*)\}', 'g') as m);
end;
$$;
comment on function private.template_variables_used(text) is
  'The distinct {variable} names a template text uses, sorted.';
revoke all on function private.template_variables_used(text) from public;
grant execute on function private.template_variables_used(text) to authenticated, service_role;

-- Raises 22023 naming the first variable that is not allowed.
create or replace function private.assert_template_variables(p_text text) returns void
language plpgsql immutable set search_path = '' as $$
declare
  v_unknown text;
begin
  if p_text is null or position('{' in p_text) = 0 then
    return;
  end if;
  select u into v_unknown
  from unnest(private.template_variables_used(p_text)) as u
  where u <> all (private.template_variable_names())
  order by u
  limit 1;
  if v_unknown is not null then
    raise exception 'unknown template variable {%}; allowed: %', v_unknown,
      (select string_agg('{' || n || '}', ', ') from unnest(private.template_variable_names()) n)
      using errcode = '22023';
  end if;
end;
$$;
comment on function private.assert_template_variables(text) is
  'Raises 22023 "unknown template variable {x}; allowed: ..." when a text uses a variable outside private.template_variable_names().';
revoke all on function private.assert_template_variables(text) from public;
-- render_template runs as its caller, which must be able to call this.
grant execute on function private.assert_template_variables(text) to authenticated, service_role;

-- Single pass left to right, so a value that itself contains "{time}" is never substituted again.
create or replace function public.render_template(p_body text, p_variables jsonb) returns text
language plpgsql immutable set search_path = '' as $$
declare
  v_pattern constant text := '\{[A-Za-z_][A-Za-z0-9_]*\}';
  v_rest text := coalesce(p_body, '');
  v_out text := '';
  v_pos integer;
  v_token text;
  v_name text;
  v_value text;
begin
  perform private.assert_template_variables(p_body);
  loop
    v_pos := regexp_instr(v_rest, v_pattern);
    exit when v_pos = 0;
    v_token := substring(v_rest from v_pos for length(regexp_substr(v_rest, v_pattern)));
    v_name := substr(v_token, 2, length(v_token) - 2);
    v_value := coalesce(p_variables, '{}'::jsonb) ->> v_name;
    if v_value is null then
      raise exception 'missing value for template variable {%}', v_name using errcode = '22023';
    end if;
    v_out := v_out || substr(v_rest, 1, v_pos - 1) || v_value;
    v_rest := substr(v_rest, v_pos + length(v_token));
  end loop;
  return v_out || v_rest;
end;
$$;
comment on function public.render_template(text, jsonb) is
  'Replaces each {variable} of a template text with its value from p_variables. An unknown variable or a missing (null) value raises 22023, so a message never goes out with a blank.';
revoke all on function public.render_template(text, jsonb) from public, anon;
grant execute on function public.render_template(text, jsonb) to authenticated, service_role;

-- Templates are checked when saved: body and subject may only use allowed variables.
create or replace function private.validate_template() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform private.assert_template_variables(new.body);
  perform private.assert_template_variables(new.subject);
  return new;
end;
$$;
comment on function private.validate_template() is
  'BEFORE INSERT/UPDATE trigger on public.templates: refuses unknown {variables} (22023).';
revoke all on function private.validate_template() from public;
create trigger templates_validate before insert or update of body, subject on public.templates
  for each row execute function private.validate_template();

-- usage_count: one update per template per statement (a bulk send of 10,000 rows with one template
-- is one update, not 10,000 on the same row). Security definer: agents send messages but may not
-- update templates.
create or replace function private.count_template_usage() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  update public.templates t
  set usage_count = t.usage_count + u.n
  from (
    select template_id, count(*)::integer as n
    from new_messages
    where template_id is not null
    group by template_id
  ) u
  where t.id = u.template_id;
  return null;
end;
$$;
comment on function private.count_template_usage() is
  'AFTER INSERT statement trigger on public.messages: adds the statement''s messages to templates.usage_count.';
revoke all on function private.count_template_usage() from public;
create trigger messages_count_template_usage after insert on public.messages
  referencing new table as new_messages
  for each statement execute function private.count_template_usage();

-- A timezone name that Postgres knows, else null (contacts.timezone is free text).
create or replace function private.valid_timezone(p_name text) returns text
language plpgsql stable set search_path = '' as $$
begin
  if p_name is null or p_name = '' then
    return null;
  end if;
  perform now() at time zone p_name;
  return p_name;
exception when others then
  return null;
end;
$$;
comment on function private.valid_timezone(text) is 'p_name when it is a timezone Postgres knows, else null.';
revoke all on function private.valid_timezone(text) from public;

-- The variables of one message: the contact's (first_name, business_name), plus the appointment's
-- (service, date, time in the contact's timezone, else the tenant's) and the order's
-- (order_number, tracking_number, tracking_url, retry_url) when given. Unknown values are left out
-- (not blank), so render_template raises rather than sending "Tracking: ".
create or replace function private.message_variables(
  p_contact_id uuid,
  p_appointment_id uuid default null,
  p_order_id uuid default null
) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  v_contact public.contacts;
  v_tenant public.tenants;
  v_appointment public.appointments;
  v_order public.orders;
  v_tz text;
  v_local timestamp;
  v_first text;
  v_vars jsonb;
begin
  select * into v_contact from public.contacts where id = p_contact_id;
  if not found then
    raise exception 'no contact %', p_contact_id using errcode = 'P0002';
  end if;
  select * into v_tenant from public.tenants where id = v_contact.tenant_id;
  v_first := nullif(split_part(trim(v_contact.name), ' ', 1), '');
  v_vars := jsonb_build_object(
    -- "Hi there" reads better than "Hi ," for a contact without a name.
    'first_name', coalesce(v_first, 'there'),
    'business_name', v_tenant.name
  );
  if p_appointment_id is not null then
    select * into v_appointment from public.appointments where id = p_appointment_id;
    v_tz := coalesce(private.valid_timezone(v_contact.timezone),
      private.valid_timezone(v_tenant.timezone), 'UTC');
    v_local := v_appointment.starts_at at time zone v_tz;
    v_vars := v_vars || jsonb_strip_nulls(jsonb_build_object(
      'service', v_appointment.service,
      'date', to_char(v_local, 'Dy, Mon FMDD'),
      'time', to_char(v_local, 'FMHH12:MI AM')
    ));
  end if;
  if p_order_id is not null then
    select * into v_order from public.orders where id = p_order_id;
    v_vars := v_vars || jsonb_strip_nulls(jsonb_build_object(
      'order_number', v_order.order_number,
      'tracking_number', nullif(v_order.tracking_number, ''),
      'tracking_url', nullif(v_order.tracking_url, ''),
      'retry_url', nullif(v_order.payment_url, '')
    ));
  end if;
  return v_vars;
end;
$$;
comment on function private.message_variables(uuid, uuid, uuid) is
  'Template variables for a contact, optionally with an appointment (service, date, time in the contact''s timezone else the tenant''s) and an order (order_number, tracking_number, tracking_url, retry_url). Missing values are absent, not blank.';
revoke all on function private.message_variables(uuid, uuid, uuid) from public;
grant execute on function private.message_variables(uuid, uuid, uuid) to service_role;
