// What travels between SQL and the dispatcher's parts. SQL builds the jobs
// (private.claim_sends / private.prepare_sends) and takes the results back
// (private.record_send_results); nothing here is read from or written to a table directly.

export type Channel = 'sms' | 'whatsapp' | 'email';

/** A claimed message ready for its provider call: sender chosen, attempt row written. */
export interface SendJob {
  ready: true;
  id: string;
  attempt: number;
  tenant_id: string;
  channel: Channel;
  body: string;
  variables: Record<string, unknown> | null;
  /** WhatsApp template (Twilio Content API) instead of a free-form body. */
  content_sid: string | null;
  media: string[];
  /** The provider's To / From as sent (whatsapp: prefix included); null when there is none. */
  to: string | null;
  from: string | null;
  /** Twilio Messaging Service SID when no number was picked. */
  mss: string | null;
  subject: string | null;
  message_id: string | null;
  in_reply_to: string | null;
}

/** An earlier attempt that may have reached Twilio (pending or unknown). */
export interface Unsettled {
  since: string;
  from: string | null;
  to: string | null;
  body_sha256: string | null;
}

/** A claimed message held back from sending until its step ran (AI, reconcile). */
export interface HeldJob {
  ready: false;
  id: string;
  attempt: number;
  channel: Channel;
  kind: string;
  body: string;
  tenant_id: string;
  conversation_id: string;
  template_id: string | null;
  template_body: string | null;
  variables: Record<string, unknown> | null;
  ai_enhance: boolean | null;
  whatsapp_content_sid: string | null;
  /** compose: an auto_reply without text; enhance: a just-rendered ai_enhance template. */
  ai_step: 'compose' | 'enhance' | null;
  unsettled: Unsettled | null;
}

export type ClaimedJob = SendJob | HeldJob;

export type Outcome = 'sent' | 'unknown' | 'failed' | 'retry' | 'reconciled';

export interface Result {
  id: string;
  attempt: number;
  outcome: Outcome;
  sid?: string | null;
  code?: string | null;
  message?: string | null;
  permanent?: boolean;
  segments?: number | null;
  from?: string | null;
}

export interface DispatchStats {
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  unknown: number;
  reconciled: number;
  /** Claimed but not sent before the lease ran short (left for a later claim). */
  deferred: number;
  /** The invocation's budget (time or messages) ended with work still due: another was kicked. */
  continued: boolean;
}

export const emptyStats = (): DispatchStats => ({
  claimed: 0,
  sent: 0,
  retried: 0,
  failed: 0,
  unknown: 0,
  reconciled: 0,
  deferred: 0,
  continued: false,
});

/** A permanent failure decided before any provider call. */
export const failure = (
  j: { id: string; attempt: number },
  code: string,
  message: string,
): Result => ({ id: j.id, attempt: j.attempt, outcome: 'failed', code, message, permanent: true });

/** Twilio's To/From without the whatsapp: prefix, as messages.from_address stores it. */
export const bare = (a: string | null | undefined) => (a ?? '').replace(/^whatsapp:/, '');
