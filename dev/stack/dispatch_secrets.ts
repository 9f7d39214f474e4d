// The two Vault secrets through which the database calls the `dispatch` edge function
// (migrations/20261202100100_kick_dispatch_http.sql, private.kick_dispatch): the project's URL and
// the key sent as `apikey` and `Authorization: Bearer`. On hosted Supabase an operator stores them
// once (dev/stack/README.md, "Calling dispatch from the database"); the local stack stores them on
// every start, pointing at its own gateway, as that guide's setup step would.
import postgres from 'postgres';

export const PROJECT_URL_SECRET = 'project_url';
export const SERVICE_KEY_SECRET = 'service_key';

/**
 * The key the database calls `dispatch` with: the single place it is chosen. The project's secret
 * key (`sb_secret_…`, dev/stack/keys.ts), as hosted projects should store theirs now that the legacy
 * service_role JWT is being retired; `dispatch` checks it itself (verify_jwt = false).
 */
export function dispatchKey(env: Record<string, string>): string {
  const key = env.SUPABASE_SECRET_KEY;
  if (!key) throw new Error('dispatchKey: the stack has no SUPABASE_SECRET_KEY');
  return key;
}

/** Creates or updates both secrets (vault.create_secret / vault.update_secret). */
export async function storeDispatchSecrets(
  dbUrl: string,
  values: { projectUrl: string; serviceKey: string },
): Promise<string[]> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    const entries: [string, string, string][] = [
      [
        PROJECT_URL_SECRET,
        values.projectUrl,
        'Base URL of the project (dispatch is <url>/functions/v1/dispatch)',
      ],
      [SERVICE_KEY_SECRET, values.serviceKey, 'Key the database calls the dispatch function with'],
    ];
    await sql.begin(async (tx) => {
      for (const [name, value, description] of entries) {
        const updated = await tx`
          select vault.update_secret(s.id, ${value}) from vault.secrets s where s.name = ${name}`;
        if (updated.count === 0) {
          await tx`select vault.create_secret(${value}, ${name}, ${description})`;
        }
      }
    });
    return entries.map(([name]) => name);
  } finally {
    await sql.end({ timeout: 2 });
  }
}
