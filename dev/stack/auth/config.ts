// The auth settings of supabase/config.toml, read the way the Supabase CLI turns them into GoTrue's
// environment (supabase/cli apps/cli-go/internal/start/start.go buildGotrueEnv, defaults from
// apps/cli-go/pkg/config/templates/config.toml):
//   [auth] enable_signup, enable_anonymous_sign_ins, site_url, additional_redirect_urls
//   [auth.email] enable_confirmations (GOTRUE_MAILER_AUTOCONFIRM = !it), double_confirm_changes
//     (GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED), max_frequency (GOTRUE_SMTP_MAX_FREQUENCY),
//     otp_expiry (GOTRUE_MAILER_OTP_EXP)
//   [auth.rate_limit] email_sent, sms_sent, anonymous_users, token_refresh, sign_in_sign_ups
//     (GOTRUE_RATE_LIMIT_OTP), token_verifications (GOTRUE_RATE_LIMIT_VERIFY), web3.
// Without [auth.email.smtp] the CLI points GoTrue at its mail catcher and sets
// GOTRUE_RATE_LIMIT_EMAIL_SENT=360000, so email_sent only counts with a custom SMTP server.
import { parse as parseToml } from 'smol-toml';
import { ROOT } from '../database.ts';

export interface RateLimits {
  /** Emails per hour, for the whole project (GoTrue's ratelimit.New(RateLimitEmailSent)). */
  emailSent: number;
  smsSent: number;
  /** Anonymous sign-ins per hour per IP. */
  anonymousUsers: number;
  /** /token requests (password and refresh grants) per 5 minutes per IP. */
  tokenRefresh: number;
  /** /signup and PUT /user requests per 5 minutes per IP. */
  signInSignUps: number;
  /** /verify requests per 5 minutes per IP. */
  tokenVerifications: number;
  web3: number;
}

export interface AuthConfig {
  siteUrl: string;
  additionalRedirectUrls: string[];
  enableSignup: boolean;
  enableAnonymousSignIns: boolean;
  /** false = GOTRUE_MAILER_AUTOCONFIRM: sign-ups get a session without confirming. */
  enableConfirmations: boolean;
  /** Email changes need a link from the current and from the new address. */
  doubleConfirmChanges: boolean;
  /** Seconds before another mail of the same kind may go to a user. */
  maxFrequencySeconds: number;
  /** Seconds a mailed link stays valid. */
  otpExpirySeconds: number;
  minPasswordLength: number;
  rateLimits: RateLimits;
  /** Address and name the mails come from ([local_smtp] admin_email, sender_name). */
  senderEmail: string;
  senderName: string;
}

/** The CLI's defaults (config.toml template; `supabase init` writes them). */
export const CLI_DEFAULTS: AuthConfig = {
  siteUrl: 'http://127.0.0.1:3000',
  additionalRedirectUrls: [],
  enableSignup: true,
  enableAnonymousSignIns: false,
  enableConfirmations: false,
  doubleConfirmChanges: true,
  maxFrequencySeconds: 1,
  otpExpirySeconds: 3600,
  minPasswordLength: 6,
  rateLimits: {
    emailSent: 2,
    smsSent: 30,
    anonymousUsers: 30,
    tokenRefresh: 150,
    signInSignUps: 30,
    tokenVerifications: 30,
    web3: 30,
  },
  senderEmail: 'admin@email.com',
  senderName: 'Admin',
};

type Table = Record<string, unknown>;

/** Go durations as config.toml writes them ("1s", "1m0s", "60s"), in seconds. */
export function goDurationSeconds(raw: unknown, fallback: number): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string' || raw === '') return fallback;
  const units: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600 };
  const parts = [...raw.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== raw) {
    throw new Error(`supabase/config.toml: invalid duration "${raw}"`);
  }
  return parts.reduce((s, p) => s + Number(p[1]) * units[p[2]], 0);
}

export function authConfigFromToml(text: string): AuthConfig {
  const doc = parseToml(text) as Table;
  const auth = (doc.auth ?? {}) as Table;
  const email = (auth.email ?? {}) as Table;
  const rl = (auth.rate_limit ?? {}) as Table;
  // Supabase CLI 3.x calls the mail catcher's section [local_smtp] (it was [inbucket]).
  const inbucket = (doc.local_smtp ?? doc.inbucket ?? {}) as Table;
  const smtp = (email.smtp ?? {}) as Table;
  const d = CLI_DEFAULTS;
  const num = (v: unknown, dflt: number) => (typeof v === 'number' ? v : dflt);
  const bool = (v: unknown, dflt: boolean) => (typeof v === 'boolean' ? v : dflt);
  const customSmtp = smtp.enabled === true;
  return {
    siteUrl: typeof auth.site_url === 'string' ? auth.site_url : d.siteUrl,
    additionalRedirectUrls: Array.isArray(auth.additional_redirect_urls)
      ? auth.additional_redirect_urls.map(String)
      : [],
    enableSignup: bool(auth.enable_signup, d.enableSignup),
    enableAnonymousSignIns: bool(auth.enable_anonymous_sign_ins, d.enableAnonymousSignIns),
    enableConfirmations: bool(email.enable_confirmations, d.enableConfirmations),
    doubleConfirmChanges: bool(email.double_confirm_changes, d.doubleConfirmChanges),
    maxFrequencySeconds: goDurationSeconds(email.max_frequency, d.maxFrequencySeconds),
    otpExpirySeconds: num(email.otp_expiry, d.otpExpirySeconds),
    minPasswordLength: num(auth.minimum_password_length, d.minPasswordLength),
    rateLimits: {
      emailSent: customSmtp ? num(rl.email_sent, d.rateLimits.emailSent) : 360000,
      smsSent: num(rl.sms_sent, d.rateLimits.smsSent),
      anonymousUsers: num(rl.anonymous_users, d.rateLimits.anonymousUsers),
      tokenRefresh: num(rl.token_refresh, d.rateLimits.tokenRefresh),
      signInSignUps: num(rl.sign_in_sign_ups, d.rateLimits.signInSignUps),
      tokenVerifications: num(rl.token_verifications, d.rateLimits.tokenVerifications),
      web3: num(rl.web3, d.rateLimits.web3),
    },
    senderEmail: typeof inbucket.admin_email === 'string' ? inbucket.admin_email : d.senderEmail,
    senderName: typeof inbucket.sender_name === 'string' ? inbucket.sender_name : d.senderName,
  };
}

/** supabase/config.toml's auth settings. */
export async function readAuthConfig(path = `${ROOT}/supabase/config.toml`): Promise<AuthConfig> {
  return authConfigFromToml(await Deno.readTextFile(path));
}
