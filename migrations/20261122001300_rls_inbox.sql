-- Row-level security and grants for the inbox: contacts, conversations, messages and calls.
-- Agents and owners work the inbox alike. References a client writes (a conversation's contact, a
-- message's conversation, contact and template) are checked to belong to the same tenant: the
-- foreign keys alone would accept another tenant's id.

-- contacts ----------------------------------------------------------------------------------------
-- Members create and edit contacts, including consent and opt-out (e.g. a customer who asks on
-- the phone). Only owners delete a contact, which erases its conversations and messages too (the
-- right to erasure); nobody else deletes history.
revoke all on public.contacts from anon, authenticated;
grant select, delete on public.contacts to authenticated;
grant insert (
  tenant_id, name, phone, email, whatsapp, timezone, preferred_channel, reminder_consent,
  promotional_consent, opted_out_at, opted_out_channels, tags, attributes
) on public.contacts to authenticated;
grant update (
  name, phone, email, whatsapp, timezone, preferred_channel, reminder_consent,
  promotional_consent, opted_out_at, opted_out_channels, tags, attributes
) on public.contacts to authenticated;
grant all on public.contacts to service_role;

create policy "Members can read their tenant's contacts" on public.contacts
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can add contacts to their tenant" on public.contacts
  for insert to authenticated
  with check (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can edit their tenant's contacts" on public.contacts
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())))
  with check (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Owners can delete their tenant's contacts" on public.contacts
  for delete to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))));

-- conversations -----------------------------------------------------------------------------------
-- Members start a conversation with one of their contacts and triage it (status, unread count,
-- AI pause, needs-human flag). The last_* columns, the sticky sender number and re-engagement
-- bookkeeping belong to triggers and the dispatcher. Nobody deletes a conversation (it would
-- delete its messages): archive it or mark it spam.
revoke all on public.conversations from anon, authenticated;
grant select on public.conversations to authenticated;
grant insert (tenant_id, contact_id, channel, subject) on public.conversations to authenticated;
grant update (
  status, subject, unread_count, ai_paused, ai_paused_until, needs_human, needs_human_reason
) on public.conversations to authenticated;
grant all on public.conversations to service_role;

create policy "Members can read their tenant's conversations" on public.conversations
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can start conversations with their tenant's contacts" on public.conversations
  for insert to authenticated
  with check (
    tenant_id = any (array(select private.member_tenant_ids()))
    and exists (
      select 1 from public.contacts c
      where c.id = conversations.contact_id and c.tenant_id = conversations.tenant_id
    )
  );

create policy "Members can triage their tenant's conversations" on public.conversations
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())))
  with check (tenant_id = any (array(select private.member_tenant_ids())));

-- messages ----------------------------------------------------------------------------------------
-- Members read every message of their tenant. They write exactly two things:
-- * a manual outbound message: direction 'outbound', kind 'manual', status 'queued' (send now) or
--   'scheduled' (with scheduled_for), sent_by themselves, in a conversation of their tenant with
--   the conversation's contact and channel. The enqueue rules (a BEFORE INSERT trigger) may turn
--   the status into 'scheduled' (quiet hours), 'failed' or 'canceled' before this check runs, so
--   those are accepted too; sending states ('sending', 'sent', …) and 'received' never are.
-- * a cancel: status 'canceled' on an outbound message that is still 'queued' or 'scheduled'.
-- Delivery internals (provider_sid, attempts, lease_until, next_attempt_at, errors, timestamps,
-- addresses, segments) are written only by the dispatcher and SQL functions. Nobody deletes a
-- message.
revoke all on public.messages from anon, authenticated;
grant select on public.messages to authenticated;
grant insert (
  tenant_id, conversation_id, contact_id, direction, channel, kind, body, subject, status,
  scheduled_for, media, template_id, variables, sent_by
) on public.messages to authenticated;
grant update (status) on public.messages to authenticated;
grant all on public.messages to service_role;

create policy "Members can read their tenant's messages" on public.messages
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can send manual messages in their tenant's conversations" on public.messages
  for insert to authenticated
  with check (
    tenant_id = any (array(select private.member_tenant_ids()))
    and direction = 'outbound'
    and kind = 'manual'
    and status in ('queued', 'scheduled', 'failed', 'canceled')
    and sent_by = (select auth.uid())
    and exists (
      select 1 from public.conversations c
      where c.id = messages.conversation_id
        and c.tenant_id = messages.tenant_id
        and c.contact_id = messages.contact_id
        and c.channel = messages.channel
    )
    and (
      template_id is null
      or exists (
        select 1 from public.templates t
        where t.id = messages.template_id and t.tenant_id = messages.tenant_id
      )
    )
  );

create policy "Members can cancel their tenant's pending messages" on public.messages
  for update to authenticated
  using (
    tenant_id = any (array(select private.member_tenant_ids()))
    and direction = 'outbound'
    and status in ('queued', 'scheduled')
  )
  with check (
    tenant_id = any (array(select private.member_tenant_ids()))
    and status = 'canceled'
  );

-- calls -------------------------------------------------------------------------------------------
-- Synced from Twilio by the service role; members only read them.
revoke all on public.calls from anon, authenticated;
grant select on public.calls to authenticated;
grant all on public.calls to service_role;

create policy "Members can read their tenant's calls" on public.calls
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));
