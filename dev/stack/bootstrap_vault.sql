-- Supabase Vault, as every Supabase project has it before its first migration: the extension
-- (emulated by dev/stack/extensions/supabase_vault--0.3.1.sql) and the grants Supabase's image gives
-- on creation. Sources: supabase/postgres migrations/db/migrations/20221207154255_create_vault.sql
-- and ansible/files/postgresql_extension_custom_scripts/supabase_vault/after-create.sql (the
-- service_role lines). anon and authenticated get nothing: no usage on schema vault.
-- Idempotent: bootstrap.sql includes it, and dev/stack/database.ts runs it alone on clusters that were
-- bootstrapped before Vault was emulated.
create extension if not exists supabase_vault;

grant usage on schema vault to service_role;
grant select, delete on vault.secrets, vault.decrypted_secrets to service_role;
grant execute on function vault.create_secret, vault.update_secret, vault._crypto_aead_det_decrypt
  to service_role;
