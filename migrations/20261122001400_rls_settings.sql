-- Row-level security and grants for a tenant's settings: sending numbers, templates,
-- automations and bulk sends. Members read them all; owners change numbers, automations and bulk
-- sends; owners and agents both write templates (agents draft replies all day), only owners delete
-- one.

-- phone_numbers -----------------------------------------------------------------------------------
-- last_used_at belongs to the dispatcher's number rotation.
revoke all on public.phone_numbers from anon, authenticated;
grant select, delete on public.phone_numbers to authenticated;
grant insert (
  tenant_id, e164, twilio_sid, friendly_name, sms, mms, whatsapp, voice, rotation_enabled
) on public.phone_numbers to authenticated;
grant update (
  e164, twilio_sid, friendly_name, sms, mms, whatsapp, voice, rotation_enabled
) on public.phone_numbers to authenticated;
grant all on public.phone_numbers to service_role;

create policy "Members can read their tenant's numbers" on public.phone_numbers
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Owners can add numbers to their tenant" on public.phone_numbers
  for insert to authenticated
  with check (tenant_id = any (array(select private.member_tenant_ids('owner'))));

create policy "Owners can change their tenant's numbers" on public.phone_numbers
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))))
  with check (tenant_id = any (array(select private.member_tenant_ids('owner'))));

create policy "Owners can remove their tenant's numbers" on public.phone_numbers
  for delete to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))));

-- templates ---------------------------------------------------------------------------------------
-- usage_count is kept by a trigger.
revoke all on public.templates from anon, authenticated;
grant select, delete on public.templates to authenticated;
grant insert (
  tenant_id, name, category, channel, subject, body, ai_enhance, whatsapp_content_sid,
  whatsapp_approved
) on public.templates to authenticated;
grant update (
  name, category, channel, subject, body, ai_enhance, whatsapp_content_sid, whatsapp_approved
) on public.templates to authenticated;
grant all on public.templates to service_role;

create policy "Members can read their tenant's templates" on public.templates
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can create templates for their tenant" on public.templates
  for insert to authenticated
  with check (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can edit their tenant's templates" on public.templates
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())))
  with check (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Owners can delete their tenant's templates" on public.templates
  for delete to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))));

-- automations -------------------------------------------------------------------------------------
-- A template chosen for an automation must be the same tenant's.
revoke all on public.automations from anon, authenticated;
grant select, delete on public.automations to authenticated;
grant insert (tenant_id, kind, enabled, template_id, offset_minutes)
  on public.automations to authenticated;
grant update (enabled, template_id, offset_minutes) on public.automations to authenticated;
grant all on public.automations to service_role;

create policy "Members can read their tenant's automations" on public.automations
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Owners can add automations to their tenant" on public.automations
  for insert to authenticated
  with check (
    tenant_id = any (array(select private.member_tenant_ids('owner')))
    and (
      template_id is null
      or exists (
        select 1 from public.templates t
        where t.id = automations.template_id and t.tenant_id = automations.tenant_id
      )
    )
  );

create policy "Owners can change their tenant's automations" on public.automations
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))))
  with check (
    tenant_id = any (array(select private.member_tenant_ids('owner')))
    and (
      template_id is null
      or exists (
        select 1 from public.templates t
        where t.id = automations.template_id and t.tenant_id = automations.tenant_id
      )
    )
  );

create policy "Owners can remove their tenant's automations" on public.automations
  for delete to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids('owner'))));

-- bulk_sends --------------------------------------------------------------------------------------
-- Campaigns are created by public.bulk_send() (it writes the bulk_sends row and one message per
-- eligible contact), so clients do not insert here. Members read campaigns and their counts;
-- owners may cancel one that has not finished. Nobody deletes one (its counts feed analytics).
revoke all on public.bulk_sends from anon, authenticated;
grant select on public.bulk_sends to authenticated;
grant update (status) on public.bulk_sends to authenticated;
grant all on public.bulk_sends to service_role;

create policy "Members can read their tenant's bulk sends" on public.bulk_sends
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Owners can cancel their tenant's bulk sends" on public.bulk_sends
  for update to authenticated
  using (
    tenant_id = any (array(select private.member_tenant_ids('owner')))
    and status in ('queued', 'sending')
  )
  with check (
    tenant_id = any (array(select private.member_tenant_ids('owner')))
    and status = 'canceled'
  );
