// Outbound email through EMAIL_PROVIDER: the Resend HTTP API, SMTP via nodemailer, or a log line
// for development. Each returns a provider id we store as the message's provider_sid.
import nodemailer from 'nodemailer';
import type { Env } from './env.ts';

export interface OutboundEmail {
  /** Our message id: Resend idempotency key and the base of the Message-ID header. */
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
  inReplyTo?: string | null;
}

export interface EmailResult {
  providerId: string;
}

export class EmailError extends Error {
  constructor(message: string, public code: string, public permanent: boolean) {
    super(message);
  }
}

export type EmailSender = (m: OutboundEmail) => Promise<EmailResult>;

const transports = new Map<string, ReturnType<typeof nodemailer.createTransport>>();

/** One nodemailer transport per SMTP URL and isolate (connections are pooled by it). */
export function smtpTransport(url: string) {
  let t = transports.get(url);
  if (!t) transports.set(url, t = nodemailer.createTransport(url));
  return t;
}

/**
 * Hosted Supabase refuses outbound connections to ports 25 and 587 (supabase.com/docs/guides/
 * functions/limits), so an SMTP URL aimed at them would work locally and never on a project.
 * nodemailer's default port is 587 for smtp:// and 465 for smtps://.
 */
export function blockedSmtpPort(smtpUrl: string): number | null {
  let u: URL;
  try {
    u = new URL(smtpUrl);
  } catch {
    return null; // nodemailer reports a malformed URL itself
  }
  const port = u.port ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 587;
  return port === 25 || port === 587 ? port : null;
}

export function emailSender(env: Env): EmailSender {
  if (env.EMAIL_PROVIDER === 'resend') {
    return async (m) => {
      let res: Response;
      try {
        res = await fetch(`${env.RESEND_API_URL}/emails`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${env.RESEND_API_KEY}`,
            'content-type': 'application/json',
            // Resend keeps idempotency keys for 24 h: a retry after an unknown outcome (timeout,
            // crash before we stored the id) returns the first email instead of sending again.
            'idempotency-key': `message-${m.id}`,
          },
          body: JSON.stringify({
            from: m.from,
            to: [m.to],
            subject: m.subject,
            text: m.text,
            headers: {
              'Message-ID': m.messageId,
              ...(m.inReplyTo ? { 'In-Reply-To': m.inReplyTo, References: m.inReplyTo } : {}),
            },
          }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (e) {
        throw new EmailError(`resend unreachable: ${(e as Error).message}`, 'network', false);
      }
      const body = await res.json().catch(() => ({})) as { id?: string; message?: string };
      if (!res.ok || !body.id) {
        const permanent = res.status >= 400 && res.status < 500 && res.status !== 429;
        throw new EmailError(
          body.message ?? `resend answered ${res.status}`,
          `resend_${res.status}`,
          permanent,
        );
      }
      return { providerId: `resend:${body.id}` };
    };
  }
  if (env.EMAIL_PROVIDER === 'smtp') {
    const blocked = blockedSmtpPort(env.SMTP_URL!);
    if (blocked) {
      console.error(
        `[email] SMTP_URL uses port ${blocked}, which hosted Supabase blocks: use smtps:// on 465`,
      );
      return () =>
        Promise.reject(
          new EmailError(
            `SMTP port ${blocked} is blocked on Supabase Edge Functions; use port 465 (smtps://)`,
            'smtp_port_blocked',
            true,
          ),
        );
    }
    return async (m) => {
      const t = smtpTransport(env.SMTP_URL!);
      try {
        // SMTP has no idempotency key: a retry after an unknown outcome may deliver twice, but
        // with the same Message-ID, which mail clients collapse into one.
        const info = await t.sendMail({
          from: m.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          messageId: m.messageId,
          inReplyTo: m.inReplyTo ?? undefined,
          references: m.inReplyTo ?? undefined,
        });
        return { providerId: `smtp:${info.messageId ?? m.messageId}` };
      } catch (e) {
        const err = e as { responseCode?: number; message: string };
        const permanent = (err.responseCode ?? 0) >= 500;
        throw new EmailError(err.message, `smtp_${err.responseCode ?? 'error'}`, permanent);
      }
    };
  }
  return (m) => {
    console.log(
      `[email:log] not sent (EMAIL_PROVIDER=log) to=${m.to} subject=${
        JSON.stringify(m.subject)
      } id=${m.id}`,
    );
    return Promise.resolve({ providerId: `log:${m.id}` });
  };
}
