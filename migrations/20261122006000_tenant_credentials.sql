-- Tenant Twilio credentials, sealed by the functions (AES-256-GCM with CREDENTIALS_KEY, which only
-- the function environment holds): the database never sees a plaintext auth token, and a dump of
-- this table is useless without the key. Only the functions' own connection reads it.
create table private.tenant_credentials (
  tenant_id uuid primary key references public.tenants (id) on delete cascade,
  account_sid text not null check (account_sid ~ '^AC[0-9a-fA-F]{32}$'),
  -- base64(iv || ciphertext || tag); additional data = tenant id, so a ciphertext copied to
  -- another tenant's row does not decrypt.
  auth_token_ciphertext text not null,
  key_version integer not null check (key_version > 0),
  -- Last four characters, for the masked status the dashboard shows.
  auth_token_last4 text not null,
  verified_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table private.tenant_credentials is
  'A tenant''s own Twilio account: AccountSid and the AES-GCM sealed auth token (with the key version that sealed it).';
create index tenant_credentials_account_sid_idx on private.tenant_credentials (account_sid);
revoke all on private.tenant_credentials from public, anon, authenticated, service_role;

create trigger tenant_credentials_touch before update on private.tenant_credentials
  for each row execute function private.touch_updated_at();
