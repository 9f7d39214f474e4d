-- Supabase Vault as the stack emulates it (dev/stack/extensions/supabase_vault--0.3.1.sql) with
-- Supabase's grants (dev/stack/bootstrap_vault.sql): secrets stored encrypted, readable decrypted by
-- the owner and the service role only, never by anon or authenticated users.
begin;
select plan(13);

select vault.create_secret('hunter2-value', 'test_vault_secret', 'a test secret') as id \gset
select is((select decrypted_secret from vault.decrypted_secrets where id = :'id'), 'hunter2-value',
  'create_secret then decrypted_secrets gives the value back');
select ok((select position('hunter2' in secret) = 0
             and position(convert_to('hunter2', 'UTF8') in decode(secret, 'base64')) = 0
           from vault.secrets where id = :'id'), 'the stored column holds no plain text');
select is((select description from vault.secrets where id = :'id'), 'a test secret', 'with its description');
select vault.update_secret(:'id', 'new-value');
select is((select decrypted_secret from vault.decrypted_secrets where id = :'id'), 'new-value',
  'update_secret replaces the value');
select is((select name from vault.secrets where id = :'id'), 'test_vault_secret', 'and keeps the name');
select throws_ok($$select vault.create_secret('x', 'test_vault_secret')$$, '23505', null,
  'names are unique');

-- A ciphertext moved to another row does not decrypt (the row id is the additional data).
select vault.create_secret('other', 'test_vault_other') as other \gset
update vault.secrets set secret = (select secret from vault.secrets where id = :'id') where id = :'other';
select throws_ok(format('select decrypted_secret from vault.decrypted_secrets where id = %L', :'other'),
  'P0001', 'invalid ciphertext', 'a swapped ciphertext is refused');
delete from vault.secrets where id = :'other';

select tests.authenticate_as_anon();
select throws_ok('select * from vault.decrypted_secrets', '42501', null, 'anon cannot read decrypted secrets');
select throws_ok('select * from vault.secrets', '42501', null, 'nor the encrypted table');
select throws_ok($$select vault.create_secret('x')$$, '42501', null, 'nor create one');
select tests.clear_authentication();
select tests.create_user('vault-user@test.local');
select tests.authenticate_as('vault-user@test.local');
select throws_ok('select * from vault.decrypted_secrets', '42501', null, 'a signed-in user cannot either');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select is((select decrypted_secret from vault.decrypted_secrets where id = :'id'), 'new-value',
  'the service role can (as on Supabase)');
select throws_ok('select vault._root_key()', '42501', null, 'but not read the root key');
select tests.clear_authentication();

select * from finish();
rollback;
