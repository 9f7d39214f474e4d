// Inbound email, in Postmark's inbound webhook format (JSON with From/FromFull, Subject, TextBody,
// StrippedTextReply, Headers [{Name, Value}], Attachments), at /email-inbound/<tenant secret>.
// Threads by the sender's address (one email conversation per contact) and keeps In-Reply-To;
// the quoted history is stripped; mail with Auto-Submitted other than "no" (out-of-office,
// bounces) is acknowledged and dropped so that it can never start a reply loop.
import { z } from 'zod';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { errorResponse, HttpError, json, readJson, subPath, wrap } from '../_shared/http.ts';

export const PostmarkSchema = z.object({
  From: z.string().min(3).max(500),
  FromFull: z.object({ Email: z.string().email(), Name: z.string().optional() }).passthrough()
    .optional(),
  To: z.string().max(2000).optional(),
  Subject: z.string().max(1000).default(''),
  MessageID: z.string().min(1).max(200),
  TextBody: z.string().max(200_000).default(''),
  HtmlBody: z.string().optional(),
  StrippedTextReply: z.string().max(200_000).optional(),
  Headers: z.array(z.object({ Name: z.string(), Value: z.string() })).default([]),
  Attachments: z.array(
    z.object({
      Name: z.string(),
      ContentType: z.string(),
      ContentLength: z.number().optional(),
      ContentID: z.string().optional(),
    }).passthrough(),
  ).default([]),
}).passthrough();

/** The new text of a reply: everything above the quoted history. */
export function stripQuoted(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (/^On .+ wrote:\s*$/.test(line) || /^-{2,}\s*Original Message\s*-{2,}/i.test(line)) break;
    if (/^From: .+/.test(line) && out.length && out[out.length - 1].trim() === '') break;
    if (/^\s*>/.test(line)) continue;
    out.push(line);
  }
  return out.join('\n').trim();
}

export function createHandler(deps: Deps) {
  const { sql } = deps;
  return wrap(async (req) => {
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only');
    // The secret is the path only: a query-string form would end up in more logs (proxies,
    // analytics) and is refused like a wrong secret.
    if (new URL(req.url).searchParams.has('secret')) {
      return errorResponse(404, 'unknown_inbox', 'no such inbox');
    }
    const secret = subPath(req, 'email-inbound').replace(/^\/+|\/+$/g, '');
    if (!/^[0-9a-f]{64}$/.test(secret)) {
      return errorResponse(404, 'unknown_inbox', 'no such inbox');
    }
    const [t] = await sql<{ tenant_id: string }[]>`
      select tenant_id from private.tenant_webhook_secrets where email_inbound_secret = ${secret}`;
    if (!t) return errorResponse(404, 'unknown_inbox', 'no such inbox');
    const p = PostmarkSchema.parse(await readJson(req));
    const header = (name: string) =>
      p.Headers.find((h) => h.Name.toLowerCase() === name.toLowerCase())?.Value?.trim() ?? null;
    const auto = header('Auto-Submitted');
    if (auto && auto.toLowerCase() !== 'no') {
      return json(200, { ok: true, ignored: 'auto_submitted' });
    }
    const body = p.StrippedTextReply?.trim() || stripQuoted(p.TextBody);
    const media = p.Attachments.map((a) => ({
      name: a.Name,
      content_type: a.ContentType,
      size: a.ContentLength ?? null,
    }));
    const messageId = header('Message-ID') ?? `<${p.MessageID}@postmark>`;
    const inReplyTo = header('In-Reply-To');
    try {
      const [r] = await sql<
        { r: { message_id: string; conversation_id: string; duplicate: boolean } }[]
      >`
        select public.record_inbound(
          p_channel => 'email', p_from => ${p.FromFull?.Email ?? p.From}, p_to => ${p.To ?? null},
          p_body => ${body}, p_provider_sid => ${`postmark:${p.MessageID}`},
          p_media => ${sql.json(media)}, p_subject => ${p.Subject || null},
          p_email_message_id => ${messageId}, p_in_reply_to => ${inReplyTo},
          p_auto_submitted => false, p_tenant_id => ${t.tenant_id}::uuid,
          p_contact_name => ${p.FromFull?.Name ?? null}) as r`;
      return json(200, {
        ok: true,
        message_id: r.r.message_id,
        conversation_id: r.r.conversation_id,
        duplicate: r.r.duplicate,
      });
    } catch (e) {
      const err = e as { code?: string; message: string };
      if (err.code === '22023' || err.code === '23514') {
        throw new HttpError(400, 'invalid_message', err.message);
      }
      throw e;
    }
  });
}

export const handler = lazyHandler(createHandler);
