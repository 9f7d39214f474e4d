// The dispatcher's loop, with no SQL of its own (in the spirit of pg-boss's src/worker.ts): claim
// a batch, run the held rows' steps (AI, reconcile), hand each job to its channel sender through
// shared send slots, and report the results in groups. One drain is one bounded invocation: it
// stops claiming at its time budget or message cap and, when work is still due, asks SQL for
// another invocation instead of running on.
import { type ResultWriter, resultWriter } from './results.ts';
import { type SendSlots, sendSlots } from './slots.ts';
import {
  type ClaimedJob,
  type DispatchStats,
  emptyStats,
  type HeldJob,
  type Result,
  type SendJob,
} from './types.ts';

/** Time a send needs after its start to settle within the lease, beyond the provider timeout. */
const LEASE_MARGIN_MS = 5_000;
/** Pause before claiming again after an empty claim while rows are due (held by other claims). */
const RECLAIM_MS = 20;

export interface WorkerConfig {
  batch: number;
  /** Sends in flight per claim loop. */
  concurrency: number;
  /** Claim loops side by side (SKIP LOCKED keeps them apart), sharing loops x concurrency slots. */
  loops: number;
  leaseSeconds: number;
  providerTimeoutMs: number;
}

/** What one invocation uses to talk to the providers (its own credential cache). */
export interface Senders {
  send(job: SendJob): Promise<Result>;
  /** For a held job with an unsettled attempt: a result (found, or no credentials) or null. */
  reconcile(job: HeldJob): Promise<Result | null>;
}

export interface WorkerParts {
  claim(batch: number, leaseSeconds: number): Promise<ClaimedJob[]>;
  prepare(items: { id: string; attempt: number }[]): Promise<SendJob[]>;
  recordResults(results: Result[]): Promise<void>;
  kick(reason: string): Promise<void>;
  /** Whether any message is due now (an empty claim does not prove that nothing is). */
  anyDue(): Promise<boolean>;
  senders(): Senders;
  /** The AI step for a held job with ai_step; true when SQL settled the row (do not send). */
  beforeSend(job: HeldJob): Promise<boolean>;
  /** Ms until an auto-reply in its debounce window is due (null: none within `withinMs`). */
  debounceWaitMs(withinMs: number): Promise<number | null>;
  config: WorkerConfig;
}

export interface Budget {
  /** Wall time after which no new batch is claimed. */
  maxMillis: number;
  /** Messages claimed at most in this invocation. */
  maxMessages: number;
  /** Batch size (default: config.batch). */
  batch?: number;
}

function count(stats: DispatchStats, r: Result) {
  if (r.outcome === 'sent') stats.sent++;
  else if (r.outcome === 'reconciled') stats.reconciled++;
  else if (r.outcome === 'failed') stats.failed++;
  else if (r.outcome === 'unknown') stats.unknown++;
  else stats.retried++;
}

/** Runs `fn` over `items` with at most `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, run));
}

/** Runs the held jobs' steps; returns those to send, prepared by SQL. */
async function resolveHeld(
  p: WorkerParts,
  held: HeldJob[],
  senders: Senders,
  record: (r: Result) => Promise<void>,
): Promise<SendJob[]> {
  const go: { id: string; attempt: number }[] = [];
  await pool(held, p.config.concurrency, async (job) => {
    try {
      if (job.ai_step && (await p.beforeSend(job))) return;
      if (job.unsettled) {
        const r = await senders.reconcile(job);
        if (r) return await record(r);
      }
      go.push({ id: job.id, attempt: job.attempt });
    } catch (e) {
      // A bug or a database error: the row stays under its lease; expire_leases requeues it
      // and its attempt row (if any) makes the retry reconcile first.
      console.error(`[dispatch] ${job.id}:`, e);
    }
  });
  return go.length ? await p.prepare(go) : [];
}

/**
 * Claims a batch and hands its sends to `slots`; resolves once they are all handed over, with
 * `settled` resolving when every result is written.
 */
