/** @jsxImportSource preact */
// Invitations to the signed-in user's confirmed address (public.my_invitations), on the team page
// and on the first-business screen, so someone invited before they had any business can join.
import type { WorkspaceModel } from '../models/workspace.ts';

/** Open invitations to the signed-in user, each with an Accept button. */
export function MyInvitations({ workspace }: { workspace: WorkspaceModel }) {
  const list = workspace.myInvitations.value;
  if (!list.length) return null;
  return (
    <section class='card' aria-label='Invitations to you'>
      <h2>Invitations to you</h2>
      <ul class='list'>
        {list.map((i) => (
          <li key={i.id}>
            <span>
              {i.tenant_name} invites you as {i.role === 'owner' ? 'an owner' : 'an agent'}
            </span>
            <button type='button' onClick={() => workspace.accept(i)}>
              Accept invitation to {i.tenant_name}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
