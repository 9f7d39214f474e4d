// The mails GoTrue sends, with its default templates (supabase/auth
// internal/mailer/templatemailer/templatemailer.go defaultTemplateSubjects and default*Mail), over SMTP to the stack's mail
// catcher, as `supabase start` points GoTrue at Mailpit. Links are GoTrue's
// `{API_EXTERNAL_URL}/verify?token={hash}&type={type}&redirect_to={url}` (mailer.getPath).
import nodemailer from 'nodemailer';
import { createHash } from 'node:crypto';
import type { AuthConfig } from './config.ts';

export type MailKind = 'signup' | 'email_change';

const SUBJECTS: Record<MailKind, string> = {
  signup: 'Confirm your email address',
  email_change: 'Confirm your new email address',
};

function body(kind: MailKind, link: string, newEmail: string): string {
  const href = link.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  if (kind === 'signup') {
    return `<h2>Confirm your email address</h2>

<p>Follow the link below to confirm this email address and finish signing up.</p>
<p><a href="${href}">Confirm email address</a></p>
`;
  }
  return `<h2>Confirm your new email address</h2>

<p>Follow the link below to confirm ${newEmail.replace(/[<>&]/g, '')} as your new email address.</p>
<p><a href="${href}">Confirm new email address</a></p>
<p>If you didn't request this change, you can safely ignore this email.</p>`;
}

/** crypto.GenerateOtp: six random digits. */
export function generateOtp(): string {
  const n = crypto.getRandomValues(new Uint32Array(1))[0] % 1_000_000;
  return String(n).padStart(6, '0');
}

/** crypto.GenerateTokenHash: hex SHA-224 of the address followed by the OTP. */
export function tokenHash(emailOrPhone: string, otp: string): string {
  return createHash('sha224').update(emailOrPhone + otp).digest('hex');
}

export interface Mailer {
  send(kind: MailKind, to: string, link: string, newEmail?: string): Promise<void>;
  close(): void;
}

export function smtpMailer(smtpUrl: string, config: AuthConfig): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(kind, to, link, newEmail = '') {
      await transport.sendMail({
        from: { name: config.senderName, address: config.senderEmail },
        to,
        subject: SUBJECTS[kind],
        html: body(kind, link, newEmail),
      });
    },
    close: () => transport.close(),
  };
}

/** The verify link a mail carries. */
export function verifyLink(externalUrl: string, hash: string, type: MailKind, redirectTo: string) {
  const u = new URL(`${externalUrl}/verify`);
  u.searchParams.set('token', hash);
  u.searchParams.set('type', type);
  u.searchParams.set('redirect_to', redirectTo);
  return u.toString();
}

/**
 * GoTrue's utilities.GetReferrer: `redirect_to` if it matches site_url or an allowed redirect URL
 * (same origin here; GoTrue also allows globs), otherwise site_url.
 */
export function allowedRedirect(config: AuthConfig, requested: string | null | undefined): string {
  if (!requested) return config.siteUrl;
  try {
    const origin = new URL(requested).origin;
    const allowed = [config.siteUrl, ...config.additionalRedirectUrls].map((u) =>
      new URL(u).origin
    );
    return allowed.includes(origin) ? requested : config.siteUrl;
  } catch {
    return config.siteUrl;
  }
}
