// Which Twilio account speaks for a tenant: its own (sealed in private.tenant_credentials) or,
// only for a business an operator provisioned (tenants.platform_provisioned, service role only),
// the platform's TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN. A self-serve business without its own
// account gets none: SQL keeps it in test mode (private.tenant_sending_mode).
import { open } from './crypto.ts';
import type { Sql } from './db.ts';
import type { Env } from './env.ts';
import type { TwilioCreds } from './twilio.ts';

export interface SealedRow {
  tenant_id: string;
  account_sid: string;
  auth_token_ciphertext: string;
  key_version: number;
}

export function platformCreds(env: Env): TwilioCreds | null {
  return env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN
    ? { accountSid: env.TWILIO_ACCOUNT_SID, authToken: env.TWILIO_AUTH_TOKEN }
    : null;
}

export async function unseal(env: Env, row: SealedRow): Promise<TwilioCreds> {
  if (row.key_version !== env.CREDENTIALS_KEY_VERSION) {
    throw new Error(
      `credentials of tenant ${row.tenant_id} use key version ${row.key_version}, the env has ${env.CREDENTIALS_KEY_VERSION}`,
    );
  }
  const authToken = await open(
    { ciphertext: row.auth_token_ciphertext, keyVersion: row.key_version },
    env.CREDENTIALS_KEY,
    row.tenant_id,
  );
  return { accountSid: row.account_sid, authToken };
}

/** The tenant's own verified credentials, or null. */
export async function ownCreds(
  sql: Sql,
  env: Env,
  tenantId: string,
): Promise<TwilioCreds | null> {
  const [row] = await sql<SealedRow[]>`
    select tenant_id, account_sid, auth_token_ciphertext, key_version
      from private.tenant_credentials where tenant_id = ${tenantId}`;
  return row ? await unseal(env, row) : null;
}

/**
 * The tenant's own credentials; else the platform's when SQL says the tenant sends through the
 * platform account (provisioned, no account of its own); else null.
 */
export async function tenantCreds(
  sql: Sql,
  env: Env,
  tenantId: string,
): Promise<TwilioCreds | null> {
  const own = await ownCreds(sql, env, tenantId);
  if (own) return own;
  const [m] = await sql<{ mode: string }[]>`
    select private.tenant_sending_mode(${tenantId}::uuid) as mode`;
  return m?.mode === 'platform' ? platformCreds(env) : null;
}

/** Every auth token that may have signed a callback from `accountSid`. */
export async function tokensForAccount(sql: Sql, env: Env, accountSid: string): Promise<string[]> {
  const rows = await sql<SealedRow[]>`
    select tenant_id, account_sid, auth_token_ciphertext, key_version
      from private.tenant_credentials where account_sid = ${accountSid}`;
  const tokens = new Set<string>();
  for (const r of rows) {
    try {
      tokens.add((await unseal(env, r)).authToken);
    } catch (e) {
      console.error(`[credentials] cannot unseal tenant ${r.tenant_id}:`, (e as Error).message);
    }
  }
  const p = platformCreds(env);
  if (p && p.accountSid === accountSid) tokens.add(p.authToken);
  return [...tokens];
}
