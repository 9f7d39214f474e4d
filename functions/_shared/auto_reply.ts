// The dispatcher's AI step (issue 6), run for a claimed message before it is sent:
// * kind 'auto_reply' with an empty body: compose the reply with the tenant's provider from
//   private.auto_reply_context (this conversation and contact only), validate the structured
//   answer with zod (anything invalid is a hand-off), fit SMS into 2 segments, and write the
//   decision back with private.auto_reply_apply: a reply is sent; a hand-off sets needs_human and
//   sends the holding message or cancels the row (ai_handoff); a provider error sets needs_human
//   ('ai_error: …') and fails the row (ai_error) — never retried into a second call or duplicate.
// * a template with ai_enhance: a personalised rewrite that must keep every variable's value and
//   the opt-out sentence verbatim, else (or on any AI error) the plain render goes out.
// Every provider call is recorded in public.ai_calls.
//
// When (which inbound messages get an auto-reply) is SQL: migrations/20261122007100.
import { z } from 'zod';
import {
  type AiConfig,
  AiError,
  type AiProvider,
  modelFor,
  type ProviderName,
  providers,
} from './ai/index.ts';
import {
  type AutoReplyContext,
  type Channel,
  ENHANCE_TOOL,
  enhanceSystemPrompt,
  enhanceUserPrompt,
  REPLY_TOOL,
  replySystemPrompt,
  replyUserPrompt,
  SMS_PROMPT_CHARS,
} from './ai/prompt.ts';
import { fitSms, fitWhatsApp, SMS_MAX_SEGMENTS } from './ai/sms_fit.ts';
import type { Deps } from './context.ts';
import { smsSegments } from '../../common/sms_segments.ts';

/** What the dispatcher's claim returns for a row held for the AI step (its HeldJob). */
export interface AiRow {
  id: string;
  tenant_id: string;
  conversation_id: string;
  channel: Channel;
  kind?: string | null;
  body: string;
  /** messages.attempts at the claim: the fencing token of every write back. */
  attempt: number;
  /** Decided by SQL (private.claim_sends): compose an auto_reply, or enhance a rendered template. */
  ai_step: 'compose' | 'enhance' | null;
  template_id: string | null;
  template_body: string | null;
  variables: Record<string, unknown> | null;
  ai_enhance?: boolean | null;
  whatsapp_content_sid: string | null;
}

/** The model's structured answer. Anything else is treated as a hand-off. */
export const Decision = z.discriminatedUnion('action', [
  z.object({ action: z.literal('reply'), text: z.string().trim().min(1).max(5000) }),
  z.object({
    action: z.literal('handoff'),
    reason: z.string().trim().max(500).optional().default('').transform((r) =>
      r || 'the assistant handed off without a reason'
    ),
  }),
]);

const Rewrite = z.object({ text: z.string().trim().min(1).max(5000) });

interface CallRecord {
  provider: ProviderName;
  model: string;
  latency_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
  outcome: 'reply' | 'handoff' | 'enhanced' | 'fallback' | 'error';
  error_code: string | null;
  error_message: string | null;
}

export interface AutoReplyOptions {
  /** Replaces the provider factory (tests). */
  provider?: (name: ProviderName) => AiProvider;
}

// The opt-out sentence of a message ("Reply STOP to unsubscribe.", "Text STOP to opt out"): kept
// verbatim by an enhancement.
const OPT_OUT = /[^.!?\n]*\b(?:reply|text|send|txt)\s+"?stop"?\b[^.!?\n]*[.!?]?/i;

/** The database and the provider factory every AI step uses. */
interface Ctx {
  sql: Deps['sql'];
  provider: (name: ProviderName) => AiProvider;
}

async function record({ sql }: Ctx, row: AiRow, purpose: 'auto_reply' | 'enhance', c: CallRecord) {
  await sql`insert into public.ai_calls ${
    sql({
      tenant_id: row.tenant_id,
      message_id: row.id,
      conversation_id: row.conversation_id,
      purpose,
      ...c,
    })
  }`;
}

