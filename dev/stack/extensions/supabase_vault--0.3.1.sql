-- Supabase Vault 0.3.1, emulated for the local stack: the objects of supabase/vault
-- sql/supabase_vault--0.3.0.sql (0.3.1 changed no SQL) with the same names, columns, signatures
-- and privileges. Vault's C functions (libsodium's deterministic AEAD under pgsodium's root key)
-- are replaced by pgcrypto: AES-256-CBC with an IV derived from the row's nonce and id, plus an
-- HMAC-SHA256 tag over IV, ciphertext and the additional data (the secret's id), so a secret is
-- stored encrypted, a ciphertext copied to another row does not decrypt, and tampering is
-- detected. The root key is a file in the data directory (`vault_root.key`, written by
-- dev/stack/postgres.ts), read only by vault._root_key(), as pgsodium reads pgsodium_root.key.

\echo Use "CREATE EXTENSION supabase_vault" to load this file. \quit

-- The root key, 64 hex characters. SECURITY DEFINER (pg_read_file needs the superuser) and
-- executable by nobody else: only the two crypto functions below call it.
create function vault._root_key() returns bytea
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_hex text := pg_catalog.pg_read_file('vault_root.key', 0, 64, true);
begin
  if v_hex is null or v_hex !~ '^[0-9a-f]{64}$' then
    raise exception 'vault root key missing or malformed'
      using hint = 'the local stack writes vault_root.key into the data directory on start';
  end if;
  return pg_catalog.decode(v_hex, 'hex');
end;
$$;

-- Per key id and context, 64 bytes from the root key: the AES-256 key, then the HMAC key.
create function vault._derive_keys(key_id bigint, context bytea) returns bytea
language sql
stable
security definer
set search_path = ''
as $$
  select extensions.hmac(
    pg_catalog.convert_to('vault:' || key_id::text || ':', 'UTF8') || coalesce(context, ''::bytea),
    vault._root_key(), 'sha512')
$$;

create function vault._crypto_aead_det_encrypt(
  message bytea,
  additional bytea,
  key_id bigint,
  context bytea = 'pgsodium',
  nonce bytea = null
) returns bytea
language plpgsql
immutable
security definer
set search_path = ''
as $$
declare
  v_keys bytea := vault._derive_keys(key_id, context);
  v_mac bytea := pg_catalog.substr(v_keys, 33, 32);
  v_iv bytea := pg_catalog.substr(
    extensions.hmac(coalesce(nonce, ''::bytea) || coalesce(additional, ''::bytea), v_mac, 'sha256'),
    1, 16);
  v_ct bytea := extensions.encrypt_iv(message, pg_catalog.substr(v_keys, 1, 32), v_iv, 'aes-cbc/pad:pkcs');
begin
  return v_ct || extensions.hmac(v_iv || v_ct || coalesce(additional, ''::bytea), v_mac, 'sha256');
end;
$$;

create function vault._crypto_aead_det_decrypt(
  message bytea,
  additional bytea,
  key_id bigint,
  context bytea = 'pgsodium',
  nonce bytea = null
) returns bytea
language plpgsql
immutable
security definer
set search_path = ''
as $$
declare
  v_keys bytea := vault._derive_keys(key_id, context);
  v_mac bytea := pg_catalog.substr(v_keys, 33, 32);
  v_iv bytea := pg_catalog.substr(
    extensions.hmac(coalesce(nonce, ''::bytea) || coalesce(additional, ''::bytea), v_mac, 'sha256'),
    1, 16);
  v_len integer := pg_catalog.length(message);
  v_ct bytea;
begin
  if v_len < 48 then
    raise exception 'invalid ciphertext';
  end if;
  v_ct := pg_catalog.substr(message, 1, v_len - 32);
  if extensions.hmac(v_iv || v_ct || coalesce(additional, ''::bytea), v_mac, 'sha256')
     <> pg_catalog.substr(message, v_len - 31) then
    raise exception 'invalid ciphertext';
  end if;
  return extensions.decrypt_iv(v_ct, pg_catalog.substr(v_keys, 1, 32), v_iv, 'aes-cbc/pad:pkcs');
end;
$$;

create function vault._crypto_aead_det_noncegen() returns bytea
language sql
as $$
  select extensions.gen_random_bytes(16)
$$;

create table vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea default vault._crypto_aead_det_noncegen(),
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);
comment on table vault.secrets is
  'Table with encrypted `secret` column for storing sensitive information on disk.';
create unique index on vault.secrets using btree (name) where name is not null;

create view vault.decrypted_secrets as
select s.id,
  s.name,
  s.description,
  s.secret,
  pg_catalog.convert_from(
    vault._crypto_aead_det_decrypt(
      message := pg_catalog.decode(s.secret, 'base64'),
      additional := pg_catalog.convert_to(s.id::text, 'utf8'),
      key_id := 0,
      context := 'pgsodium'::bytea,
      nonce := s.nonce
    ),
    'utf8') as decrypted_secret,
  s.key_id,
  s.nonce,
  s.created_at,
  s.updated_at
from vault.secrets s;

-- Vault inserts the plain text and then overwrites it with the ciphertext; here the id and nonce
-- are chosen first, so the plain text is never written to the table at all.
create function vault.create_secret(
  new_secret text,
  new_name text = null,
  new_description text = '',
  new_key_id uuid = null -- unused, as in Vault 0.3
) returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id uuid := pg_catalog.gen_random_uuid();
  v_nonce bytea := vault._crypto_aead_det_noncegen();
begin
  insert into vault.secrets (id, secret, name, description, nonce)
  values (
    v_id,
    pg_catalog.encode(vault._crypto_aead_det_encrypt(
      message := pg_catalog.convert_to(new_secret, 'utf8'),
      additional := pg_catalog.convert_to(v_id::text, 'utf8'),
      key_id := 0,
      context := 'pgsodium'::bytea,
      nonce := v_nonce), 'base64'),
    new_name,
    new_description,
    v_nonce
  );
  return v_id;
end;
$$;

create function vault.update_secret(
  secret_id uuid,
  new_secret text = null,
  new_name text = null,
  new_description text = null,
  new_key_id uuid = null -- unused, as in Vault 0.3
) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update vault.secrets s
  set secret = case when new_secret is null then s.secret
      else pg_catalog.encode(vault._crypto_aead_det_encrypt(
        message := pg_catalog.convert_to(new_secret, 'utf8'),
        additional := pg_catalog.convert_to(s.id::text, 'utf8'),
        key_id := 0,
        context := 'pgsodium'::bytea,
        nonce := s.nonce), 'base64') end,
    name = coalesce(new_name, s.name),
    description = coalesce(new_description, s.description),
    updated_at = now()
  where s.id = secret_id;
end;
$$;

revoke all on function
  vault._root_key(),
  vault._derive_keys(bigint, bytea),
  vault._crypto_aead_det_encrypt(bytea, bytea, bigint, bytea, bytea),
  vault._crypto_aead_det_decrypt(bytea, bytea, bigint, bytea, bytea),
  vault._crypto_aead_det_noncegen(),
  vault.create_secret(text, text, text, uuid),
  vault.update_secret(uuid, text, text, text, uuid)
from public;

select pg_catalog.pg_extension_config_dump('vault.secrets', '');
