-- Row-level security and grants for business events: orders and appointments. Members create and
-- update them (their status changes drive the notification triggers). Nobody deletes them: a
-- canceled order or appointment is set to 'canceled', which also cancels its pending reminders,
-- whereas a deleted row would leave them to be sent. The contact is chosen at creation and must be
-- the same tenant's.

-- orders ------------------------------------------------------------------------------------------
revoke all on public.orders from anon, authenticated;
grant select on public.orders to authenticated;
grant insert (
  tenant_id, contact_id, order_number, status, total, currency, tracking_number, tracking_url,
  payment_url
) on public.orders to authenticated;
grant update (
  order_number, status, total, currency, tracking_number, tracking_url, payment_url
) on public.orders to authenticated;
grant all on public.orders to service_role;

create policy "Members can read their tenant's orders" on public.orders
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can record orders of their tenant's contacts" on public.orders
  for insert to authenticated
  with check (
    tenant_id = any (array(select private.member_tenant_ids()))
    and exists (
      select 1 from public.contacts c
      where c.id = orders.contact_id and c.tenant_id = orders.tenant_id
    )
  );

create policy "Members can update their tenant's orders" on public.orders
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())))
  with check (tenant_id = any (array(select private.member_tenant_ids())));

-- appointments ------------------------------------------------------------------------------------
revoke all on public.appointments from anon, authenticated;
grant select on public.appointments to authenticated;
grant insert (tenant_id, contact_id, service, starts_at, duration_minutes, status, notes)
  on public.appointments to authenticated;
grant update (service, starts_at, duration_minutes, status, notes)
  on public.appointments to authenticated;
grant all on public.appointments to service_role;

create policy "Members can read their tenant's appointments" on public.appointments
  for select to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())));

create policy "Members can book appointments for their tenant's contacts" on public.appointments
  for insert to authenticated
  with check (
    tenant_id = any (array(select private.member_tenant_ids()))
    and exists (
      select 1 from public.contacts c
      where c.id = appointments.contact_id and c.tenant_id = appointments.tenant_id
    )
  );

create policy "Members can update their tenant's appointments" on public.appointments
  for update to authenticated
  using (tenant_id = any (array(select private.member_tenant_ids())))
  with check (tenant_id = any (array(select private.member_tenant_ids())));
