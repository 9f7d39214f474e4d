// The dispatch edge function: drains the outbox for one bounded invocation. Called by the
// database with the service role (private.kick_dispatch: pg_net on Supabase; a pg_cron safety
// net), and by itself through SQL when its budget ends with work still due.
//
// Bounds (hosted Supabase: 2 s CPU per request; pg_net's default request timeout is 5 s): claims
// stop after DISPATCH_BUDGET_MS of wall time (default 2,500 ms) or DISPATCH_MAX_MESSAGES claimed
// messages (default 4,000: dev/bench/dispatch.ts measures 0.16-0.17 ms of functions CPU per message
// here, so a full invocation stays under ~0.7 s of CPU, 1.5 s even at twice that); sends in
// flight then finish and the answer comes back well within 5 s. With work still due it has
// already asked SQL for the next invocation (private.kick_dispatch('continue')). Several invocations at once never send a message twice:
// claims lock with SKIP LOCKED and each claimed row carries a lease and an attempt number.
import { z } from 'zod';
import { requireServiceRole } from '../_shared/auth.ts';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { HttpError, json, wrap } from '../_shared/http.ts';
import { createDispatcher, type DispatchOptions } from './dispatcher.ts';

// The body is optional. private.kick_dispatch() posts {reason, due, at}; those are accepted and
// only logged. A caller may lower the budget, not lift it past what fits the hosted limits.
const RequestSchema = z.object({
  batch: z.number().int().min(1).max(5000).optional(),
  max_millis: z.number().int().min(0).max(4_000).optional(),
  max_messages: z.number().int().min(1).max(20_000).optional(),
  reason: z.string().max(100).optional(),
  due: z.number().int().min(0).optional(),
  at: z.string().max(100).optional(),
}).strict();

async function readBody(req: Request): Promise<z.infer<typeof RequestSchema>> {
  const text = await req.text();
  let raw: unknown = {};
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
    }
  }
  return RequestSchema.parse(raw);
}

export function createHandler(deps: Deps, opts: DispatchOptions = {}) {
  const d = createDispatcher(deps, opts);
  const { env } = deps;
  return wrap(async (req) => {
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only');
    await requireServiceRole(req, env);
    const p = await readBody(req);
    const stats = await d.drain(
      p.max_millis ?? env.DISPATCH_BUDGET_MS,
      p.batch ?? env.DISPATCH_BATCH,
      Math.min(p.max_messages ?? env.DISPATCH_MAX_MESSAGES, env.DISPATCH_MAX_MESSAGES),
    );
    return json(200, stats);
  });
}

export const handler = lazyHandler((deps) => createHandler(deps));
