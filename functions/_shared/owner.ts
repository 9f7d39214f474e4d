// Owner-only functions: the caller (a signed-in user) must own the tenant named in the request.
import { requireUser } from './auth.ts';
import type { Deps } from './context.ts';
import { HttpError } from './http.ts';

export async function requireOwner(req: Request, deps: Deps, tenantId: string): Promise<string> {
  const userId = await requireUser(req, deps.env);
  const [m] = await deps.sql<{ role: string }[]>`
    select role from public.tenant_members
     where tenant_id = ${tenantId}::uuid and user_id = ${userId}::uuid`;
  if (!m) throw new HttpError(404, 'unknown_tenant', 'no such tenant');
  if (m.role !== 'owner') throw new HttpError(403, 'owner_only', 'only owners may do this');
  return userId;
}
