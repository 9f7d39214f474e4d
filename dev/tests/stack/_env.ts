// The environment `deno task test` hands to the stack suite (a throwaway stack on free ports).
export interface StackEnv {
  SUPABASE_URL: string;
  SUPABASE_ANON_KEY: string;
  SUPABASE_SERVICE_ROLE_KEY: string;
  SUPABASE_PUBLISHABLE_KEY: string;
  SUPABASE_SECRET_KEY: string;
  /** The verification JWKS (signing key's public half + the legacy secret as `oct`). */
  SUPABASE_JWKS: string;
  SUPABASE_JWT_SECRET: string;
  SUPABASE_DB_URL: string;
  POSTGREST_URL: string;
}

export function stackEnv(): StackEnv {
  const keys = [
    'SUPABASE_URL',
    'SUPABASE_ANON_KEY',
    'SUPABASE_SERVICE_ROLE_KEY',
    'SUPABASE_PUBLISHABLE_KEY',
    'SUPABASE_SECRET_KEY',
    'SUPABASE_JWKS',
    'SUPABASE_JWT_SECRET',
    'SUPABASE_DB_URL',
    'POSTGREST_URL',
  ] as const;
  const out = {} as StackEnv;
  for (const k of keys) {
    const v = Deno.env.get(k);
    if (!v) throw new Error(`${k} is not set: run this suite through \`deno task test stack\``);
    out[k] = v;
  }
  return out;
}
