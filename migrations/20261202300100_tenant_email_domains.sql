-- email_from was free text: an owner set "Security Team <security@bank.example>" and the platform
-- would have sent as the bank. A business now sends email as
-- * a domain it has verified: a row in public.tenant_email_domains with verified_at set. Owners
--   ask for a domain (insert); only the service role marks it verified, after checking the DNS
--   records (SPF/DKIM at the email provider) out of band: there is no automatic DNS check here,
--   an operator or a provider webhook running as the service role does it;
-- * or the platform's address (private.settings key 'platform_email_address') with the
--   business's own name as the display name: "Bloom Salon <no-reply@switchboard.example>";
-- * or nothing (null): the dispatcher uses the platform's EMAIL_FROM.
-- The rule is a trigger on tenants, checked for every write made as a client role (the dashboard,
-- the REST API, RPCs running as the caller). The service role and direct SQL (operators, seed,
-- tests) are trusted to set what they want, as they are for platform_provisioned.

create table public.tenant_email_domains (
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  domain text not null check (domain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'),
  verified_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, domain)
);
comment on table public.tenant_email_domains is
  'Sender domains a business asked for; verified_at is set by the service role once the domain''s DNS is checked. email_from must use a verified one.';
-- A domain speaks for one business once verified.
create unique index tenant_email_domains_verified_key on public.tenant_email_domains (domain)
  where verified_at is not null;

alter table public.tenant_email_domains enable row level security;
revoke all on public.tenant_email_domains from anon, authenticated;
grant select, delete on public.tenant_email_domains to authenticated;
grant insert (tenant_id, domain) on public.tenant_email_domains to authenticated;
grant all on public.tenant_email_domains to service_role;

create policy "Members can read their tenant's email domains" on public.tenant_email_domains
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Owners can ask for an email domain" on public.tenant_email_domains
  for insert to authenticated
  with check (tenant_id = any (array(select private.member_tenant_ids('owner'))));

create policy "Owners can remove an email domain" on public.tenant_email_domains
  for delete to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))));

create trigger tenant_email_domains_keep_tenant_id before update on public.tenant_email_domains
  for each row execute function private.keep_tenant_id();

-- Null when p_from may be this tenant's sender, else why not.
create or replace function private.email_from_block_reason(p_tenant public.tenants, p_from text)
returns text
language plpgsql stable security definer set search_path = '' as $$
declare
  v_addr text := private.email_address(p_from);
  v_name text := nullif(trim(both ' "' from (regexp_match(coalesce(p_from, ''), '^([^<]*)<'))[1]), '');
  v_platform text;
begin
  if p_from is null then
    return null;
  end if;
  if v_addr is null or v_addr !~ '^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$' then
    return 'invalid_address';
  end if;
  if exists (select 1 from public.tenant_email_domains d
             where d.tenant_id = p_tenant.id and d.verified_at is not null
               and d.domain = split_part(v_addr, '@', 2)) then
    return null;
  end if;
  select s.value into v_platform from private.settings s where s.key = 'platform_email_address';
  if v_platform is not null and v_addr = lower(v_platform) then
    if v_name is distinct from p_tenant.name then
      return 'display_name_not_business';
    end if;
    return null;
  end if;
  return 'domain_not_verified';
end;
$$;
comment on function private.email_from_block_reason(public.tenants, text) is
  'Null when the tenant may send as p_from (null, a verified domain of its own, or the platform address with the business name as display name), else invalid_address, domain_not_verified or display_name_not_business.';
revoke all on function private.email_from_block_reason(public.tenants, text) from public;
grant execute on function private.email_from_block_reason(public.tenants, text)
  to authenticated, service_role;

create or replace function private.check_email_from()
returns trigger
language plpgsql set search_path = '' as $$
declare
  v_reason text;
begin
  if current_user not in ('authenticated', 'anon') then
    return new;
  end if;
  v_reason := private.email_from_block_reason(new, new.email_from);
  if v_reason is not null then
    raise exception 'email_from % is not allowed: %', new.email_from, v_reason
      using errcode = '23514',
        hint = case v_reason
          when 'domain_not_verified' then 'Add the domain under Channels and have it verified first, or leave the sender empty to use the platform address.'
          when 'display_name_not_business' then 'The platform address may only be used with the business name as display name.'
          else 'Use "Name <address@domain>" or a bare address.' end;
  end if;
  return new;
end;
$$;
comment on function private.check_email_from() is
  'BEFORE INSERT/UPDATE OF email_from, name on tenants: refuses a sender the business has not verified.';
revoke all on function private.check_email_from() from public;

create trigger tenants_check_email_from
  before insert or update of email_from, name on public.tenants
  for each row when (new.email_from is not null)
  execute function private.check_email_from();
