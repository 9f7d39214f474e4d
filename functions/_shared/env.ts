// The function environment (each variable documented in supabase/functions/.env.example),
// validated once with zod so a missing or malformed value is a clear error naming the variable,
// not a crash deep in a send.
import { z } from 'zod';

const url = z.string().url();
const optional = z.string().min(1).optional();

export const EnvSchema = z.object({
  SUPABASE_URL: url,
  SUPABASE_ANON_KEY: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  SUPABASE_DB_URL: z.string().min(1),
  // Only the local stack has it; hosted functions rely on the runtime's verify_jwt.
  SUPABASE_JWT_SECRET: optional,
  // The new API keys and signing keys, as hosted functions receive them (and @supabase/server
  // reads them): {"default":"sb_publishable_…"}, {"default":"sb_secret_…"}, {"keys":[…]}.
  SUPABASE_PUBLISHABLE_KEYS: optional,
  SUPABASE_SECRET_KEYS: optional,
  SUPABASE_JWKS: optional,
  CREDENTIALS_KEY: z.string().refine((v) => {
    try {
      return atob(v).length === 32;
    } catch {
      return false;
    }
  }, 'must be base64 of exactly 32 bytes'),
  CREDENTIALS_KEY_VERSION: z.coerce.number().int().positive().default(1),
  TWILIO_API_URL: url.default('https://api.twilio.com'),
  // Defaults to SUPABASE_URL + '/functions/v1' (what Supabase serves functions under).
  PUBLIC_FUNCTIONS_URL: url.optional(),
  TWILIO_ACCOUNT_SID: optional,
  TWILIO_AUTH_TOKEN: optional,
  TWILIO_PHONE_NUMBER: optional,
  TWILIO_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  ANTHROPIC_API_KEY: optional,
  ANTHROPIC_BASE_URL: url.optional(),
  GEMINI_API_KEY: optional,
  GEMINI_BASE_URL: url.optional(),
  // AI provider calls (functions/_shared/auto_reply.ts): per-call timeout and SDK retries.
  AI_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  AI_MAX_RETRIES: z.coerce.number().int().min(0).max(10).optional(),
  EMAIL_PROVIDER: z.enum(['resend', 'smtp', 'log']).default('log'),
  RESEND_API_KEY: optional,
  RESEND_API_URL: url.default('https://api.resend.com'),
  SMTP_URL: optional,
  EMAIL_FROM: z.string().min(3).default('Switchboard <no-reply@switchboard.local>'),
  // Platform mail (team invitations): the project's SMTP server; the stack's mail catcher locally.
  INVITE_SMTP_URL: optional,
  // The dashboard's address, for links in mails ([auth] site_url).
  SITE_URL: url.default('http://127.0.0.1:3000'),
  DISPATCH_BATCH: z.coerce.number().int().positive().default(200),
  DISPATCH_CONCURRENCY: z.coerce.number().int().positive().default(64),
  DISPATCH_LOOPS: z.coerce.number().int().min(1).max(16).default(2),
  DISPATCH_LEASE_SECONDS: z.coerce.number().int().positive().default(60),
  // One dispatch invocation's bounds (functions/dispatch/handler.ts explains the defaults).
  DISPATCH_BUDGET_MS: z.coerce.number().int().min(0).max(4_000).default(2_500),
  DISPATCH_MAX_MESSAGES: z.coerce.number().int().positive().default(4_000),
}).superRefine((env, ctx) => {
  if (env.EMAIL_PROVIDER === 'resend' && !env.RESEND_API_KEY) {
    ctx.addIssue({
      code: 'custom',
      path: ['RESEND_API_KEY'],
      message: 'required when EMAIL_PROVIDER=resend',
    });
  }
  if (env.EMAIL_PROVIDER === 'smtp' && !env.SMTP_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['SMTP_URL'],
      message: 'required when EMAIL_PROVIDER=smtp',
    });
  }
  if (!!env.TWILIO_ACCOUNT_SID !== !!env.TWILIO_AUTH_TOKEN) {
    ctx.addIssue({
      code: 'custom',
      path: ['TWILIO_AUTH_TOKEN'],
      message: 'TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN go together',
    });
  }
}).transform((env) => ({
  ...env,
  PUBLIC_FUNCTIONS_URL: (env.PUBLIC_FUNCTIONS_URL ?? `${env.SUPABASE_URL}/functions/v1`)
    .replace(/\/+$/, ''),
  TWILIO_API_URL: env.TWILIO_API_URL.replace(/\/+$/, ''),
  RESEND_API_URL: env.RESEND_API_URL.replace(/\/+$/, ''),
}));

export type Env = z.output<typeof EnvSchema>;

export class EnvError extends Error {}

/** Parses an environment record; throws EnvError listing every bad or missing variable. */
export function parseEnv(raw: Record<string, string | undefined>): Env {
  const cleaned = Object.fromEntries(
    Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''),
  );
  const r = EnvSchema.safeParse(cleaned);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new EnvError(`function environment is invalid:\n${lines.join('\n')}`);
  }
  return r.data;
}

let cached: Env | undefined;

/** The process environment, parsed once. */
export function env(): Env {
  return cached ??= parseEnv(Deno.env.toObject());
}
