// Twilio status callbacks. Signed with the auth token of the account that sent (AccountSid in the
// body); SQL (private.record_account_status_callback) applies it only to a message whose business
// sends through that account (a valid signature from another business's account changes
// nothing), moves the message forward only and keeps the first error. The StatusCallback URL carries our message id (?mid=), so a callback for a send whose
// result the dispatcher never recorded (it died after Twilio's 2xx) attaches the sid to the row.
// A callback that still finds no message came early (before the send's result was written): SQL
// keeps it (private.keep_early_status_callback) and applies it when a message gets the sid.
import { z } from 'zod';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { platformCreds, tokensForAccount } from '../_shared/credentials.ts';
import { errorResponse, json, wrap } from '../_shared/http.ts';
import { assertJsonOk, readTwilioWebhook, signedByAny } from '../_shared/webhook.ts';

export const StatusSchema = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'a Twilio MessageSid'),
  AccountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/),
  MessageStatus: z.enum([
    'accepted',
    'scheduled',
    'queued',
    'sending',
    'sent',
    'delivered',
    'undelivered',
    'failed',
    'read',
    'canceled',
    'receiving',
    'received',
  ]),
  ErrorCode: z.string().regex(/^\d+$/).optional(),
  ErrorMessage: z.string().max(2000).optional(),
  From: z.string().optional(),
}).passthrough();

// Twilio's states that say nothing new about an outbound message.
const IGNORED = new Set(['accepted', 'scheduled', 'receiving', 'received']);

type Row = { id: string | null; status: string | null };

export function createHandler(deps: Deps) {
  const { env, sql } = deps;
  return wrap(async (req) => {
    const body = await readTwilioWebhook(req, 'twilio-status', env.PUBLIC_FUNCTIONS_URL);
    const account = body.params.AccountSid ?? '';
    const tokens = /^AC[0-9a-fA-F]{32}$/.test(account)
      ? await tokensForAccount(sql, env, account)
      : [];
    if (!signedByAny(req, body, tokens)) {
      return errorResponse(403, 'invalid_signature', 'X-Twilio-Signature missing or invalid');
    }
    assertJsonOk(body);
    const p = StatusSchema.parse(body.params);
    if (IGNORED.has(p.MessageStatus)) return json(200, { ok: true, ignored: p.MessageStatus });
    // Twilio's 'queued'/'sending' mean it holds the message: for us that is 'sent'.
    const status = p.MessageStatus === 'queued' || p.MessageStatus === 'sending'
      ? 'sent'
      : p.MessageStatus;
    const platformSid = platformCreds(env)?.accountSid ?? null;
    const apply = () =>
      sql<Row[]>`
        select id, status from private.record_account_status_callback(
          p_account_sid => ${p.AccountSid}, p_platform_account_sid => ${platformSid},
          p_provider_sid => ${p.MessageSid}, p_status => ${status},
          p_error_code => ${p.ErrorCode ?? null}, p_error_message => ${p.ErrorMessage ?? null})`;
    let [row] = await apply();
    const mid = new URL(req.url).searchParams.get('mid');
    if (!row?.id && mid && /^[0-9a-f-]{36}$/i.test(mid)) {
      // The dispatcher died between Twilio's answer and its own write: the callback is the first
      // news of the sid. Record the send (only if the row has no sid yet), then the status.
      const [{ recorded }] = await sql<{ recorded: boolean }[]>`
        select private.record_callback_send(
          p_message_id => ${mid}::uuid, p_account_sid => ${p.AccountSid},
          p_platform_account_sid => ${platformSid}, p_provider_sid => ${p.MessageSid},
          p_from_address => ${p.From ?? null}) as recorded`;
      if (recorded) {
        [row] = await apply();
      }
    }
    if (!row?.id) {
      // Early: the dispatcher has not written this send's result yet, and Twilio will not send
      // the callback again. SQL keeps it and applies it when the sid lands.
      [row] = await sql<Row[]>`
        select id, status from private.keep_early_status_callback(
          p_account_sid => ${p.AccountSid}, p_platform_account_sid => ${platformSid},
          p_provider_sid => ${p.MessageSid}, p_status => ${status},
          p_error_code => ${p.ErrorCode ?? null}, p_error_message => ${p.ErrorMessage ?? null})`;
    }
    return json(200, { ok: true, message_id: row?.id ?? null, status: row?.status ?? null });
  });
}

export const handler = lazyHandler(createHandler);
