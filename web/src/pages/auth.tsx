/** @jsxImportSource preact */
// Sign in and sign up (email + password through supabase-js auth).
import { useSignal } from '@preact/signals';
import type { SessionModel } from '../models/session.ts';
import { ErrorText, Notice } from '../components/ui.tsx';

export function AuthPage({ session }: { session: SessionModel }) {
  const mode = useSignal<'in' | 'up'>('in');
  const email = useSignal('');
  const password = useSignal('');
  const signingUp = mode.value === 'up';
  return (
    <main class='auth' id='main'>
      <h1>Switchboard</h1>
      <form
        class='card'
        aria-label={signingUp ? 'Create an account' : 'Sign in'}
        onSubmit={(e) => {
          e.preventDefault();
          if (signingUp) session.signUp(email.value, password.value);
          else session.signIn(email.value, password.value);
        }}
      >
        <h2>{signingUp ? 'Create an account' : 'Sign in'}</h2>
        <label>
          Email
          <input
            type='email'
            name='email'
            autoComplete='email'
            required
            value={email.value}
            onInput={(e) => (email.value = e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            type='password'
            name='password'
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            minLength={signingUp ? 8 : undefined}
            required
            value={password.value}
            onInput={(e) => (password.value = e.currentTarget.value)}
          />
        </label>
        <ErrorText>{session.error.value}</ErrorText>
        <Notice>{session.notice.value}</Notice>
        <button type='submit' disabled={session.busy.value}>
          {signingUp ? 'Create account' : 'Sign in'}
        </button>
        <button
          type='button'
          class='link'
          onClick={() => (mode.value = signingUp ? 'in' : 'up')}
        >
          {signingUp ? 'I have an account: sign in' : 'New here? Create an account'}
        </button>
      </form>
    </main>
  );
}
