// The two public settings compiled into the bundle by vite.config.ts (see there).
declare global {
  interface ImportMeta {
    readonly env: Record<string, string | undefined>;
  }
}

export const SUPABASE_URL: string = import.meta.env.VITE_SUPABASE_URL ?? 'http://127.0.0.1:54321';
/** The public API key: the publishable key (`sb_publishable_…`), or a legacy anon key. */
export const SUPABASE_KEY: string = import.meta.env.VITE_SUPABASE_KEY ?? '';
/** Where Twilio, the email provider and contact forms post (the functions gateway). */
export const FUNCTIONS_URL = `${SUPABASE_URL.replace(/\/$/, '')}/functions/v1`;
