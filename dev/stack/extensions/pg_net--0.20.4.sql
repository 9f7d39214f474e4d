-- pg_net 0.20.4, emulated for the local stack: what `create extension pg_net` creates on hosted
-- Supabase, written from supabase/pg_net (sql/pg_net.sql is the 0.20.4 install script; the
-- Makefile copies it to pg_net--0.20.4.sql) with the C parts replaced:
--   * net.wake(): pg_net registers a commit callback that sets the worker's latch, so a request
--     is sent only after its transaction commits and a rolled-back one never. NOTIFY has exactly
--     that delivery rule (sent at commit, dropped on rollback, duplicates in one transaction
--     folded), and dev/stack/pg_net_worker.ts LISTENs on channel pg_net_wake.
--   * net._urlencode_string / net._encode_url_with_params_array: curl_easy_escape and curl_url
--     (src/util.c) redone in SQL: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX, params are
--     appended to the query with & (or ?), a URL without a scheme or host is refused with
--     curl's texts.
--   * net.check_worker_is_up / wait_until_running / worker_restart: the worker is a client
--     session named "pg_net 0.20.4 worker" (pg_net reports the application name "pg_net 0.20.4").
-- Tables, types, signatures, defaults and grants are pg_net's. Settings read by the worker as on
-- hosted: pg_net.ttl (default '6 hours') and pg_net.batch_size (default 200).

\echo Use "CREATE EXTENSION pg_net" to load this file. \quit

create schema if not exists net;

create domain net.http_method as text
  check (value ilike 'get' or value ilike 'post' or value ilike 'delete');

-- Requests waiting for the worker. It deletes a batch and sends it in one transaction, so a row
-- stays visible to others until its response is recorded.
create unlogged table net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds int not null
);

-- One row per finished request (by request id): a response, or timed_out / error_msg.
create unlogged table net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out bool,
  error_msg text,
  created timestamptz not null default now()
);
create index on net._http_response (created);

create function net.check_worker_is_up() returns void
language plpgsql
as $$
begin
  if not exists (
    select 1 from pg_catalog.pg_stat_activity where application_name ilike 'pg_net%worker'
  ) then
    raise exception using
      message = 'the pg_net background worker is not up',
      detail = 'the pg_net background worker is down due to an internal error and cannot process requests',
      hint = 'make sure that you didn''t modify any of pg_net internal tables';
  end if;
end;
$$;
comment on function net.check_worker_is_up() is
  'raises an exception if the pg_net background worker is not up, otherwise it doesn''t return anything';

-- Waits (polling every 50 ms, as pg_net does) until the request has a response.
create function net._await_response(request_id bigint) returns bool
language plpgsql
as $$
begin
  while not exists (select 1 from net._http_response r where r.id = request_id) loop
    perform pg_catalog.pg_sleep(0.05);
  end loop;
  return true;
end;
$$;

create function net._urlencode_string(string varchar) returns text
language sql
immutable
as $$
  select string_agg(
    case
      when b between 48 and 57 or b between 65 and 90 or b between 97 and 122 or b in (45, 46, 95, 126)
        then pg_catalog.chr(b)
      else '%' || pg_catalog.upper(pg_catalog.lpad(pg_catalog.to_hex(b), 2, '0'))
    end, '' order by i)
  from (select pg_catalog.convert_to(string, 'UTF8') as bytes) s,
    lateral pg_catalog.generate_series(0, pg_catalog.length(s.bytes) - 1) i,
    lateral pg_catalog.get_byte(s.bytes, i) b
$$;

create function net._encode_url_with_params_array(url text, params_array text[]) returns text
language plpgsql
immutable
as $$
declare
  v_scheme text;
  v_url text := url;
  v_param text;
