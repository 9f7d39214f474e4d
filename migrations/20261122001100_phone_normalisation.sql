-- Contact addresses are stored in one canonical form so that lookups (inbound webhooks find the
-- contact by its E.164 number) and the per-tenant unique indexes work: phones in E.164, emails
-- trimmed and lower-cased, blanks as null.

create or replace function private.normalize_phone(
  p_input text,
  p_default_country_code text default '1'
) returns text
language plpgsql immutable set search_path = '' as $$
declare
  v_number text;
  v_cc text := coalesce(nullif(trim(p_default_country_code), ''), '1');
begin
  -- No number at all is not an error: the column is simply empty.
  if p_input is null or trim(p_input) = '' then
    return null;
  end if;
  if v_cc !~ '^[1-9][0-9]{0,2}$' then
    raise exception 'invalid default country code: %', p_default_country_code
      using errcode = '22023';
  end if;

  -- Twilio writes WhatsApp addresses as "whatsapp:+1555…"; people write separators.
  v_number := regexp_replace(trim(p_input), '^whatsapp:', '', 'i');
  v_number := regexp_replace(v_number, '[[:space:].()-]', '', 'g');

  if v_number like '00%' then
    v_number := '+' || substr(v_number, 3);
  elsif v_number ~ '^[0-9]' then
    if v_cc = '1' and v_number ~ '^1[0-9]{10}$' then
      -- North American numbers are often written with the leading 1 but no plus.
      v_number := '+' || v_number;
    else
      -- A national number: drop one trunk prefix 0 (e.g. UK 07911…), add the country code.
      v_number := '+' || v_cc || regexp_replace(v_number, '^0', '');
    end if;
  end if;

  -- E.164: a plus, then 8 to 15 digits, the first 1-9; country code 1 has 10 national digits.
  if v_number !~ '^\+[1-9][0-9]{7,14}$' or (v_number like '+1%' and v_number !~ '^\+1[0-9]{10}$') then
    raise exception 'invalid phone number: %', p_input
      using errcode = '22023',
            hint = 'Use international format, e.g. +14155550123, or a national number of the tenant''s country.';
  end if;
  return v_number;
end;
$$;
comment on function private.normalize_phone(text, text) is
  'Normalises a phone number to E.164 (+ and 8-15 digits; +1 numbers have 10 national digits). Strips spaces, dashes, dots, parentheses and a "whatsapp:" prefix, turns 00 into +, adds p_default_country_code to national numbers. Blank gives null; anything else invalid raises 22023 "invalid phone number: <input>".';
revoke all on function private.normalize_phone(text, text) from public;
grant execute on function private.normalize_phone(text, text) to authenticated, service_role;

-- Security definer so that the tenant's default country code is found whoever writes the row
-- (RLS on public.tenants would hide it from a writer who is not a member; that write is then
-- refused by the contacts policies anyway). It reads nothing else.
create or replace function private.normalize_contact() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  v_cc text;
begin
  if tg_op = 'INSERT' or new.phone is distinct from old.phone
    or new.whatsapp is distinct from old.whatsapp or new.tenant_id is distinct from old.tenant_id then
    select t.default_country_code into v_cc from public.tenants t where t.id = new.tenant_id;
    new.phone := private.normalize_phone(new.phone, coalesce(v_cc, '1'));
    new.whatsapp := private.normalize_phone(new.whatsapp, coalesce(v_cc, '1'));
  end if;
  new.email := nullif(lower(trim(new.email)), '');
  new.timezone := nullif(trim(new.timezone), '');
  return new;
end;
$$;
comment on function private.normalize_contact() is
  'Contacts trigger: phone and whatsapp to E.164 with the tenant''s default country code, email trimmed and lower-cased, blanks to null.';
revoke all on function private.normalize_contact() from public;

-- Named to sort before other BEFORE triggers on contacts, which then see canonical values.
create trigger contacts_a_normalize before insert or update on public.contacts
  for each row execute function private.normalize_contact();
