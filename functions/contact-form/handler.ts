// The public contact form: a customer writes to a business (tenant slug). Validated with zod,
// a honeypot field (`website`, invisible to people; bots fill it) is accepted silently and
// dropped, and submissions are rate limited per client address and per tenant in SQL. A valid
// submission creates or finds the contact and starts an email conversation whose first message
// is kind 'form', so the owner answers from the inbox by email. Everything typed is unverified:
// the phone stays in the message text (never written onto a contact, where it would receive that
// customer's replies and reminders), and SQL never acts on a form's keywords or auto-replies to it.
import { z } from 'zod';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { CORS, errorResponse, HttpError, json, wrap } from '../_shared/http.ts';

export const FormSchema = z.object({
  tenant: z.string().trim().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'a tenant slug'),
  name: z.string().trim().min(1).max(200),
  email: z.string().trim().toLowerCase().email().max(320),
  phone: z.string().trim().max(40).regex(/^[+0-9 ().-]{7,40}$/, 'a phone number').optional()
    .or(z.literal('').transform(() => undefined)),
  subject: z.string().trim().min(1).max(200),
  message: z.string().trim().min(1).max(5000),
  reference: z.string().trim().max(500).optional(),
  website: z.string().max(500).optional(),
}).strict();

async function sha256(s: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function readBody(req: Request): Promise<unknown> {
  const type = (req.headers.get('content-type') ?? '').toLowerCase();
  const text = await req.text();
  if (type.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
  }
}

export function createHandler(deps: Deps) {
  const { sql } = deps;
  return wrap(async (req) => {
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only');
    const parsed = FormSchema.safeParse(await readBody(req));
    if (!parsed.success) {
      const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return json(400, { error: { code: 'invalid_body', message: msg } }, CORS);
    }
    const f = parsed.data;
    // Honeypot: answer like a success so the bot learns nothing, store nothing.
    if (f.website) return json(200, { ok: true }, CORS);
    const [tenant] = await sql<{ id: string; email_from: string | null }[]>`
      select id, email_from from public.tenants where slug = ${f.tenant}`;
    if (!tenant) return errorResponse(404, 'unknown_tenant', 'no such business');
    // The last X-Forwarded-For entry is the one our proxy (the gateway, Supabase's edge) appended;
    // earlier entries come from the client and would let a spammer pick a fresh bucket per post.
    const ip = (req.headers.get('x-forwarded-for') ?? '').split(',').pop()!.trim() || 'unknown';
    const [limit] = await sql<{ r: string | null }[]>`
      select private.form_rate_check(${tenant.id}::uuid, ${await sha256(ip)}) as r`;
    if (limit.r) {
      return json(429, {
        error: { code: limit.r, message: 'too many messages, try again later' },
      }, { ...CORS, 'retry-after': '600' });
    }
    const extra = [
      f.reference ? `Reference: ${f.reference}` : '',
      f.phone ? `Phone (as typed in the form, not verified): ${f.phone}` : '',
    ].filter(Boolean);
    const body = extra.length ? `${f.message}\n\n${extra.join('\n')}` : f.message;
    try {
      const [r] = await sql<
        { r: { contact_id: string; conversation_id: string; message_id: string } }[]
      >`
        select public.record_inbound(
          p_channel => 'form', p_from => ${f.email}, p_to => ${tenant.email_from},
          p_body => ${body}, p_provider_sid => ${`form:${crypto.randomUUID()}`},
          p_subject => ${f.subject}, p_tenant_id => ${tenant.id}::uuid,
          p_contact_name => ${f.name}) as r`;
      return json(201, { ok: true, conversation_id: r.r.conversation_id }, CORS);
    } catch (e) {
      const err = e as { code?: string; message: string };
      if (err.code === '22023' || err.code === '23514') {
        throw new HttpError(400, 'invalid_body', err.message);
      }
      throw e;
    }
  });
}

export const handler = lazyHandler(createHandler);
