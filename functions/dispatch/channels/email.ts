// Email through EMAIL_PROVIDER (functions/_shared/email.ts). The job carries the Message-ID and
// In-Reply-To SQL put on the row, the subject and the From. Resend dedupes on our idempotency key
// and SMTP repeats the same Message-ID, so a retry after an unknown outcome needs no lookup.
import { EmailError, type EmailSender } from '../../_shared/email.ts';
import { failure, type Result, type SendJob } from '../types.ts';
import type { AfterAccepted } from './twilio.ts';

export async function sendEmail(
  send: EmailSender,
  job: SendJob,
  afterAccepted?: AfterAccepted,
): Promise<Result> {
  if (!job.to) return failure(job, 'no_address', 'contact has no email');
  try {
    const r = await send({
      id: job.id,
      from: job.from!,
      to: job.to,
      subject: job.subject ?? '',
      text: job.body,
      messageId: job.message_id!,
      inReplyTo: job.in_reply_to,
    });
    // Inside the try: a crash here is a retry, which the idempotency key makes safe.
    await afterAccepted?.(job.id, r.providerId);
    return { id: job.id, attempt: job.attempt, outcome: 'sent', sid: r.providerId, from: job.from };
  } catch (e) {
    const c = e instanceof EmailError
      ? { code: e.code, message: e.message, permanent: e.permanent }
      : { code: 'email_error', message: (e as Error).message, permanent: false };
    return { id: job.id, attempt: job.attempt, outcome: c.permanent ? 'failed' : 'retry', ...c };
  }
}
