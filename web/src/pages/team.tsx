/** @jsxImportSource preact */
// The team of the current business; owners add agents (or owners) by email.
import { useSignal } from '@preact/signals';
import { Notice, PageHeader, useApp } from '../components/ui.tsx';

export default function TeamPage() {
  const { workspace, userId } = useApp();
  const email = useSignal('');
  const role = useSignal<'agent' | 'owner'>('agent');
  return (
    <section class='page'>
      <PageHeader title='Team' />
      <ul class='list' aria-label='Members'>
        {workspace.members.value.map((m) => (
          <li key={m.user_id}>
            <span>{m.user_id === userId ? 'You' : m.user_id.slice(0, 8)}</span>
            <span class='tag'>{m.role}</span>
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
            <p class='muted'>The person signs up with this email; they then see this business.</p>
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
            <button type='submit'>Add to team</button>
            <Notice>{workspace.inviteStatus.value}</Notice>
          </form>
        )
        : <p class='muted'>Only owners can invite people.</p>}
    </section>
  );
}
