// Response helpers: every error is JSON {error: {code, message}} with a fitting status, so clients
// and tests branch on a machine-readable code.
import { z } from 'zod';

export function json(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export class HttpError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

export function errorResponse(status: number, code: string, message: string): Response {
  return json(status, { error: { code, message } });
}

export const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type',
  'access-control-allow-methods': 'POST, GET, DELETE, OPTIONS',
};

/**
 * A path fit for logs: long hex or base64url runs (the email-inbound secret, tokens) become
 * `[redacted]`, so a 500 never writes a secret URL into the log.
 */
export function redactPath(pathname: string): string {
  return pathname.replace(/[0-9A-Za-z_-]{32,}/g, '[redacted]');
}

/** Wraps a handler: HttpError and zod errors become JSON errors, anything else a logged 500. */
export function wrap(fn: (req: Request) => Promise<Response>): (req: Request) => Promise<Response> {
  return async (req) => {
    try {
      return await fn(req);
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(e.status, e.code, e.message);
      if (e instanceof z.ZodError) {
        const msg = e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
        return errorResponse(400, 'invalid_body', msg);
      }
      console.error(`[${redactPath(new URL(req.url).pathname)}]`, e);
      return errorResponse(500, 'internal_error', 'internal error');
    }
  };
}

/** Reads a JSON body or throws a 400 `invalid_json`. */
export async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'body is not valid JSON');
  }
}

/** The path after the function's own name: /twilio-inbound/x?y -> /x (hosted and local alike). */
export function subPath(req: Request, name: string): string {
  const p = new URL(req.url).pathname;
  const i = p.indexOf(`/${name}`);
  return i < 0 ? p : p.slice(i + name.length + 1);
}
