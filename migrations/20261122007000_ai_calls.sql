-- Every AI provider call the functions make (auto-replies and template enhancement), for
-- analytics and for explaining an answer afterwards: which provider and model, how long it took,
-- the tokens billed and how it ended. Members read their tenant's rows; only the service role
-- (the dispatcher) writes them. Prompts are not stored: they hold customer text, which already
-- lives in public.messages under the same RLS.

create table public.ai_calls (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  -- The outbound message the call was made for (auto_reply, or an enhanced template message).
  message_id uuid references public.messages (id) on delete set null,
  conversation_id uuid references public.conversations (id) on delete set null,
  purpose text not null check (purpose in ('auto_reply', 'enhance')),
  provider text not null check (provider in ('anthropic', 'gemini')),
  model text not null,
  latency_ms integer not null check (latency_ms >= 0),
  input_tokens integer check (input_tokens >= 0),
  output_tokens integer check (output_tokens >= 0),
  -- reply / handoff (auto_reply), enhanced / fallback (enhance), error (either).
  outcome text not null check (outcome in ('reply', 'handoff', 'enhanced', 'fallback', 'error')),
  -- error: timeout, rate_limited, provider_error, invalid_output, not_configured; fallback: why
  -- the plain render was kept.
  error_code text,
  error_message text,
  created_at timestamptz not null default now()
);
comment on table public.ai_calls is
  'One row per AI provider call (auto-reply or template enhancement): provider, model, latency, tokens and outcome, for analytics. Written by the dispatcher only.';
create index ai_calls_tenant_created_idx on public.ai_calls (tenant_id, created_at desc);
create index ai_calls_message_id_idx on public.ai_calls (message_id) where message_id is not null;
create index ai_calls_conversation_id_idx on public.ai_calls (conversation_id)
  where conversation_id is not null;

alter table public.ai_calls enable row level security;
revoke all on public.ai_calls from anon, authenticated;
grant select on public.ai_calls to authenticated;
grant select, insert on public.ai_calls to service_role;

create policy "Members can read their tenant's AI calls" on public.ai_calls
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));
