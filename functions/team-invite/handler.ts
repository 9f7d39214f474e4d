// POST {tenant_id, email, role}: an owner invites someone to the team. The invitation is made by
// public.invite_member run as the caller (their JWT claims, role authenticated — what PostgREST
// would do), so SQL decides who may invite, whom and how often; this function only mails the
// link. The answer is the same whether or not the address has an account.
import { z } from 'zod';
import { blockedSmtpPort, smtpTransport } from '../_shared/email.ts';
import { callerClaims } from '../_shared/auth.ts';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { CORS, HttpError, json, readJson, wrap } from '../_shared/http.ts';

const InviteSchema = z.object({
  tenant_id: z.string().uuid(),
  email: z.string().trim().min(3).max(255),
  role: z.enum(['owner', 'agent']),
}).strict();

type Invitation = { id: string; email: string; role: string; expires_at: Date; tenant: string };

// SQLSTATEs of the tenancy RPCs, as PostgREST maps them.
const STATUS: Record<string, [number, string]> = {
  '42501': [403, 'forbidden'],
  '22023': [400, 'invalid_argument'],
  '23505': [409, 'already_member'],
  PT429: [429, 'too_many_invitations'],
};

async function inviteAsCaller(deps: Deps, claims: object, p: z.infer<typeof InviteSchema>) {
  try {
    return await deps.sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
      await tx`set local role authenticated`;
      const [inv] = await tx<Invitation[]>`
        select i.id, i.email, i.role, i.expires_at, t.name as tenant
        from public.invite_member(${p.tenant_id}::uuid, ${p.email}, ${p.role}) i
        join public.tenants t on t.id = i.tenant_id`;
      return inv;
    });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const mapped = err.code ? STATUS[err.code] : undefined;
    if (mapped) throw new HttpError(mapped[0], mapped[1], err.message ?? 'refused');
    throw e;
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function inviteMail(inv: Invitation, siteUrl: string) {
  const link = `${siteUrl.replace(/\/+$/, '')}/team?invitation=${inv.id}`;
  const as = inv.role === 'owner' ? 'an owner' : 'an agent';
  const subject = `You've been invited to join ${inv.tenant} on Switchboard`.slice(0, 200);
  const text = `You've been invited to join ${inv.tenant} on Switchboard as ${as}.\n\n` +
    `Sign in, or sign up and confirm this address, then accept here: ${link}\n\n` +
    `The invitation expires on ${inv.expires_at.toISOString().slice(0, 10)}. ` +
    `If you don't know this business, ignore this mail.`;
  const html = `<h2>You've been invited</h2>
<p>You've been invited to join <b>${escapeHtml(inv.tenant)}</b> on Switchboard as ${as}.</p>
<p>Sign in, or sign up and confirm this address, then accept the invitation:</p>
<p><a href="${escapeHtml(link)}">Accept invitation</a></p>
<p>If you don't know this business, ignore this mail.</p>`;
  return { subject, text, html };
}

export function createHandler(deps: Deps) {
  const { env } = deps;
  return wrap(async (req) => {
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST');
    const claims = await callerClaims(req, env);
    if (claims.role !== 'authenticated' || !claims.sub) {
      throw new HttpError(403, 'forbidden', 'sign in to invite');
    }
    const p = InviteSchema.parse(await readJson(req));
    if (!env.INVITE_SMTP_URL) {
      throw new HttpError(503, 'mail_unconfigured', 'INVITE_SMTP_URL is not set');
    }
    const blocked = blockedSmtpPort(env.INVITE_SMTP_URL);
    if (blocked) {
      throw new HttpError(
        503,
        'smtp_port_blocked',
        `INVITE_SMTP_URL uses port ${blocked}, which Supabase Edge Functions block: use smtps:// on 465`,
      );
    }
    const inv = await inviteAsCaller(deps, claims, p);
    await smtpTransport(env.INVITE_SMTP_URL).sendMail({
      from: env.EMAIL_FROM,
      to: inv.email,
      ...inviteMail(inv, env.SITE_URL),
    });
    return json(
      200,
      { id: inv.id, email: inv.email, role: inv.role, expires_at: inv.expires_at },
      CORS,
    );
  });
}

export const handler = lazyHandler(createHandler);
