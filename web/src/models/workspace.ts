// The businesses (tenants) the user belongs to, the current one, and its team. Creating a business
// and managing the team go through the tenancy RPCs (create_tenant, list_members,
// change_member_role, remove_member). People join by invitation: an owner invites an address (the
// team-invite function mails the link), the invitee accepts (accept_invitation); nobody is added
// without accepting, and nothing shows whether an address has an account.
import { action, computed, createModel, effect, signal } from '@preact/signals';
import { must, type Row, rpc, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

export type Membership = { role: string; tenant: Row<'tenants'> };
/** A member of the current business with their email (public.list_members reads auth.users). */
export type Member = { user_id: string; email: string; role: string; created_at: string };
export type Role = 'owner' | 'agent';
/** An open invitation of the current business (owners see them: tenant_invitations RLS). */
export type Invitation = { id: string; email: string; role: string; expires_at: string };
/** An invitation to the signed-in user's confirmed address (public.my_invitations). */
export type MyInvitation = {
  id: string;
  tenant_id: string;
  tenant_name: string;
  role: string;
  expires_at: string;
};
const KEY = 'switchboard.tenant';

export const WorkspaceModel = createModel((userId: string) => {
  const memberships = signal<Membership[]>([]);
  const loaded = signal(false);
  const error = signal('');
  const currentId = signal<string | null>(localStorage.getItem(KEY));
  const members = signal<Member[]>([]);
  const inviteStatus = signal('');
  const teamError = signal('');
  const invitations = signal<Invitation[]>([]);
  const myInvitations = signal<MyInvitation[]>([]);

  const current = computed(() =>
    memberships.value.find((m) => m.tenant.id === currentId.value) ?? memberships.value[0] ?? null
  );
  const tenant = computed(() => current.value?.tenant ?? null);
  const isOwner = computed(() => current.value?.role === 'owner');
  /** own_account | platform | test (public.sending_mode): in test mode nothing real is sent. */
  const sendingMode = signal<{ mode: string; message: string | null } | null>(null);
  const loadSendingMode = async (id: string) => {
    const { data } = await supabase.rpc('sending_mode', { p_tenant_id: id });
    if (tenant.peek()?.id === id) {
      sendingMode.value = data as { mode: string; message: string | null } | null;
    }
  };

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

  const loadMyInvitations = async () => {
    const { data } = await supabase.rpc('my_invitations');
    myInvitations.value = (data ?? []) as MyInvitation[];
  };
  effect(() => void loadMyInvitations());

  // Open invitations of the business; RLS shows them to owners only (others get none).
  const loadInvitations = async (id: string) => {
    const { data } = await supabase.from('tenant_invitations')
      .select('id, email, role, expires_at').eq('tenant_id', id)
      .is('accepted_at', null).is('revoked_at', null).gt('expires_at', new Date().toISOString())
      .order('sent_at', { ascending: false });
    if (tenant.peek()?.id === id) invitations.value = data ?? [];
  };

  // The team of the current business with emails: tenant_members alone only has user ids, and
  // auth.users is not readable by clients, so this goes through list_members (members only).
  const loadMembers = async (id: string) => {
    try {
      const rows = must(await supabase.rpc('list_members', { p_tenant_id: id }));
      if (tenant.peek()?.id === id) {
        members.value = rows;
        teamError.value = '';
      }
    } catch (e) {
      if (tenant.peek()?.id === id) {
        teamError.value = `The team could not be loaded: ${humanError(e)}`;
      }
    }
  };
  // Reloaded when the business changes.
  effect(() => {
    const id = tenant.value?.id;
    if (id) {
      void loadMembers(id);
      void loadInvitations(id);
      void loadSendingMode(id);
    }
  });

  /** Optimistic: the list changes at once and is put back, with the reason, if the RPC refuses. */
  const changeMembers = async (
    next: (list: Member[]) => Member[],
    call: (tenantId: string) => PromiseLike<{ error: { message: string; code?: string } | null }>,
    what: string,
  ) => {
    const id = tenant.peek()?.id;
    if (!id) return;
    const before = members.peek();
    members.value = next(before);
    teamError.value = '';
    const { error: e } = await call(id);
    if (e) {
      if (tenant.peek()?.id === id) members.value = before;
      teamError.value = `Could not ${what}: ${
        e.code === '23514' ? 'a business must keep at least one owner.' : humanError(e)
      }`;
    } else await loadMembers(id);
  };

  return {
    memberships,
    loaded,
    error,
    current,
    tenant,
    isOwner,
    sendingMode,
    reloadSendingMode: () => {
      const id = tenant.peek()?.id;
      return id ? loadSendingMode(id) : Promise.resolve();
    },
    members,
    inviteStatus,
    teamError,
    invitations,
    myInvitations,
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
      const { data, error: e } = await supabase.functions.invoke('team-invite', {
        body: { tenant_id: id, email, role },
      });
      if (e) {
        // The function answers {error: {code, message}}; supabase-js keeps the response.
        const body = await (e as { context?: Response }).context?.json?.().catch(() => null);
        inviteStatus.value = `Could not invite ${email}: ${body?.error?.message ?? e.message}`;
        return;
      }
      inviteStatus.value = `Invitation sent to ${(data as Invitation).email}. ` +
        'They join the team once they accept it.';
      await loadInvitations(id);
    }),
    revokeInvitation: action(async (inv: Invitation) => {
      const id = tenant.peek()?.id;
      if (!id) return;
      const { error: e } = await supabase.rpc('revoke_invitation', { p_invitation_id: inv.id });
      teamError.value = e
        ? `Could not revoke the invitation to ${inv.email}: ${humanError(e)}`
        : '';
      await loadInvitations(id);
    }),
    accept: action(async (inv: MyInvitation) => {
      const { error: e } = await supabase.rpc('accept_invitation', { p_invitation_id: inv.id });
      if (e) {
        error.value = `Could not accept the invitation: ${humanError(e)}`;
      } else {
        error.value = '';
        await load();
        currentId.value = inv.tenant_id;
        localStorage.setItem(KEY, inv.tenant_id);
      }
      await loadMyInvitations();
    }),
    changeRole: action((m: Member, role: Role) =>
      changeMembers(
        (list) => list.map((x) => (x.user_id === m.user_id ? { ...x, role } : x)),
        (id) =>
          supabase.rpc('change_member_role', {
            p_tenant_id: id,
            p_user_id: m.user_id,
            p_role: role,
          }),
        `make ${m.email} ${role === 'owner' ? 'an owner' : 'an agent'}`,
      )
    ),
    remove: action((m: Member) =>
      changeMembers(
        (list) => list.filter((x) => x.user_id !== m.user_id),
        (id) => supabase.rpc('remove_member', { p_tenant_id: id, p_user_id: m.user_id }),
        `remove ${m.email}`,
      )
    ),
  };
});
export type WorkspaceModel = InstanceType<typeof WorkspaceModel>;
