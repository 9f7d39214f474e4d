// IDEMPOTENCY for Twilio (its Messages API has no idempotency key). Every send has a 'pending'
// attempt row, committed before the request leaves (private.prepare_sends). If the dispatcher
// then dies, or the request times out after leaving ('unknown'), the message stays 'sending'
// until its lease expires and private.expire_leases() requeues it. The next claim holds it back
// (`unsettled`) and, before sending anything, this lists Twilio's messages To/From those
// addresses and looks for one created after the attempt started with the same body (SHA-256):
// found -> that sid is recorded, no send; not found -> the request never reached Twilio, and the
// new attempt goes out (preparing it settles the old one). Waiting a full lease (60 s) before
// looking gives Twilio's list time to show what it accepted. Independently, the StatusCallback
// URL carries our message id (?mid=), so Twilio's first status callback attaches the sid even
// before a dispatcher reconciles (twilio-status).
import type { TwilioClient } from '../_shared/twilio.ts';
import { bare, type HeldJob, type Result } from './types.ts';

async function sha256(s: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The provider's copy of the unsettled attempt as a 'reconciled' result, or null if absent. */
export async function findSentCopy(
  job: HeldJob,
  tw: TwilioClient,
  knownSids: (sids: string[]) => Promise<Set<string>>,
): Promise<Result | null> {
  const u = job.unsettled;
  if (!u) return null;
  const since = new Date(u.since).getTime() - 60_000;
  const list = await tw.messages.list({
    to: u.to ?? undefined,
    ...(u.from ? { from: u.from } : {}),
    limit: 50,
  });
  // A message another row of ours already recorded (the same text sent twice to the same
  // number) is not this row's copy.
  const known = await knownSids(list.map((x) => x.sid));
  // Oldest first: of several unknown copies, the first one is this attempt's.
  for (const x of [...list].reverse()) {
    if (known.has(x.sid)) continue;
    if ((x.dateCreated?.getTime() ?? 0) < since) continue;
    if (u.body_sha256 && (await sha256(x.body ?? '')) !== u.body_sha256) continue;
    return {
      id: job.id,
      attempt: job.attempt,
      outcome: 'reconciled',
      sid: x.sid,
      from: bare(x.from),
      segments: Number(x.numSegments) || null,
    };
  }
  return null;
}
