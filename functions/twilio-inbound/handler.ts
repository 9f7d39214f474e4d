// Inbound SMS / WhatsApp from Twilio. The signature is checked with the auth token of the tenant
// owning the `To` number (or the platform token), before anything is parsed or stored; the
// message is recorded idempotently on MessageSid by SQL (public.record_inbound, grouped with
// concurrent webhooks: record_batch.ts), and Twilio gets empty TwiML once it is committed.
import { z } from 'zod';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { platformCreds, tenantCreds } from '../_shared/credentials.ts';
import { errorResponse, HttpError, wrap } from '../_shared/http.ts';
import type { TwilioCreds } from '../_shared/twilio.ts';
import { assertJsonOk, readTwilioWebhook, signedByAny, twiml } from '../_shared/webhook.ts';
import { inboundRecorder } from './record_batch.ts';

const address = z.string().regex(/^(whatsapp:)?\+[1-9][0-9]{6,14}$/, 'E.164 address expected');

export const InboundSchema = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'a Twilio MessageSid'),
  AccountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/).optional(),
  From: address,
  To: address,
  Body: z.string().max(10_000).default(''),
  NumMedia: z.coerce.number().int().min(0).max(10).default(0),
}).passthrough();

function bare(a: string | undefined): string {
  return (a ?? '').replace(/^whatsapp:/, '');
}

// Who owns a number and which token signs for it, remembered briefly: a burst of webhooks to one
// number costs one lookup. A changed or deleted credential takes effect within this time.
const OWNER_TTL_MS = 5_000;

export function createHandler(deps: Deps) {
  const { env, sql } = deps;
  const recorder = inboundRecorder(sql);
  const owners = new Map<
    string,
    { at: number; tenantId: string | null; creds: TwilioCreds | null }
  >();
  async function ownerOf(to: string) {
    const hit = owners.get(to);
    if (hit && Date.now() - hit.at < OWNER_TTL_MS) return hit;
    const [row] = to
      ? await sql<{ tenant_id: string }[]>`
          select tenant_id from public.phone_numbers where e164 = ${to}`
      : [];
    const entry = {
      at: Date.now(),
      tenantId: row?.tenant_id ?? null,
      creds: row ? await tenantCreds(sql, env, row.tenant_id) : platformCreds(env),
    };
    if (owners.size > 10_000) owners.clear();
    owners.set(to, entry);
    return entry;
  }
  return wrap(async (req) => {
    const body = await readTwilioWebhook(req, 'twilio-inbound', env.PUBLIC_FUNCTIONS_URL);
    const to = bare(body.params.To);
    const { tenantId, creds } = await ownerOf(to);
    const owner = tenantId ? { tenant_id: tenantId } : null;
    if (!creds || !signedByAny(req, body, [creds.authToken])) {
      return errorResponse(403, 'invalid_signature', 'X-Twilio-Signature missing or invalid');
    }
    assertJsonOk(body);
    const p = InboundSchema.parse(body.params);
    if (!owner) throw new HttpError(404, 'unknown_number', `no tenant owns ${to}`);

    // MMS: Twilio hosts the media; we keep the URLs and types as attachment metadata.
    const media = Array.from({ length: p.NumMedia }, (_, i) => ({
      url: body.params[`MediaUrl${i}`],
      content_type: body.params[`MediaContentType${i}`] ?? null,
    })).filter((m) => m.url);
    const channel = p.From.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
    try {
      await recorder.record({
        channel,
        from: bare(p.From),
        to,
        body: p.Body,
        provider_sid: p.MessageSid,
        media,
        tenant_id: owner.tenant_id,
      });
    } catch (e) {
      const err = e as { code?: string; message: string };
      if (err.code === '22023' || err.code === '23514') {
        throw new HttpError(400, 'invalid_message', err.message);
      }
      if (err.code === 'P0002') throw new HttpError(404, 'unknown_number', err.message);
      throw e;
    }
    // A HELP answer is queued by record_inbound as an ordinary outbound message (tracked and
    // retried): answering in TwiML as well would send it twice.
    return twiml();
  });
}

export const handler = lazyHandler(createHandler);
