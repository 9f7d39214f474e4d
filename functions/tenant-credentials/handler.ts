// A tenant's own Twilio account (owners only). POST verifies AccountSid + AuthToken against
// Twilio (fetching the account) before saving the token sealed with CREDENTIALS_KEY; GET answers
// a masked status (never the token) plus the tenant's inbound-email webhook URL; DELETE removes
// the credentials (a provisioned business falls back to the platform account, any other goes
// back to test mode).
import { z } from 'zod';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { mask, seal } from '../_shared/crypto.ts';
import { CORS, HttpError, json, readJson, wrap } from '../_shared/http.ts';
import { requireOwner } from '../_shared/owner.ts';
import { NotSentError, twilioClient, UnknownOutcomeError } from '../_shared/twilio.ts';

const SaveSchema = z.object({
  tenant_id: z.string().uuid(),
  account_sid: z.string().trim().regex(/^AC[0-9a-fA-F]{32}$/, 'a Twilio AccountSid (AC…)'),
  auth_token: z.string().trim().min(16).max(128),
}).strict();

const TenantQuery = z.object({ tenant_id: z.string().uuid() });

async function status(deps: Deps, tenantId: string) {
  const [row] = await deps.sql<
    { account_sid: string; auth_token_last4: string; key_version: number; verified_at: Date }[]
  >`select account_sid, auth_token_last4, key_version, verified_at
      from private.tenant_credentials where tenant_id = ${tenantId}::uuid`;
  const [secret] = await deps.sql<{ s: string; mode: string }[]>`
    select private.email_inbound_secret(${tenantId}::uuid) as s,
           private.tenant_sending_mode(${tenantId}::uuid) as mode`;
  return {
    configured: !!row,
    account_sid: row?.account_sid ?? null,
    auth_token: row ? mask(`....${row.auth_token_last4}`) : null,
    key_version: row?.key_version ?? null,
    verified_at: row?.verified_at ?? null,
    // own_account | platform (operator-provisioned) | test (nothing is sent on SMS/WhatsApp).
    sending_mode: secret.mode,
    platform_account: secret.mode === 'platform' && !!deps.env.TWILIO_ACCOUNT_SID,
    email_inbound_url: `${deps.env.PUBLIC_FUNCTIONS_URL}/email-inbound/${secret.s}`,
  };
}

export function createHandler(deps: Deps) {
  const { env, sql } = deps;
  return wrap(async (req) => {
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
    const url = new URL(req.url);
    if (req.method === 'GET' || req.method === 'DELETE') {
      const q = TenantQuery.parse(Object.fromEntries(url.searchParams));
      await requireOwner(req, deps, q.tenant_id);
      if (req.method === 'DELETE') {
        await sql`delete from private.tenant_credentials where tenant_id = ${q.tenant_id}::uuid`;
      }
      return json(200, await status(deps, q.tenant_id), CORS);
    }
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'GET, POST, DELETE');
    const p = SaveSchema.parse(await readJson(req));
    await requireOwner(req, deps, p.tenant_id);
    // Verify with Twilio first: fetching the account fails with 20003 for a wrong pair.
    try {
      const tw = twilioClient(
        { accountSid: p.account_sid, authToken: p.auth_token },
        env.TWILIO_API_URL,
        env.TWILIO_TIMEOUT_MS,
      );
      await tw.api.v2010.accounts(p.account_sid).fetch();
    } catch (e) {
      if (e instanceof NotSentError || e instanceof UnknownOutcomeError) {
        throw new HttpError(502, 'twilio_unreachable', 'could not reach Twilio to verify');
      }
      const err = e as { status?: number };
      if (err.status === 401 || err.status === 404 || err.status === 403) {
        throw new HttpError(
          422,
          'invalid_credentials',
          'Twilio rejected this AccountSid/AuthToken',
        );
      }
      throw new HttpError(502, 'twilio_error', `Twilio answered ${err.status ?? 'an error'}`);
    }
    const sealed = await seal(
      p.auth_token,
      env.CREDENTIALS_KEY,
      env.CREDENTIALS_KEY_VERSION,
      p.tenant_id,
    );
    await sql`
      insert into private.tenant_credentials
        (tenant_id, account_sid, auth_token_ciphertext, key_version, auth_token_last4, verified_at)
      values (${p.tenant_id}::uuid, ${p.account_sid}, ${sealed.ciphertext}, ${sealed.keyVersion},
        ${p.auth_token.slice(-4)}, now())
      on conflict (tenant_id) do update set account_sid = excluded.account_sid,
        auth_token_ciphertext = excluded.auth_token_ciphertext,
        key_version = excluded.key_version, auth_token_last4 = excluded.auth_token_last4,
        verified_at = now()`;
    return json(200, await status(deps, p.tenant_id), CORS);
  });
}

export const handler = lazyHandler(createHandler);
