-- Per-tenant secrets for webhooks that carry no provider signature (inbound email), and the
-- bookkeeping behind the public contact form's rate limits.
create table private.tenant_webhook_secrets (
  tenant_id uuid primary key references public.tenants (id) on delete cascade,
  -- Goes into the inbound-email webhook URL: /functions/v1/email-inbound/<secret>.
  email_inbound_secret text not null unique
    default replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),
  created_at timestamptz not null default now()
);
comment on table private.tenant_webhook_secrets is
  'Per-tenant webhook secrets (the inbound-email URL secret); 256 bits from gen_random_uuid.';
revoke all on private.tenant_webhook_secrets from public, anon, authenticated, service_role;

create or replace function private.email_inbound_secret(p_tenant_id uuid) returns text
language sql security definer set search_path = '' as $$
  insert into private.tenant_webhook_secrets (tenant_id) values (p_tenant_id)
  on conflict (tenant_id) do update set tenant_id = excluded.tenant_id
  returning email_inbound_secret;
$$;
comment on function private.email_inbound_secret(uuid) is
  'The tenant''s inbound-email webhook secret, created on first use.';
revoke all on function private.email_inbound_secret(uuid) from public, anon, authenticated;

create table private.form_submissions (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  -- sha256 of the client address: enough to count, not a stored IP.
  ip_hash text not null,
  created_at timestamptz not null default now()
);
comment on table private.form_submissions is
  'Contact-form submissions per tenant and client (hashed address), counted for rate limits.';
create index form_submissions_ip_idx on private.form_submissions (ip_hash, created_at);
create index form_submissions_tenant_idx on private.form_submissions (tenant_id, created_at);
revoke all on private.form_submissions from public, anon, authenticated, service_role;

create or replace function private.form_rate_check(
  p_tenant_id uuid,
  p_ip_hash text,
  p_per_ip integer default 5,
  p_per_tenant integer default 100
) returns text
language plpgsql security definer set search_path = '' as $$
declare
  v_ip integer;
  v_tenant integer;
begin
  -- Serialise per tenant so two concurrent submissions cannot both see "one left".
  perform pg_advisory_xact_lock(hashtextextended(p_tenant_id::text, 6000));
  select count(*) into v_ip from private.form_submissions
   where ip_hash = p_ip_hash and created_at > now() - interval '10 minutes';
  if v_ip >= p_per_ip then return 'rate_limited_ip'; end if;
  select count(*) into v_tenant from private.form_submissions
   where tenant_id = p_tenant_id and created_at > now() - interval '1 hour';
  if v_tenant >= p_per_tenant then return 'rate_limited_tenant'; end if;
  insert into private.form_submissions (tenant_id, ip_hash) values (p_tenant_id, p_ip_hash);
  delete from private.form_submissions where created_at < now() - interval '1 day';
  return null;
end;
$$;
comment on function private.form_rate_check(uuid, text, integer, integer) is
  'Counts a contact-form submission unless the client (5 per 10 min) or tenant (100 per hour) is over its limit; returns the limit hit or null.';
revoke all on function private.form_rate_check(uuid, text, integer, integer) from public, anon, authenticated;