/** Calls the provider, timing it; errors come back classified, never thrown. */
async function call(
  { provider }: Ctx,
  name: ProviderName,
  model: string,
  req: Omit<Parameters<AiProvider['generate']>[0], 'model'>,
) {
  const t0 = performance.now();
  try {
    const r = await provider(name).generate({ ...req, model });
    return { ok: true as const, r, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    const err = e instanceof AiError ? e : new AiError('provider_error', String(e));
    return { ok: false as const, err, ms: Math.round(performance.now() - t0) };
  }
}

/** Composes a claimed auto_reply. Returns true when it must not be sent (settled in SQL). */
async function compose(ctx: Ctx, row: AiRow): Promise<boolean> {
  const { sql } = ctx;
  const [{ prompt }] = await sql<{ prompt: AutoReplyContext | null }[]>`
    select private.auto_reply_context(${row.id}::uuid) as prompt`;
  if (!prompt) return true; // the row vanished (tenant deleted): nothing to send
  const name = prompt.tenant.provider;
  const model = modelFor(name, prompt.tenant.model);
  const res = await call(ctx, name, model, {
    system: replySystemPrompt(prompt),
    user: replyUserPrompt(prompt),
    schema: REPLY_TOOL.schema,
    name: REPLY_TOOL.name,
    description: REPLY_TOOL.description,
    maxTokens: prompt.channel === 'email' ? 800 : 400,
  });
  const base = { provider: name, model, latency_ms: res.ms };
  let action: 'reply' | 'handoff' | 'error';
  let text: string | null = null;
  let reason: string | null = null;
  let rec: CallRecord;
  if (!res.ok) {
    action = 'error';
    reason = res.err.message;
    rec = {
      ...base,
      input_tokens: null,
      output_tokens: null,
      outcome: 'error',
      error_code: res.err.code,
      error_message: res.err.message,
    };
  } else {
    const usage = {
      model: res.r.model || model,
      input_tokens: res.r.inputTokens,
      output_tokens: res.r.outputTokens,
    };
    const d = Decision.safeParse(res.r.data);
    if (!d.success) {
      action = 'handoff';
      reason = 'the assistant gave no usable answer';
      rec = {
        ...base,
        ...usage,
        outcome: 'handoff',
        error_code: 'invalid_output',
        error_message: d.error.issues.map((i) => i.message).join('; ').slice(0, 300),
      };
    } else if (d.data.action === 'handoff') {
      action = 'handoff';
      reason = d.data.reason;
      rec = { ...base, ...usage, outcome: 'handoff', error_code: null, error_message: null };
    } else {
      action = 'reply';
      text = prompt.channel === 'sms'
        ? fitSms(d.data.text, SMS_MAX_SEGMENTS)
        : prompt.channel === 'whatsapp'
        ? fitWhatsApp(d.data.text)
        : d.data.text;
      rec = { ...base, ...usage, outcome: 'reply', error_code: null, error_message: null };
    }
  }
  // The call record and the decision in one round trip.
  const [{ out }] = await sql<{ out: { proceed: boolean; body: string } }[]>`
    with call as (
      insert into public.ai_calls ${
    sql({
      tenant_id: row.tenant_id,
      message_id: row.id,
      conversation_id: row.conversation_id,
      purpose: 'auto_reply',
      ...rec,
    })
  }
    )
    select private.auto_reply_apply(${row.id}::uuid, ${row.attempt}, ${action}, ${text},
      ${reason}) as out`;
  if (!out.proceed) return true;
  row.body = out.body;
  return false;
}

/** What an enhancement must keep: every variable used by the template, rendered. */
function variableValues(row: AiRow): string[] {
  const keep = new Set<string>();
  for (const [, name] of (row.template_body ?? '').matchAll(/\{([a-z_]+)\}/g)) {
    const v = row.variables?.[name];
    if (v !== null && v !== undefined && String(v).trim()) keep.add(String(v));
  }
  return [...keep];
}

/** Rewrites a freshly rendered ai_enhance template body; keeps the plain one on any doubt. */
async function enhance(ctx: Ctx, row: AiRow): Promise<void> {
  const { sql } = ctx;
  const [t] = await sql<
    {
      name: string;
      tone: 'professional' | 'friendly' | 'casual';
      provider: ProviderName;
      model: string | null;
    }[]
  >`
    select name, auto_reply_tone as tone, auto_reply_provider as provider,
           auto_reply_model as model
      from public.tenants where id = ${row.tenant_id}::uuid`;
  if (!t) return;
  const plain = row.body;
  // The opt-out sentence of the plain render ("Reply STOP to opt out.") is kept verbatim too.
  const optOut = OPT_OUT.exec(plain)?.[0].trim() || null;
  const keep = [...variableValues(row), ...(optOut ? [optOut] : [])];
  const maxChars = row.channel === 'sms' ? SMS_PROMPT_CHARS : null;
  const model = modelFor(t.provider, t.model);
  const res = await call(ctx, t.provider, model, {
    system: enhanceSystemPrompt({ tenantName: t.name, tone: t.tone, maxChars }),
    user: enhanceUserPrompt(plain, keep),
    schema: ENHANCE_TOOL.schema,
    name: ENHANCE_TOOL.name,
    description: ENHANCE_TOOL.description,
    maxTokens: 600,
  });
  const base = { provider: t.provider, model, latency_ms: res.ms };
  if (!res.ok) {
    await record(ctx, row, 'enhance', {
      ...base,
      input_tokens: null,
      output_tokens: null,
      outcome: 'error',
      error_code: res.err.code,
      error_message: res.err.message,
    });
    return;
  }
  const usage = { input_tokens: res.r.inputTokens, output_tokens: res.r.outputTokens };
  const parsed = Rewrite.safeParse(res.r.data);
  let why: string | null = null;
  if (!parsed.success) why = 'invalid_output';
  else {
    const missing = keep.find((k) => !parsed.data.text.includes(k));
    if (missing !== undefined) why = missing === optOut ? 'missing_opt_out' : 'missing_value';
    else if (
      row.channel === 'sms' &&
      smsSegments(parsed.data.text) > Math.max(SMS_MAX_SEGMENTS, smsSegments(plain))
    ) why = 'too_long';
  }
  if (why || !parsed.success) {
    await record(ctx, row, 'enhance', {
      ...base,
      ...usage,
      outcome: 'fallback',
      error_code: why ?? 'invalid_output',
      error_message: null,
    });
    return;
  }
  const text = parsed.data.text;
  // The call record and the new body in one statement; the body only while the row is still
  // this claim's (SQL writes messages, fenced by the attempt).
  await sql`
    with call as (
      insert into public.ai_calls ${
    sql({
      tenant_id: row.tenant_id,
      message_id: row.id,
      conversation_id: row.conversation_id,
      purpose: 'enhance',
      ...base,
      ...usage,
      outcome: 'enhanced',
      error_code: null,
      error_message: null,
    })
  }
    )
    select private.apply_enhanced_body(${row.id}::uuid, ${row.attempt}, ${text})`;
  row.body = text;
}

export function createAutoReplies(deps: Deps, opts: AutoReplyOptions = {}) {
  const { sql } = deps;
  const ctx: Ctx = { sql, provider: opts.provider ?? providers(deps.env as AiConfig) };

  return {
    /**
     * Before a held row is sent: its ai_step (decided by SQL at the claim; a retry already has
     * its text and is never sent to the AI again). Returns true when the row must not be sent:
     * SQL has settled it.
     */
    async beforeSend(row: AiRow): Promise<boolean> {
      if (row.ai_step === 'compose') return await compose(ctx, row);
      if (row.ai_step === 'enhance') {
        try {
          await enhance(ctx, row);
        } catch (e) {
          // The plain render goes out: an enhancement is never worth a lost message.
          console.error(`[auto-reply] enhancing ${row.id} failed:`, e);
        }
      }
      return false;
    },

    /**
     * Milliseconds until the next auto-reply still in its debounce window becomes due (null:
     * none within `withinMs`). The dispatcher waits for it instead of the next cron minute.
     */
    async debounceWaitMs(withinMs = 10_000): Promise<number | null> {
      const [r] = await sql<{ ms: number | null }[]>`
        select ceil(extract(epoch from min(next_attempt_at) - clock_timestamp()) * 1000)::int as ms
          from public.messages
         where status = 'queued' and kind = 'auto_reply' and attempts = 0
           and next_attempt_at > clock_timestamp()
           and next_attempt_at <= clock_timestamp() + make_interval(secs => ${withinMs / 1000})`;
      return r?.ms == null ? null : Math.max(0, r.ms);
    },
  };
}
