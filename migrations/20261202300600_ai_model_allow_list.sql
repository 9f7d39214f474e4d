-- auto_reply_model was free text, passed to the provider with the platform's API key: an owner
-- could pick the most expensive model there is, or any string the provider would bill for. A
-- tenant now picks from the models the platform allows per provider (null: the provider's
-- default, claude-haiku-4-5 / gemini-2.5-flash). The list is data: operators add rows as providers
-- release models. A composite foreign key keeps provider and model consistent.
create table private.ai_models (
  provider text not null check (provider in ('anthropic', 'gemini')),
  model text not null check (model ~ '^[a-z0-9][a-z0-9.-]{1,80}$'),
  primary key (provider, model)
);
comment on table private.ai_models is
  'The AI models a tenant may choose for auto-replies, per provider (tenants.auto_reply_model).';
revoke all on private.ai_models from public, anon, authenticated;
grant select on private.ai_models to service_role;

insert into private.ai_models (provider, model) values
  ('anthropic', 'claude-haiku-4-5'),
  ('anthropic', 'claude-sonnet-4-5'),
  ('gemini', 'gemini-2.5-flash'),
  ('gemini', 'gemini-2.5-flash-lite'),
  ('gemini', 'gemini-2.5-pro');

-- A model no longer allowed falls back to the provider's default rather than blocking the row.
update public.tenants t set auto_reply_model = null
where t.auto_reply_model is not null and not exists (
  select 1 from private.ai_models a
  where a.provider = t.auto_reply_provider and a.model = t.auto_reply_model);

alter table public.tenants add constraint tenants_auto_reply_model_allowed
  foreign key (auto_reply_provider, auto_reply_model) references private.ai_models (provider, model)
  on update cascade;
create index tenants_auto_reply_model_idx on public.tenants (auto_reply_provider, auto_reply_model)
  where auto_reply_model is not null;

-- The dashboard's list to choose from (the table itself is not exposed).
create or replace function public.ai_models()
returns table (provider text, model text)
language sql stable security definer set search_path = '' as $$
  select a.provider, a.model from private.ai_models a order by a.provider, a.model
$$;
comment on function public.ai_models() is 'The AI models a tenant may choose, per provider.';
revoke all on function public.ai_models() from public, anon;
grant execute on function public.ai_models() to authenticated, service_role;
