// Loopback fake of Anthropic's Messages API (POST /v1/messages) for the functions tests and the
// AI bench. It speaks the real wire format the @anthropic-ai/sdk client parses: a `message` with
// `tool_use` content blocks (or a text block), `stop_reason` and `usage`; errors as
// {type: 'error', error: {type, message}} with Anthropic's status codes. Every request is
// recorded (tests read the exact prompt), and replies are scriptable: a queue of one-off replies
// in front of a default, with latency, HTTP errors (500, 429) and hangs (timeouts).
//
// `startAiFake` is shared with the Gemini fake (dev/tests/fakes/gemini.ts): the HTTP server, the
// recording and the scripting are the same, only the wire format differs.

/** What the fake answers one request with. */
export type FakeAiReply =
  /** Structured output: Anthropic's forced tool input / Gemini's JSON text. */
  | { json: unknown; inputTokens?: number; outputTokens?: number; delayMs?: number }
  /** Plain text (a model ignoring the tool / schema). */
  | { text: string; delayMs?: number }
  /** An HTTP error in the provider's error format. */
  | { status: number; message?: string; retryAfterSeconds?: number; delayMs?: number }
  /** Never answer (the client's timeout fires). */
  | { hang: true };

export interface RecordedAiRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  // deno-lint-ignore no-explicit-any
  body: any;
  at: number;
}

export interface FakeAi {
  url: string;
  requests: RecordedAiRequest[];
  /** Queues one-off replies, used before the default (in order). */
  next(...replies: FakeAiReply[]): void;
  /** The reply when the queue is empty (may look at the request). */
  respond: (req: RecordedAiRequest) => FakeAiReply;
  /** Forgets recorded requests and queued replies (keeps `respond`). */
  reset(): void;
  close(): Promise<void>;
}

export interface AiFakeOptions {
  port?: number;
  respond?: (req: RecordedAiRequest) => FakeAiReply;
  /** Don't record requests (the bench sends thousands). */
  record?: boolean;
}

interface WireFormat {
  /** Null: not this API's path (404). */
  accepts(method: string, path: string): boolean;
  ok(req: RecordedAiRequest, reply: Extract<FakeAiReply, { json: unknown } | { text: string }>): {
    status: number;
    body: unknown;
  };
  error(status: number, message: string): unknown;
}

/** Roughly Anthropic's and Gemini's token count for English (tests only need it non-zero). */
export const approxTokens = (s: string) => Math.max(1, Math.ceil(s.length / 4));

export function startAiFake(label: string, wire: WireFormat, opts: AiFakeOptions): FakeAi {
  const queue: FakeAiReply[] = [];
  const hanging = new Set<() => void>();
  const fake: FakeAi = {
    url: '',
    requests: [],
    next: (...r) => void queue.push(...r),
    respond: opts.respond ??
      (() => ({ json: { action: 'reply', text: 'Thanks for your message!' } })),
    reset() {
      fake.requests.length = 0;
      queue.length = 0;
    },
    close: async () => {},
  };
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: '127.0.0.1', port: opts.port ?? 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (!wire.accepts(req.method, url.pathname)) {
        return Response.json(wire.error(404, `${label}: no route ${req.method} ${url.pathname}`), {
          status: 404,
        });
      }
      const text = await req.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        return Response.json(wire.error(400, 'body is not JSON'), { status: 400 });
      }
      const rec: RecordedAiRequest = {
        method: req.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(req.headers),
        body,
        at: Date.now(),
      };
      if (opts.record !== false) fake.requests.push(rec);
      const reply = queue.shift() ?? fake.respond(rec);
      if ('hang' in reply) {
        // Held until the fake closes (or a minute passes); the client's timeout fires first.
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 60_000);
          hanging.add(() => {
            clearTimeout(t);
            resolve();
          });
        });
        return new Response(null, { status: 499 });
      }
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if ('status' in reply) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (reply.retryAfterSeconds !== undefined) {
          headers['retry-after'] = String(reply.retryAfterSeconds);
        }
        return new Response(
          JSON.stringify(wire.error(reply.status, reply.message ?? `${label} error`)),
          { status: reply.status, headers },
        );
      }
      const out = wire.ok(rec, reply);
      return Response.json(out.body, { status: out.status });
    },
  );
  fake.url = `http://127.0.0.1:${server.addr.port}`;
  fake.close = async () => {
    for (const h of hanging) h();
    ac.abort();
    await server.finished;
  };
  return fake;
}

const anthropicErrorType = (status: number) =>
  ({
    400: 'invalid_request_error',
    401: 'authentication_error',
    404: 'not_found_error',
    429: 'rate_limit_error',
    529: 'overloaded_error',
  })[status] ?? 'api_error';

/** The fake Anthropic API. `url` goes into ANTHROPIC_BASE_URL. */
export function startFakeAnthropic(opts: AiFakeOptions = {}): FakeAi {
  let n = 0;
  return startAiFake('[fake-anthropic]', {
    accepts: (method, path) => method === 'POST' && path === '/v1/messages',
    ok(req, reply) {
      const b = req.body ?? {};
      // The tool the client forced (tool_choice), else its first tool.
      const tool = b.tool_choice?.name ?? b.tools?.[0]?.name ?? 'tool';
      const prompt = JSON.stringify(b.system ?? '') + JSON.stringify(b.messages ?? []);
      const id = `msg_fake${String(++n).padStart(20, '0')}`;
      const content = 'json' in reply
        ? [{ type: 'tool_use', id: `toolu_fake${n}`, name: tool, input: reply.json }]
        : [{ type: 'text', text: reply.text }];
      const output = 'json' in reply ? JSON.stringify(reply.json) : reply.text;
      return {
        status: 200,
        body: {
          id,
          type: 'message',
          role: 'assistant',
          model: b.model,
          content,
          stop_reason: 'json' in reply ? 'tool_use' : 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: 'inputTokens' in reply && reply.inputTokens !== undefined
              ? reply.inputTokens
              : approxTokens(prompt),
            output_tokens: 'outputTokens' in reply && reply.outputTokens !== undefined
              ? reply.outputTokens
              : approxTokens(output),
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
      };
    },
    error: (status, message) => ({
      type: 'error',
      error: { type: anthropicErrorType(status), message },
    }),
  }, opts);
}