begin
  if url is null or params_array is null then
    return null;
  end if;
  v_scheme := pg_catalog.substring(url, '^([A-Za-z][A-Za-z0-9+.-]*)://');
  if v_scheme is null then
    -- curl_url: "localhost:6666" parses as scheme "localhost"; "/path" has no scheme at all.
    if url ~ '^[A-Za-z][A-Za-z0-9+.-]*:' then
      raise exception 'invalid URL "%": Unsupported URL scheme', url;
    end if;
    raise exception 'invalid URL "%": Bad scheme', url;
  end if;
  if url !~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+' then
    raise exception 'invalid URL "%": No host part in the URL', url;
  end if;
  -- curl_url_get normalises "http://host" to "http://host/".
  if v_url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+$' then
    v_url := v_url || '/';
  end if;
  foreach v_param in array params_array loop
    continue when v_param is null;
    v_url := v_url || case when pg_catalog.strpos(v_url, '?') > 0 then '&' else '?' end || v_param;
  end loop;
  return v_url;
end;
$$;

create function net.worker_restart() returns bool
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- The worker reconnects on this notification, reading pg_net.* settings afresh.
  perform pg_catalog.pg_notify('pg_net_restart', '');
  return pg_catalog.pg_reload_conf();
end;
$$;

create function net.wait_until_running() returns void
language plpgsql
as $$
begin
  while not exists (
    select 1 from pg_catalog.pg_stat_activity where application_name ilike 'pg_net%worker'
  ) loop
    perform pg_catalog.pg_sleep(0.05);
  end loop;
end;
$$;
comment on function net.wait_until_running() is 'waits until the worker is running';

create function net.wake() returns void
language sql
as $$
  select pg_catalog.pg_notify('pg_net_wake', '')
$$;

create function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array(url, net._params_array(params)), headers,
    timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end;
$$;

create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql
as $$
declare
  request_id bigint;
  content_type text;
begin
  select h.value into content_type
  from jsonb_each_text(coalesce(headers, '{}'::jsonb)) h
  where lower(h.key) = 'content-type'
  limit 1;
  -- Headers given without a content type get JSON's; any other type is refused (pg_net posts
  -- JSON only).
  if content_type is null then
    headers := headers || '{"Content-Type": "application/json"}'::jsonb;
  end if;
  if content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params_array(url, net._params_array(params)), headers,
    convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end;
$$;

create function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000,
  body jsonb default null
) returns bigint
language plpgsql
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params_array(url, net._params_array(params)), headers,
    convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  perform net.wake();
  return request_id;
end;
$$;

-- key=value pairs, both url-encoded, as the three request functions build them (pg_net inlines
-- this query in each of them).
create function net._params_array(params jsonb) returns text[]
language sql
immutable
as $$
  select coalesce(array_agg(net._urlencode_string(p.key) || '=' || net._urlencode_string(p.value)), '{}')
  from jsonb_each_text(params) p
$$;

create type net.request_status as enum ('PENDING', 'SUCCESS', 'ERROR');

create type net.http_response as (
  status_code integer,
  headers jsonb,
  body text
);

create type net.http_response_result as (
  status net.request_status,
  message text,
  response net.http_response
);

create function net._http_collect_response(request_id bigint, async bool default true)
returns net.http_response_result
language plpgsql
as $$
declare
  rec net._http_response;
begin
  if not async then
    perform net._await_response(request_id);
  end if;
  select * into rec from net._http_response r where r.id = request_id;
  -- A request still in flight and an unknown id look the same here, as in pg_net.
  if rec is null or rec.error_msg is not null then
    return ('ERROR', coalesce(rec.error_msg, 'request matching request_id not found'), null)::net.http_response_result;
  end if;
  return ('SUCCESS', 'ok', (rec.status_code, rec.headers, rec.content)::net.http_response)::net.http_response_result;
end;
$$;

-- Deprecated in pg_net. Its 0.20.4 body runs `select net._http_collect_response(...)` in PL/pgSQL
-- without INTO, so on hosted Supabase it raises the notice and then fails with "query has no
-- destination for result data"; it is kept that way here, so nothing can come to rely on it.
create function net.http_collect_response(request_id bigint, async bool default true)
returns net.http_response_result
language plpgsql
as $$
begin
  raise notice 'The net.http_collect_response function is deprecated.';
  select net._http_collect_response(request_id, async);
end;
$$;

-- pg_net's grants (hosted Supabase's event trigger extensions.grant_pg_net_access() also grants
-- schema usage to anon, authenticated and service_role, which PUBLIC already covers).
grant usage on schema net to public;
grant all on all sequences in schema net to public;
grant all on all tables in schema net to public;
