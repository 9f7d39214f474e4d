// Twilio webhook bodies: read the raw body once (the signature covers it), then expose it both as
// the params for signature checking and as a plain record for zod.
import { HttpError, subPath } from './http.ts';
import { formToRecord, validSignature } from './twilio.ts';

export interface WebhookBody {
  params: Record<string, string>;
  /** What the signature is computed over. */
  signed: { form: Record<string, string> } | { raw: string };
  publicUrl: string;
  /** A JSON body that did not parse: refused with 400 once the signature has been checked. */
  invalidJson?: boolean;
}

export async function readTwilioWebhook(
  req: Request,
  name: string,
  publicFunctionsUrl: string,
): Promise<WebhookBody> {
  if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only');
  const url = new URL(req.url);
  const publicUrl = `${publicFunctionsUrl}/${name}${subPath(req, name)}${url.search}`;
  const raw = await req.text();
  const type = (req.headers.get('content-type') ?? '').toLowerCase();
  if (type.includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // Checked after the signature by the caller: an unsigned garbage body is a 403, not a 400.
      return { params: {}, signed: { raw }, publicUrl, invalidJson: true };
    }
    const params: Record<string, string> = {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) {
        if (v !== null && v !== undefined) params[k] = typeof v === 'string' ? v : String(v);
      }
    }
    return { params, signed: { raw }, publicUrl };
  }
  const params = formToRecord(new URLSearchParams(raw));
  return { params, signed: { form: params }, publicUrl };
}

/** True if any of the tokens produced the request's X-Twilio-Signature. */
export function signedByAny(req: Request, body: WebhookBody, tokens: string[]): boolean {
  const sig = req.headers.get('x-twilio-signature');
  return tokens.some((t) => validSignature(t, sig, body.publicUrl, body.signed));
}

export function assertJsonOk(body: WebhookBody) {
  if (body.invalidJson) {
    throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
  }
}

export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export function twiml(xml = EMPTY_TWIML): Response {
  return new Response(xml, { status: 200, headers: { 'content-type': 'text/xml' } });
}
