// The one supabase-js client of the dashboard, typed with the generated Database types.
import { createClient } from '@supabase/supabase-js';
import type { Database } from '../../common/database.types.ts';
import { SUPABASE_KEY, SUPABASE_URL } from './env.ts';

export type { Database };
type PublicSchema = Database['public'];
export type Row<T extends keyof PublicSchema['Tables']> = PublicSchema['Tables'][T]['Row'];
export type Insert<T extends keyof PublicSchema['Tables']> = PublicSchema['Tables'][T]['Insert'];
export type Update<T extends keyof PublicSchema['Tables']> = PublicSchema['Tables'][T]['Update'];

export const supabase = createClient<Database>(SUPABASE_URL, SUPABASE_KEY, {
  auth: { persistSession: true, autoRefreshToken: true },
  realtime: { params: { eventsPerSecond: 20 } },
});

/**
 * Calls an RPC by name. The RPCs (create_tenant, bulk_send, analytics, …) land in migrations owned
 * by other parts of the project, and the generated types gain them only when `task types` runs;
 * this keeps the dashboard compiling in between, with the result typed by the caller.
 */
export async function rpc<T>(name: string, args: Record<string, unknown>): Promise<T> {
  const call = supabase.rpc as unknown as (
    n: string,
    a: Record<string, unknown>,
  ) => PromiseLike<{ data: unknown; error: { message: string; code?: string } | null }>;
  const { data, error } = await call.call(supabase, name, args);
  if (error) throw new DbError(error.message, error.code);
  return data as T;
}

/** A database or API error with its Postgres/PostgREST code, shown to people in words. */
export class DbError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** Unwraps a supabase-js result: throws the error in words, returns the data. */
export function must<T>(
  res: { data: T; error: { message: string; code?: string } | null },
): NonNullable<T> {
  if (res.error) throw new DbError(res.error.message, res.error.code);
  return res.data as NonNullable<T>;
}

/**
 * For updates and deletes (called with `.select('id')`): RLS hides rows a user may not change, so
 * PostgREST answers "0 rows" instead of an error. Both count as failure here, so optimistic
 * changes are rolled back and explained.
 */
export function affected(
  res: { data: unknown[] | null; error: { message: string; code?: string } | null },
): { message: string; code?: string } | null {
  if (res.error) return res.error;
  if (!res.data?.length) {
    return {
      message: 'Nothing was changed: you may not have permission to do that.',
      code: '42501',
    };
  }
  return null;
}
