// Wires the worker to its parts: the named SQL (plans.ts), the channel senders, the tenant's
// Twilio credentials (functions/_shared/credentials.ts) and the AI step (functions/_shared/
// auto_reply.ts). Tests build one with fakes; handler.ts builds the deployed one.
import { createAutoReplies } from '../_shared/auto_reply.ts';
import type { Deps } from '../_shared/context.ts';
import { tenantCreds } from '../_shared/credentials.ts';
import { type EmailSender, emailSender } from '../_shared/email.ts';
import type { TwilioClient } from '../_shared/twilio.ts';
import { sendEmail } from './channels/email.ts';
import { type AfterAccepted, sendTwilio, twilioClients } from './channels/twilio.ts';
import { plans } from './plans.ts';
import { findSentCopy } from './reconcile.ts';
import { failure, type HeldJob } from './types.ts';
import { type Budget, createWorker, type Senders } from './worker.ts';

export interface DispatchOptions {
  /** Replaces the EMAIL_PROVIDER adapter (tests). */
  emailSender?: EmailSender;
  /**
   * Test hook, called after the provider accepted a send and before its result is written: the
   * crash test exits the process here.
   */
  afterProviderAccepted?: AfterAccepted;
  /**
   * Replaces the AI step (default: functions/_shared/auto_reply.ts) run for a held row with an
   * ai_step: composes an auto-reply or enhances a rendered template through SQL. Returns true
   * when the row must not be sent (SQL has settled it).
   */
  beforeSend?: (job: HeldJob) => Promise<boolean>;
}

export function createDispatcher(deps: Deps, opts: DispatchOptions = {}) {
  const { env, sql } = deps;
  const q = plans(sql, {
    platformNumber: env.TWILIO_PHONE_NUMBER ?? null,
    emailFrom: env.EMAIL_FROM,
  });
  const mail = opts.emailSender ?? emailSender(env);
  const ai = createAutoReplies(deps);
  const client = twilioClients(env);
  const after = opts.afterProviderAccepted;

  /**
   * Senders for one invocation. Credentials are looked up once per tenant per invocation (its
   * rounds share them), so a changed credential applies from the next invocation.
   */
  function senders(): Senders {
    const creds = new Map<string, Promise<TwilioClient | null>>();
    const twilioFor = (tenantId: string) => {
      let c = creds.get(tenantId);
      if (!c) {
        creds.set(tenantId, c = tenantCreds(sql, env, tenantId).then((x) => x && client(x)));
        // A failed lookup is not remembered: the next round asks again.
        c.catch(() => creds.delete(tenantId));
      }
      return c;
    };
    return {
      async send(job) {
        if (job.channel === 'email') return await sendEmail(mail, job, after);
        return await sendTwilio(env, await twilioFor(job.tenant_id), job, after);
      },
      async reconcile(job) {
        const tw = await twilioFor(job.tenant_id);
        if (!tw) {
          return failure(
            job,
            'no_twilio_credentials',
            'no Twilio account for this tenant or platform',
          );
        }
        return await findSentCopy(job, tw, q.knownSids);
      },
    };
  }

  const worker = createWorker({
    claim: q.claim,
    prepare: q.prepare,
    recordResults: q.recordResults,
    kick: q.kick,
    anyDue: q.anyDue,
    senders,
    beforeSend: opts.beforeSend ?? ai.beforeSend,
    debounceWaitMs: ai.debounceWaitMs,
    config: {
      batch: env.DISPATCH_BATCH,
      concurrency: env.DISPATCH_CONCURRENCY,
      loops: env.DISPATCH_LOOPS,
      leaseSeconds: env.DISPATCH_LEASE_SECONDS,
      providerTimeoutMs: env.TWILIO_TIMEOUT_MS,
    },
  });

  return {
    /**
     * One bounded invocation: claims until `maxMillis` (default DISPATCH_BUDGET_MS) or
     * `maxMessages` (default DISPATCH_MAX_MESSAGES) is reached or nothing is due.
     */
    drain(
      maxMillis = env.DISPATCH_BUDGET_MS,
      batch = env.DISPATCH_BATCH,
      maxMessages = env.DISPATCH_MAX_MESSAGES,
    ) {
      const b: Budget = { maxMillis, maxMessages, batch };
      return worker.drain(b);
    },
  };
}
