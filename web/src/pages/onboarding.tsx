/** @jsxImportSource preact */
// First sign-in without a business: accept an invitation to one, or create one (create_tenant makes
// the user its owner).
import { useSignal } from '@preact/signals';
import type { WorkspaceModel } from '../models/workspace.ts';
import type { SessionModel } from '../models/session.ts';
import { ErrorText } from '../components/ui.tsx';
import { MyInvitations } from '../components/invitations.tsx';

export function Onboarding(
  { workspace, session, email }: {
    workspace: WorkspaceModel;
    session: SessionModel;
    email: string;
  },
) {
  const name = useSignal('');
  const busy = useSignal(false);
  return (
    <main class='auth' id='main'>
      <h1>Welcome to Switchboard</h1>
      <MyInvitations workspace={workspace} />
      <form
        class='card'
        aria-label='Create your business'
        onSubmit={async (e) => {
          e.preventDefault();
          busy.value = true;
          await workspace.createBusiness(name.value.trim());
          busy.value = false;
        }}
      >
        <h2>Create your business</h2>
        <p>You are signed in as {email}. Name your business to set up its inbox.</p>
        <label>
          Business name
          <input
            name='business'
            required
            maxLength={200}
            value={name.value}
            onInput={(e) => (name.value = e.currentTarget.value)}
          />
        </label>
        <ErrorText>{workspace.error.value}</ErrorText>
        <button type='submit' disabled={busy.value}>Create business</button>
        <button type='button' class='link' onClick={() => session.signOut()}>Sign out</button>
      </form>
    </main>
  );
}