async function startRound(
  p: WorkerParts,
  n: number,
  senders: Senders,
  slots: SendSlots,
  writer: ResultWriter,
  stats: DispatchStats,
): Promise<{ claimed: number; settled: Promise<unknown> }> {
  // The lease runs from the claim; a send that could still be in flight when it ends is not
  // started (another dispatcher may requeue and reconcile the row by then).
  const cfg = p.config;
  const sendBy = Date.now() + cfg.leaseSeconds * 1000 - cfg.providerTimeoutMs -
    LEASE_MARGIN_MS;
  const jobs = await p.claim(n, cfg.leaseSeconds);
  stats.claimed += jobs.length;
  const writes: Promise<void>[] = [];
  const logFailure = (e: unknown) => console.error('[dispatch] send failed:', e);
  const record = (r: Result) => writer.write(r).then(() => count(stats, r));
  const ready = jobs.filter((j): j is SendJob => j.ready);
  const held = jobs.filter((j): j is HeldJob => !j.ready);
  let resolved: SendJob[] = [];
  try {
    resolved = held.length ? await resolveHeld(p, held, senders, record) : [];
  } catch (e) {
    console.error('[dispatch] preparing held rows failed:', e);
  }
  const sent = [...ready, ...resolved].map((job) =>
    slots.run(async () => {
      if (Date.now() > sendBy) {
        // Left 'sending' under its lease with its attempt row 'pending': the claim after
        // expire_leases reconciles with the provider first, then sends.
        stats.deferred++;
        return;
      }
      try {
        // A sender moves on to its next job while its result is written (in groups).
        writes.push(record(await senders.send(job)).catch(logFailure));
      } catch (e) {
        logFailure(e);
      }
    })
  );
  const settled = Promise.all(sent).then(() => {
    writer.writeGroup();
    return Promise.all(writes);
  });
  return { claimed: jobs.length, settled };
}

/**
 * Claim loops until the budget is spent or a claim finds nothing; true if work may be left (then
 * a continuation was kicked).
 */
async function claimUntil(
  p: WorkerParts,
  deadline: number,
  cap: { left: number },
  batch: number,
  stats: DispatchStats,
): Promise<boolean> {
  const senders = p.senders();
  const writer = resultWriter(p.recordResults);
  const slots = sendSlots(p.config.loops * p.config.concurrency);
  const rounds: Promise<unknown>[] = [];
  let empty = false;
  const loop = async () => {
    while (!empty && Date.now() < deadline && cap.left > 0) {
      const release = await slots.room(batch);
      if (empty || Date.now() >= deadline || cap.left <= 0) return release();
      const n = Math.min(batch, cap.left);
      cap.left -= n;
      const round = await startRound(p, n, senders, slots, writer, stats).finally(release);
      cap.left += n - round.claimed;
      rounds.push(round.settled);
      // The claim may return fewer than asked while more is due (rate limits, rows another
      // claim holds): stop only when a round found nothing and nothing is due. Due rows an
      // empty claim could not take are held by other claims for a moment: claim again soon.
      if (round.claimed === 0) {
        if (!(await p.anyDue())) empty = true;
        else await new Promise((r) => setTimeout(r, RECLAIM_MS));
      }
    }
  };
  const loops = await Promise.allSettled(Array.from({ length: p.config.loops }, loop));
  const failed = loops.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (!failed && !empty) {
    // Claiming stopped at the budget with work still due: the next invocation is asked for
    // now (pg_net on Supabase), so it claims while this one's last sends finish.
    await p.kick('continue').catch((e) => console.error('[dispatch] kick failed:', e));
    stats.continued = true;
  }
  // Rounds already sending finish and record their results even when a claim failed.
  await Promise.all(rounds);
  if (failed) throw failed.reason;
  return !empty;
}

export function createWorker(p: WorkerParts) {
  /** One bounded invocation. */
  async function drain(budget: Budget): Promise<DispatchStats> {
    const stats = emptyStats();
    const deadline = Date.now() + budget.maxMillis;
    const cap = { left: budget.maxMessages };
    const batch = budget.batch ?? p.config.batch;
    for (;;) {
      // Budget spent with work still due: another invocation has been kicked.
      if (await claimUntil(p, deadline, cap, batch, stats)) return stats;
      // An auto-reply still in its debounce (a burst being collected, ~2 s) is waited for
      // within the budget instead of being left to the next kick or cron minute.
      const left = deadline - Date.now();
      const wait = left > 0 ? await p.debounceWaitMs(left) : null;
      if (wait === null || wait >= left) return stats;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  return { drain };
}
