// SMS and WhatsApp through Twilio's Messages API (the official SDK, functions/_shared/twilio.ts).
// Takes a prepared job (sender chosen and attempt row written by SQL) and answers a Result; the
// outcome of a request that may have reached Twilio without an answer is 'unknown', never a retry.
import type { Env } from '../../_shared/env.ts';
import { smsSegments } from '../../../common/sms_segments.ts';
import {
  classifyError,
  type TwilioClient,
  twilioClient,
  type TwilioCreds,
  UnknownOutcomeError,
} from '../../_shared/twilio.ts';
import { bare, failure, type Result, type SendJob } from '../types.ts';

export type AfterAccepted = (messageId: string, providerId: string) => void | Promise<void>;

/** One SDK client per account, kept for the process (the SDK holds no per-request state). */
export function twilioClients(env: Env) {
  const clients = new Map<string, TwilioClient>();
  return (c: TwilioCreds): TwilioClient => {
    const key = `${c.accountSid}:${c.authToken}`;
    let cl = clients.get(key);
    if (!cl) {
      cl = twilioClient(c, env.TWILIO_API_URL, env.TWILIO_TIMEOUT_MS);
      clients.set(key, cl);
    }
    return cl;
  };
}

/** Sends one prepared SMS/WhatsApp job with the tenant's client (null: no credentials). */
export async function sendTwilio(
  env: Env,
  tw: TwilioClient | null,
  job: SendJob,
  afterAccepted?: AfterAccepted,
): Promise<Result> {
  if (!tw) {
    return failure(job, 'no_twilio_credentials', 'no Twilio account for this tenant or platform');
  }
  if (!job.to) return failure(job, 'no_address', 'contact has no number');
  if (!job.from && !job.mss) {
    return failure(job, 'no_sender', 'no number or messaging service to send from');
  }
  const wa = job.channel === 'whatsapp';
  let sid: string;
  try {
    const res = await tw.messages.create({
      to: job.to,
      ...(job.from ? { from: job.from } : { messagingServiceSid: job.mss! }),
      ...(wa && job.content_sid
        ? { contentSid: job.content_sid, contentVariables: JSON.stringify(job.variables ?? {}) }
        : { body: job.body }),
      ...(job.media.length ? { mediaUrl: job.media } : {}),
      statusCallback: `${env.PUBLIC_FUNCTIONS_URL}/twilio-status?mid=${job.id}`,
    });
    sid = res.sid;
  } catch (e) {
    if (e instanceof UnknownOutcomeError) {
      // Maybe sent: the row stays 'sending' under its lease; the next claim reconciles.
      console.warn(`[dispatch] ${job.id}: ${e.message}; will reconcile after the lease`);
      return { id: job.id, attempt: job.attempt, outcome: 'unknown' };
    }
    const c = classifyError(e);
    return {
      id: job.id,
      attempt: job.attempt,
      outcome: c.permanent ? 'failed' : 'retry',
      code: c.code,
      message: c.message,
      permanent: c.permanent,
    };
  }
  await afterAccepted?.(job.id, sid);
  return {
    id: job.id,
    attempt: job.attempt,
    outcome: 'sent',
    sid,
    segments: wa ? 1 : smsSegments(job.body),
    from: bare(job.from) || null,
  };
}
