-- Template variables: one catalog in SQL that the dashboard reads, instead of a copy in
-- web/src/lib/template.ts kept in step by hand (the list, the sample values of the editor's
-- preview, the {name} syntax and the "unknown variable" check were all restated there).
--
-- private.template_variable_catalog() is the one list, with where each value comes from and a
-- sample for previews. private.template_variable_names() (20261122003100_templates.sql) is
-- restated to read it, so the save-time check (templates_validate), render_template and the
-- catalog cannot disagree. The dashboard asks three RPCs: template_variables() for the list,
-- template_check() while a template is edited (which variables a text uses, which are unknown,
-- and the text rendered with the samples), and template_fill() when a template is put into a
-- reply (rendered for that contact, by the variables the send itself would use).

-- source says which messages can fill the variable: 'contact' every message (first_name,
-- business_name), 'appointment' the appointment notices and reminders, 'order' the order notices.
-- PL/pgSQL for the reason given in the templates migration (inlining and planning).
create or replace function private.template_variable_catalog()
returns table (name text, source text, sample text, description text)
language plpgsql immutable parallel safe set search_path = '' as $$
begin
  return query values
    ('first_name', 'contact', 'Maria', 'The contact''s first name, or "there" without a name'),
    ('business_name', 'contact', 'Your business', 'The business''s name'),
    ('service', 'appointment', 'Haircut', 'The appointment''s service'),
    ('date', 'appointment', 'Tue, May 14', 'The appointment''s day in the contact''s timezone'),
    ('time', 'appointment', '3:30 PM', 'The appointment''s time in the contact''s timezone'),
    ('order_number', 'order', '1042', 'The order''s number'),
    ('tracking_number', 'order', '1Z999AA10123456784', 'The shipment''s tracking number'),
    ('tracking_url', 'order', 'https://track.example.com/1Z999', 'The shipment''s tracking link'),
    ('retry_url', 'order', 'https://pay.example.com/1042', 'The order''s payment link (payment failed)');
end;
$$;
comment on function private.template_variable_catalog() is
  'The one list of template variables: name, source (contact, appointment, order: which messages can fill it), a sample value for previews, and a description.';
revoke all on function private.template_variable_catalog() from public;
grant execute on function private.template_variable_catalog() to authenticated, service_role;

create or replace function private.template_variable_names() returns text[]
language plpgsql immutable parallel safe set search_path = '' as $$
begin
  return (select array_agg(c.name) from private.template_variable_catalog() c);
end;
$$;
comment on function private.template_variable_names() is
  'The names of private.template_variable_catalog(), in its order, without braces.';

-- The catalog for the dashboard (chips, samples). Not tenant data, but only signed-in people edit
-- templates.
create or replace function public.template_variables()
returns table (name text, source text, sample text, description text)
language sql stable set search_path = '' as $$
  select c.name, c.source, c.sample, c.description from private.template_variable_catalog() c
$$;
comment on function public.template_variables() is
  'Template variables a template may use: name (without braces), source (contact, appointment, order), sample value, description.';
revoke all on function public.template_variables() from public, anon;
grant execute on function public.template_variables() to authenticated, service_role;

-- What the editor shows while a text is typed: the variables it uses (sorted, each with known),
-- the unknown ones, and the text rendered with the sample values (null while any is unknown: the
-- save would be refused, and render_template would raise).
create or replace function public.template_check(p_text text) returns jsonb
language plpgsql stable set search_path = '' as $$
declare
  v_used text[] := private.template_variables_used(p_text);
  v_names text[] := private.template_variable_names();
  v_unknown text[];
  v_samples jsonb;
begin
  select coalesce(array_agg(u order by u), '{}') into v_unknown
  from unnest(v_used) u where u <> all (v_names);
  select jsonb_object_agg(c.name, c.sample) into v_samples from private.template_variable_catalog() c;
  return jsonb_build_object(
    'variables', (select coalesce(jsonb_agg(jsonb_build_object('name', u, 'known', u = any (v_names))
      order by u), '[]') from unnest(v_used) u),
    'unknown', to_jsonb(v_unknown),
    'preview', case when cardinality(v_unknown) = 0
      then public.render_template(coalesce(p_text, ''), v_samples) end);
end;
$$;
comment on function public.template_check(text) is
  'For the template editor: {variables: [{name, known}], unknown: [names], preview: text rendered with the sample values, or null while a variable is unknown}.';
revoke all on function public.template_check(text) from public, anon;
grant execute on function public.template_check(text) to authenticated, service_role;

-- A template filled for one contact, to edit before sending: the contact's variables come from
-- private.message_variables (as for every send); variables only an appointment or an order can
-- fill stay as {name} for the person to complete. Security definer because message_variables is
-- not callable by clients; the caller must be a member of the contact's business, and the
-- template must belong to it.
create or replace function public.template_fill(p_template_id uuid, p_contact_id uuid)
returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  v_template public.templates;
  v_tenant uuid;
  v_vars jsonb;
begin
  select c.tenant_id into v_tenant from public.contacts c where c.id = p_contact_id;
  if v_tenant is null or not (private.is_member(v_tenant)
      or coalesce(auth.role(), '') = 'service_role') then
    raise exception 'no such contact' using errcode = 'P0002';
  end if;
  select * into v_template from public.templates t
  where t.id = p_template_id and t.tenant_id = v_tenant;
  if v_template.id is null then
    raise exception 'no such template' using errcode = 'P0002';
  end if;
  v_vars := private.message_variables(p_contact_id);
  -- Unfilled variables render as themselves: render_template substitutes in one pass.
  select v_vars || coalesce(jsonb_object_agg(n, '{' || n || '}'), '{}') into v_vars
  from unnest(private.template_variable_names()) n where not v_vars ? n;
  return jsonb_build_object(
    'body', public.render_template(v_template.body, v_vars),
    'subject', case when v_template.subject is not null
      then public.render_template(v_template.subject, v_vars) end);
end;
$$;
comment on function public.template_fill(uuid, uuid) is
  'A template of the contact''s business rendered for that contact ({body, subject}); variables the contact cannot fill stay as {name}. Members of the business only.';
revoke all on function public.template_fill(uuid, uuid) from public, anon;
grant execute on function public.template_fill(uuid, uuid) to authenticated, service_role;
