-- Team invitations that the invitee accepts, instead of add_member silently adding any existing
-- account by email. add_member told an owner whether an address had an account ("no user with
-- email …") and made people members of a business without asking them. Now an owner invites an
-- address; the invitation names no account and says nothing about whether one exists; the person
-- who reads that address signs in (or signs up and confirms it) and accepts. Invitations expire
-- after 7 days and owners can revoke them. The invite mail is sent by the team-invite edge function
-- (it calls invite_member with the owner's token, so these rules decide).
--
-- Errors (PostgREST maps the SQLSTATE): 42501 not allowed (403) · 22023 bad argument (400) ·
-- P0002 no such pending invitation (404) · 23505 already a member (409) · PT429 too many
-- invitations (429).
--
-- Advisor note: the RPCs are security definer in an exposed schema that authenticated can execute
-- (authenticated_security_definer_function_executable), on purpose: each checks auth.uid() and the
-- caller's role or confirmed address first; anon and public cannot execute them.

create table public.tenant_invitations (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  -- Lower-cased; the format GoTrue accepts (checkmail's pattern), so a mail can reach it.
  email text not null check (
    email = lower(email) and length(email) <= 255
    and email ~ '^[a-z0-9.!#$%&''*+/=?^_`{|}~-]+@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$'
  ),
  role text not null check (role in ('owner', 'agent')),
  invited_by uuid references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  -- Each (re)send moves sent_at and expires_at; the throttles below count sends.
  sent_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  accepted_at timestamptz,
  accepted_by uuid references auth.users (id) on delete set null,
  revoked_at timestamptz,
  check (accepted_at is null or revoked_at is null)
);
comment on table public.tenant_invitations is
  'Invitations to join a tenant, by email. Owners see their tenant''s; the invitee sees those to their confirmed address. Written only through invite_member, revoke_invitation and accept_invitation.';

-- One open invitation per address and tenant (a re-invite refreshes it).
create unique index tenant_invitations_open_key on public.tenant_invitations (tenant_id, email)
  where accepted_at is null and revoked_at is null;
create index tenant_invitations_email_idx on public.tenant_invitations (email)
  where accepted_at is null and revoked_at is null;

-- Rows never move between tenants (as every tenant table, 20261122009000_tenant_id_immutable).
create trigger tenant_invitations_keep_tenant_id before update of tenant_id
  on public.tenant_invitations for each row execute function private.keep_tenant_id();

alter table public.tenant_invitations enable row level security;
revoke all on public.tenant_invitations from anon, authenticated;
grant select on public.tenant_invitations to authenticated;

-- The signed-in user's address, only once confirmed: an address someone merely typed into a
-- sign-up form must not collect invitations.
create or replace function private.confirmed_email() returns text
language sql stable security definer set search_path = '' as $$
  select lower(u.email) from auth.users u
  where u.id = (select auth.uid()) and u.email_confirmed_at is not null
$$;
comment on function private.confirmed_email() is
  'The signed-in user''s email, lower-cased, if confirmed; otherwise null.';
revoke all on function private.confirmed_email() from public;
grant execute on function private.confirmed_email() to authenticated;

create policy tenant_invitations_select on public.tenant_invitations for select to authenticated
  using (private.is_owner(tenant_id) or email = (select private.confirmed_email()));

create or replace function public.invite_member(p_tenant_id uuid, p_email text, p_role text)
returns public.tenant_invitations
language plpgsql security definer set search_path = '' as $$
declare
  v_email text := lower(trim(coalesce(p_email, '')));
  v_inv public.tenant_invitations;
  v_sent integer;
begin
  perform private.require_owner(p_tenant_id);
  perform private.require_role(p_role);
  if v_email !~ '^[a-z0-9.!#$%&''*+/=?^_`{|}~-]+@[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$'
     or length(v_email) > 255 then
    raise exception 'invalid email address: %', p_email using errcode = '22023';
  end if;
  -- The owner already sees the team's addresses (list_members); nothing about other accounts.
  if exists (select 1 from public.tenant_members m join auth.users u on u.id = m.user_id
             where m.tenant_id = p_tenant_id and lower(u.email) = v_email) then
    raise exception '% is already a member of this tenant', v_email using errcode = '23505';
  end if;
  -- Invitation mails go to any address: cap them so a business cannot be used to spam.
  select count(*) into v_sent from public.tenant_invitations i
  where i.tenant_id = p_tenant_id and i.sent_at > now() - interval '1 hour';
  if v_sent >= 20 then
    raise exception 'too many invitations sent in the last hour; try again later'
      using errcode = 'PT429';
  end if;
  update public.tenant_invitations i
  set role = p_role, invited_by = (select auth.uid()), sent_at = now(),
    expires_at = now() + interval '7 days'
  where i.tenant_id = p_tenant_id and i.email = v_email
    and i.accepted_at is null and i.revoked_at is null
    and i.sent_at < now() - interval '1 minute'
  returning * into v_inv;
  if v_inv.id is null and exists (select 1 from public.tenant_invitations i
      where i.tenant_id = p_tenant_id and i.email = v_email
        and i.accepted_at is null and i.revoked_at is null) then
    raise exception 'an invitation to % was sent less than a minute ago', v_email
      using errcode = 'PT429';
  end if;
  if v_inv.id is null then
    insert into public.tenant_invitations (tenant_id, email, role, invited_by)
    values (p_tenant_id, v_email, p_role, (select auth.uid()))
    returning * into v_inv;
  end if;
  return v_inv;
end;
$$;
comment on function public.invite_member(uuid, text, text) is
  'Owners only: invites an address as owner or agent (or refreshes its open invitation, at most once a minute; 20 sends per tenant per hour). Says nothing about whether the address has an account.';
revoke all on function public.invite_member(uuid, text, text) from public, anon;
grant execute on function public.invite_member(uuid, text, text) to authenticated;

create or replace function public.revoke_invitation(p_invitation_id uuid)
returns public.tenant_invitations
language plpgsql security definer set search_path = '' as $$
declare
  v_inv public.tenant_invitations;
begin
  select * into v_inv from public.tenant_invitations i where i.id = p_invitation_id;
  -- Unknown and foreign invitations look the same to the caller.
  if v_inv.id is null or not private.is_owner(v_inv.tenant_id) then
    perform private.require_owner(coalesce(v_inv.tenant_id, gen_random_uuid()));
  end if;
  if v_inv.accepted_at is not null or v_inv.revoked_at is not null then
    raise exception 'this invitation is no longer open' using errcode = 'P0002';
  end if;
  update public.tenant_invitations i set revoked_at = now() where i.id = p_invitation_id
  returning * into v_inv;
  return v_inv;
end;
$$;
comment on function public.revoke_invitation(uuid) is
  'Owners of the invitation''s tenant: revokes an open invitation; its link stops working.';
revoke all on function public.revoke_invitation(uuid) from public, anon;
grant execute on function public.revoke_invitation(uuid) to authenticated;

create or replace function public.accept_invitation(p_invitation_id uuid)
returns public.tenant_members
language plpgsql security definer set search_path = '' as $$
declare
  v_user uuid := (select auth.uid());
  v_email text := private.confirmed_email();
  v_inv public.tenant_invitations;
  v_member public.tenant_members;
begin
  if v_user is null then
    raise exception 'sign in to accept an invitation' using errcode = '42501';
  end if;
  select * into v_inv from public.tenant_invitations i where i.id = p_invitation_id for update;
  -- Someone else's invitation answers as a missing one: the id alone grants nothing.
  if v_inv.id is null or v_email is null or v_inv.email <> v_email
     or v_inv.accepted_at is not null or v_inv.revoked_at is not null then
    raise exception 'no open invitation for your address with this link' using errcode = 'P0002',
      hint = 'Sign in with the address the invitation was sent to; owners can send a new one.';
  end if;
  if v_inv.expires_at < now() then
    raise exception 'this invitation has expired; ask an owner to send a new one'
      using errcode = 'P0002';
  end if;
  insert into public.tenant_members (tenant_id, user_id, role)
  values (v_inv.tenant_id, v_user, v_inv.role)
  on conflict do nothing
  returning * into v_member;
  if v_member.user_id is null then
    select * into v_member from public.tenant_members m
    where m.tenant_id = v_inv.tenant_id and m.user_id = v_user;
  end if;
  update public.tenant_invitations i set accepted_at = now(), accepted_by = v_user
  where i.id = v_inv.id;
  return v_member;
end;
$$;
comment on function public.accept_invitation(uuid) is
  'The invitee (signed in with the invited address, confirmed): joins the tenant with the invited role. Expired, revoked, used or foreign invitations are P0002.';
revoke all on function public.accept_invitation(uuid) from public, anon;
grant execute on function public.accept_invitation(uuid) to authenticated;

-- What the invitee sees before accepting: which business invites them, as what. Tenants are not
-- readable to non-members, so the name comes through here.
create or replace function public.my_invitations()
returns table (id uuid, tenant_id uuid, tenant_name text, role text, expires_at timestamptz)
language sql stable security definer set search_path = '' as $$
  select i.id, i.tenant_id, t.name, i.role, i.expires_at
  from public.tenant_invitations i join public.tenants t on t.id = i.tenant_id
  where i.email = private.confirmed_email()
    and i.accepted_at is null and i.revoked_at is null and i.expires_at > now()
  order by i.sent_at desc
$$;
comment on function public.my_invitations() is
  'The open invitations to the signed-in user''s confirmed address, with the business name.';
revoke all on function public.my_invitations() from public, anon;
grant execute on function public.my_invitations() to authenticated;

-- add_member is gone: it revealed accounts and added people without their consent.
drop function public.add_member(uuid, text, text);
