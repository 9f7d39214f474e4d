/** @jsxImportSource preact */
// The team of the current business by email and role; owners invite people by email (they join by
// accepting the mailed invitation), revoke open invitations, change roles and remove members.
// Invitations to the signed-in user are offered here too.
import { useSignal } from '@preact/signals';
import { ErrorText, Notice, PageHeader, useApp } from '../components/ui.tsx';
import { MyInvitations } from '../components/invitations.tsx';

export default function TeamPage() {
  const { workspace, userId } = useApp();
  const email = useSignal('');
  const role = useSignal<'agent' | 'owner'>('agent');
  return (
    <section class='page'>
      <PageHeader title='Team' />
      <MyInvitations workspace={workspace} />
      <ErrorText>{workspace.teamError.value}</ErrorText>
      <ul class='list' aria-label='Members'>
        {workspace.members.value.map((m) => (
          <li key={m.user_id}>
            <span class='row'>
              <span>{m.email}</span>
              {m.user_id === userId && <span class='muted'>(you)</span>}
            </span>
            {
              // Owners manage everyone else; their own role and membership are left alone here
              // so nobody locks themselves out by a slip.
              workspace.isOwner.value && m.user_id !== userId
                ? (
                  // One flex item, so the controls stay together at the end of the row.
                  <span class='row'>
                    <select
                      style={{ width: 'auto' }}
                      aria-label={`Role of ${m.email}`}
                      value={m.role}
                      onChange={(e) =>
                        workspace.changeRole(m, e.currentTarget.value as 'agent' | 'owner')}
                    >
                      <option value='agent'>Agent</option>
                      <option value='owner'>Owner</option>
                    </select>
                    <button
                      type='button'
                      class='secondary'
                      aria-label={`Remove ${m.email}`}
                      onClick={() => {
                        if (confirm(`Remove ${m.email} from this business?`)) workspace.remove(m);
                      }}
                    >
                      Remove
                    </button>
                  </span>
                )
                : <span class='tag' data-testid='role'>{m.role}</span>
            }
          </li>
        ))}
      </ul>
      {workspace.isOwner.value
        ? (
          <form
            class='card'
            aria-label='Invite a team member'
            onSubmit={(e) => {
              e.preventDefault();
              workspace.invite(email.value.trim(), role.value);
              email.value = '';
            }}
          >
            <h2>Invite</h2>
            <p class='muted'>
              We mail an invitation to this address. The person joins once they sign in with it (or
              sign up and confirm it) and accept; invitations expire after 7 days.
            </p>
            <div class='grid2'>
              <label>
                Email<input
                  type='email'
                  name='invite_email'
                  required
                  value={email.value}
                  onInput={(e) => (email.value = e.currentTarget.value)}
                />
              </label>
              <label>
                Role
                <select
                  value={role.value}
                  onChange={(e) => (role.value = e.currentTarget.value as 'agent' | 'owner')}
                >
                  <option value='agent'>Agent (works the inbox)</option>
                  <option value='owner'>Owner (also changes settings)</option>
                </select>
              </label>
            </div>
            <button type='submit'>Send invitation</button>
            <Notice>{workspace.inviteStatus.value}</Notice>
            {workspace.invitations.value.length > 0 && (
              <ul class='list' aria-label='Open invitations'>
                {workspace.invitations.value.map((i) => (
                  <li key={i.id}>
                    <span class='row'>
                      <span>{i.email}</span>
                      <span class='tag'>{i.role}</span>
                      <span class='muted'>until {i.expires_at.slice(0, 10)}</span>
                    </span>
                    <button
                      type='button'
                      class='secondary'
                      aria-label={`Revoke the invitation to ${i.email}`}
                      onClick={() => workspace.revokeInvitation(i)}
                    >
                      Revoke
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </form>
        )
        : <p class='muted'>Only owners can invite people.</p>}
    </section>
  );
}
