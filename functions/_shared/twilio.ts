// Twilio through the official SDK. The SDK builds https://api.twilio.com/… URLs itself; a custom
// httpClient (the SDK's documented extension point, `opts.httpClient.request(...)`) swaps the
// origin for TWILIO_API_URL and sends the request with fetch in Twilio's wire format (form body,
// basic auth), so tests and the local simulator get exactly what Twilio would.
import twilio from 'twilio';

export interface TwilioCreds {
  accountSid: string;
  authToken: string;
}

interface SdkRequest {
  method: string;
  uri: string;
  username?: string;
  password?: string;
  headers?: Record<string, string>;
  params?: Record<string, unknown>;
  data?: Record<string, unknown>;
  timeout?: number;
}

/** Raised when the request may have reached Twilio but no answer came (timeout, reset). */
export class UnknownOutcomeError extends Error {
  readonly unknownOutcome = true;
}

/** Raised when nothing reached Twilio (connection refused, DNS): safe to retry. */
export class NotSentError extends Error {
  readonly notSent = true;
}

function form(data: Record<string, unknown> | undefined): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(data ?? {})) {
    if (v === undefined || v === null) continue;
    // The SDK's own client uses qs arrayFormat "repeat": MediaUrl=a&MediaUrl=b.
    for (const item of Array.isArray(v) ? v : [v]) {
      out.append(k, item instanceof Date ? item.toISOString() : String(item));
    }
  }
  return out;
}

// The error and its causes, outermost first. Deno's fetch (2.x, like undici) rejects with
// TypeError "fetch failed" and puts what happened in `cause`, e.g. "error sending request for url
// (…): client error (Connect): tcp connect error: Connection refused (os error 111)".
function causes(e: unknown): { name: string; message: string; code: string }[] {
  const out = [];
  for (let c = e, depth = 0; c && depth < 8; depth++) {
    const err = c as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    out.push({
      name: String(err.name ?? ''),
      message: String(err.message ?? c),
      code: String(err.code ?? ''),
    });
    c = err.cause;
  }
  return out;
}

function errorChain(e: unknown): string {
  return causes(e).map((c) => [c.name, c.code, c.message].filter(Boolean).join(' ')).join(' <- ');
}

// The connection was never made (refused, no such host, failed connect or handshake), so no
// request reached Twilio. A timeout is never one of these: it may fire after the request left.
const NEVER_CONNECTED =
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|connection refused|tcp connect error|client error \(Connect\)|dns error|failed to lookup address|not known/i;

function neverLeft(e: unknown): boolean {
  const chain = causes(e);
  if (chain.some((c) => c.name === 'TimeoutError' || c.name === 'AbortError')) return false;
  return chain.some((c) => NEVER_CONNECTED.test(c.code) || NEVER_CONNECTED.test(c.message));
}

export class FetchHttpClient {
  constructor(private apiUrl: string, private timeoutMs: number) {}

  async request(opts: SdkRequest) {
    const original = new URL(opts.uri);
    const target = new URL(original.pathname, this.apiUrl);
    for (const [k, v] of form(opts.params)) target.searchParams.append(k, v);
    const headers = new Headers(opts.headers ?? {});
    headers.set('authorization', `Basic ${btoa(`${opts.username}:${opts.password}`)}`);
    const method = opts.method.toUpperCase();
    const body = method === 'POST' || method === 'PUT' ? form(opts.data) : undefined;
    let res: Response;
    try {
      res = await fetch(target, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(opts.timeout ?? this.timeoutMs),
      });
    } catch (e) {
      const detail = errorChain(e);
      if (neverLeft(e)) throw new NotSentError(`twilio unreachable: ${detail}`);
      throw new UnknownOutcomeError(`twilio request outcome unknown: ${detail}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new UnknownOutcomeError(`twilio response lost: ${(e as Error).message}`);
    }
    return { statusCode: res.status, body: text, headers: Object.fromEntries(res.headers) };
  }
}

export type TwilioClient = ReturnType<typeof twilio>;

export function twilioClient(creds: TwilioCreds, apiUrl: string, timeoutMs = 10_000): TwilioClient {
  return twilio(creds.accountSid, creds.authToken, {
    // deno-lint-ignore no-explicit-any
    httpClient: new FetchHttpClient(apiUrl, timeoutMs) as any,
  });
}

/** Twilio error codes that will not succeed on retry (the contact, number or content is wrong). */
export const PERMANENT_CODES = new Set([
  21211, // invalid 'To' number
  21408, // region not enabled
  21610, // recipient unsubscribed (STOP)
  21612, // cannot route to this number
  21614, // not a mobile number
  21617, // body too long
  30004, // message blocked
  30005, // unknown destination
  30006, // landline or unreachable carrier
  30007, // carrier filtering
  63016, // WhatsApp outside the 24 h window without a template
]);
/** Worth another attempt later. */
export const TRANSIENT_CODES = new Set([20429, 30001, 30003, 30008, 30017]);

export interface Classified {
  code: string;
  message: string;
  permanent: boolean;
}

/** Maps an SDK error (RestException or our transport errors) to a code and a retry decision. */
export function classifyError(e: unknown): Classified {
  const err = e as { status?: number; code?: number; message?: string };
  if (e instanceof NotSentError) return { code: 'network', message: e.message, permanent: false };
  if (typeof err.code === 'number') {
    const permanent = PERMANENT_CODES.has(err.code)
      ? true
      : TRANSIENT_CODES.has(err.code)
      ? false
      : (err.status ?? 500) < 500 && err.status !== 429;
    return { code: String(err.code), message: err.message ?? 'twilio error', permanent };
  }
  if (typeof err.status === 'number') {
    const permanent = err.status < 500 && err.status !== 429 && err.status !== 408;
    return { code: `http_${err.status}`, message: err.message ?? 'twilio error', permanent };
  }
  return { code: 'error', message: String(err.message ?? e), permanent: false };
}

/**
 * Checks X-Twilio-Signature as Twilio computes it: over the public URL (PUBLIC_FUNCTIONS_URL +
 * function path + query) plus the sorted form params; for JSON bodies over the URL alone with
 * the body's SHA-256 in its `bodySHA256` query parameter.
 */
export function validSignature(
  authToken: string,
  signature: string | null,
  publicUrl: string,
  body: { form: Record<string, string> } | { raw: string },
): boolean {
  if (!signature) return false;
  if ('raw' in body) {
    if (!new URL(publicUrl).searchParams.get('bodySHA256')) return false;
    return twilio.validateRequestWithBody(authToken, signature, publicUrl, body.raw);
  }
  return twilio.validateRequest(authToken, signature, publicUrl, body.form);
}

/** Twilio's signature for a form webhook (the simulator and tests sign with it). */
export function signForm(authToken: string, url: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(authToken, url, params);
}

/** Form params as Twilio sends them: a plain object of the last value per key. */
export function formToRecord(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) out[k] = v;
  return out;
}
