// Who is signed in. One instance for the app; the auth listener lives in a model effect and is
// removed when the model is disposed.
import { action, computed, createModel, effect, signal } from '@preact/signals';
import type { Session } from '@supabase/supabase-js';
import { supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

export const SessionModel = createModel(() => {
  const session = signal<Session | null>(null);
  const ready = signal(false);
  const error = signal('');
  const notice = signal('');
  const busy = signal(false);

  effect(() => {
    supabase.auth.getSession().then(({ data }) => {
      session.value = data.session;
      ready.value = true;
    });
    const { data } = supabase.auth.onAuthStateChange((_event, s) => {
      session.value = s;
      ready.value = true;
    });
    return () => data.subscription.unsubscribe();
  });

  const run = async (fn: () => Promise<void>) => {
    busy.value = true;
    error.value = '';
    notice.value = '';
    try {
      await fn();
    } catch (e) {
      error.value = humanError(e);
    } finally {
      busy.value = false;
    }
  };

  return {
    session,
    ready,
    error,
    notice,
    busy,
    user: computed(() => session.value?.user ?? null),
    signIn: action((email: string, password: string) =>
      run(async () => {
        const { error: e } = await supabase.auth.signInWithPassword({ email, password });
        if (e) {
          throw new Error(
            e.message === 'Invalid login credentials' ? 'Wrong email or password.' : e.message,
          );
        }
      })
    ),
    signUp: action((email: string, password: string) =>
      run(async () => {
        const { data, error: e } = await supabase.auth.signUp({ email, password });
        if (e) throw e;
        if (!data.session) notice.value = 'Check your email to confirm your address, then sign in.';
      })
    ),
    signOut: action(() => run(async () => void (await supabase.auth.signOut()))),
  };
});
export type SessionModel = InstanceType<typeof SessionModel>;
