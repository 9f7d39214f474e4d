// Loopback fake of Resend's email API (POST /emails with a bearer key, JSON body; answers
// {"id": …}), recording requests and honouring Idempotency-Key as Resend does (same key: the
// first email's id again, nothing new sent).
export interface ResendEmail {
  id: string;
  idempotencyKey: string | null;
  body: {
    from: string;
    to: string[];
    subject: string;
    text?: string;
    headers?: Record<string, string>;
  };
}

export interface FakeResend {
  url: string;
  apiKey: string;
  /** Every POST /emails, including idempotent repeats. */
  requests: ResendEmail[];
  /** Emails actually "sent" (one per idempotency key). */
  sent: ResendEmail[];
  failNext(status: number, times?: number): void;
  close(): Promise<void>;
}

export function startFakeResend(apiKey = 're_test_key'): FakeResend {
  const requests: ResendEmail[] = [];
  const sent: ResendEmail[] = [];
  const byKey = new Map<string, string>();
  let fail: { status: number; times: number } | null = null;
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: '127.0.0.1', port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (req.method !== 'POST' || url.pathname !== '/emails') {
        return Response.json({ statusCode: 404, name: 'not_found', message: 'Not found' }, {
          status: 404,
        });
      }
      if (req.headers.get('authorization') !== `Bearer ${apiKey}`) {
        return Response.json({
          statusCode: 401,
          name: 'missing_api_key',
          message: 'Missing API key',
        }, { status: 401 });
      }
      const body = await req.json();
      const key = req.headers.get('idempotency-key');
      const rec: ResendEmail = { id: '', idempotencyKey: key, body };
      requests.push(rec);
      if (fail && fail.times-- > 0) {
        const status = fail.status;
        if (fail.times <= 0) fail = null;
        return Response.json({
          statusCode: status,
          name: status === 429 ? 'rate_limit_exceeded' : 'validation_error',
          message: `injected ${status}`,
        }, { status });
      }
      if (key && byKey.has(key)) return Response.json({ id: byKey.get(key) });
      rec.id = crypto.randomUUID();
      if (key) byKey.set(key, rec.id);
      sent.push(rec);
      return Response.json({ id: rec.id });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    apiKey,
    requests,
    sent,
    failNext: (status, times = 1) => void (fail = { status, times }),
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}
