// Per-IP rate limits as supabase/auth applies them (internal/api/apilimiter/apilimiter.go,
// internal/api/middleware.go performRateLimiting): tollbooth token buckets, `rate / period`
// tokens a second with a burst of 30 (the anonymous sign-in bucket holds its whole hourly
// allowance), keyed by the client's address. Over the limit GoTrue answers 429
// over_request_rate_limit "Request rate limit reached".
//
// Which address: hosted GoTrue keys on a header its edge sets. Here the gateway stands in front
// like any reverse proxy: what a client writes into X-Forwarded-For itself comes first and is not
// trusted; the address the request really came from is the last entry (the gateway's peer).
import { AuthError } from './errors.ts';
import type { RateLimits } from './config.ts';

class TokenBuckets {
  #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(readonly perSecond: number, readonly burst: number) {}

  /** Takes one token for `key`; false when its bucket is empty. */
  take(key: string, now = performance.now()): boolean {
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    this.#buckets.set(key, b);
    if (this.#buckets.size > 10_000) this.#sweep(now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Full buckets carry no state: forget them so the map stays small. */
  #sweep(now: number) {
    for (const [k, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.#buckets.delete(k);
    }
  }
}

/** GoTrue's ratelimit.New(Rate) for emails: at most `perHour` in any rolling hour, project-wide. */
class HourlyCount {
  #sent: number[] = [];
  constructor(readonly perHour: number) {}
  take(now = Date.now()): boolean {
    this.#sent = this.#sent.filter((t) => t > now - 3600_000);
    if (this.#sent.length >= this.perHour) return false;
    this.#sent.push(now);
    return true;
  }
}

export type LimitName = 'token' | 'signups' | 'anonymous' | 'verify' | 'user';

export class Limiters {
  readonly #ip: Record<LimitName, TokenBuckets>;
  readonly #email: HourlyCount;

  constructor(limits: RateLimits) {
    const per5m = (n: number) => new TokenBuckets(n / 300, 30);
    this.#ip = {
      token: per5m(limits.tokenRefresh),
      signups: per5m(limits.signInSignUps),
      user: per5m(limits.signInSignUps),
      verify: per5m(limits.tokenVerifications),
      anonymous: new TokenBuckets(limits.anonymousUsers / 3600, limits.anonymousUsers),
    };
    this.#email = new HourlyCount(limits.emailSent);
  }

  /** Throws GoTrue's 429 when `ip` has used up the `name` bucket. */
  check(name: LimitName, ip: string | null): void {
    if (!this.#ip[name].take(ip ?? 'unknown')) {
      throw new AuthError(429, 'over_request_rate_limit', 'Request rate limit reached');
    }
  }

  /** Throws GoTrue's 429 over_email_send_rate_limit when the project's hourly mails are used up. */
  checkEmail(): void {
    if (!this.#email.take()) {
      throw new AuthError(429, 'over_email_send_rate_limit', 'Email rate limit exceeded');
    }
  }
}

/**
 * The client's address: the last X-Forwarded-For entry once the peer is appended, as a proxy in
 * front of the auth server would have done (the gateway calls this handler in process, so its
 * peer is `info.remoteAddr`). Earlier entries are whatever the client claimed.
 */
export function clientIp(req: Request, info: Deno.ServeHandlerInfo | undefined): string | null {
  const chain = (req.headers.get('x-forwarded-for') ?? '').split(',').map((s) => s.trim())
    .filter(Boolean);
  const peer = (info?.remoteAddr as Deno.NetAddr | undefined)?.hostname;
  if (peer) chain.push(peer);
  const ip = chain.at(-1) ?? null;
  return ip && /^[0-9a-fA-F:.]+$/.test(ip) ? ip : null;
}
