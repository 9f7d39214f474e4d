// The businesses (tenants) the user belongs to, the current one, and its team. Creating a business
// and inviting agents go through the tenancy RPCs (create_tenant, add_member).
import { action, computed, createModel, effect, signal } from '@preact/signals';
import { must, type Row, rpc, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

export type Membership = { role: string; tenant: Row<'tenants'> };
const KEY = 'switchboard.tenant';

export const WorkspaceModel = createModel((userId: string) => {
  const memberships = signal<Membership[]>([]);
  const loaded = signal(false);
  const error = signal('');
  const currentId = signal<string | null>(localStorage.getItem(KEY));
  const members = signal<Row<'tenant_members'>[]>([]);
  const inviteStatus = signal('');

  const current = computed(() =>
    memberships.value.find((m) => m.tenant.id === currentId.value) ?? memberships.value[0] ?? null
  );
  const tenant = computed(() => current.value?.tenant ?? null);
  const isOwner = computed(() => current.value?.role === 'owner');

  const load = action(async () => {
    try {
      const rows = must(
        await supabase.from('tenant_members').select('role, tenant:tenants(*)').eq(
          'user_id',
          userId,
        ),
      ) as unknown as Membership[];
      memberships.value = rows.filter((r) => r.tenant).sort((a, b) =>
        a.tenant.name.localeCompare(b.tenant.name)
      );
      error.value = '';
    } catch (e) {
      error.value = humanError(e);
    } finally {
      loaded.value = true;
    }
  });

  effect(() => void load());

  // The team of the current business, reloaded when the business changes.
  effect(() => {
    const id = tenant.value?.id;
    if (!id) return;
    supabase.from('tenant_members').select('*').eq('tenant_id', id).then(({ data }) => {
      if (tenant.peek()?.id === id) members.value = data ?? [];
    });
  });

  return {
    memberships,
    loaded,
    error,
    current,
    tenant,
    isOwner,
    members,
    inviteStatus,
    load,
    select: action((id: string) => {
      currentId.value = id;
      localStorage.setItem(KEY, id);
    }),
    createBusiness: action(async (name: string) => {
      error.value = '';
      try {
        const t = await rpc<Row<'tenants'>>('create_tenant', { p_name: name });
        await load();
        currentId.value = t.id;
        localStorage.setItem(KEY, t.id);
        return true;
      } catch (e) {
        error.value = humanError(e);
        return false;
      }
    }),
    invite: action(async (email: string, role: 'owner' | 'agent') => {
      const id = tenant.peek()?.id;
      if (!id) return;
      inviteStatus.value = '';
      try {
        await rpc('add_member', { p_tenant_id: id, p_email: email, p_role: role });
        inviteStatus.value = `${email} was added as ${role}.`;
        const { data } = await supabase.from('tenant_members').select('*').eq('tenant_id', id);
        members.value = data ?? [];
      } catch (e) {
        inviteStatus.value = `Could not add ${email}: ${humanError(e)}`;
      }
    }),
  };
});
export type WorkspaceModel = InstanceType<typeof WorkspaceModel>;
