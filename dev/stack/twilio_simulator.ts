// A Twilio REST API stand-in speaking Twilio's wire format (form-encoded POSTs under
// /2010-04-01/Accounts/{Sid}/…, basic auth, Twilio's JSON resources and error bodies). Two uses:
// - the local stack's SIMULATION of Twilio for development without credentials: sends are
//   accepted and signed status callbacks (queued -> sent -> delivered) follow, every line logged
//   as "[twilio-simulator] SIMULATION …";
// - the loopback fake of the functions tests (dev/tests/fakes/twilio.ts), which also records requests
//   and injects latency, provider errors and timeouts.
import twilio from 'twilio';

/** Platform test credentials the simulator accepts in dev/test (never real ones). */
export const SIM_ACCOUNT_SID = 'AC00000000000000000000000000000051';
export const SIM_AUTH_TOKEN = 'simulated-twilio-auth-token-dev-only';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string | string[]>;
  username: string | null;
  at: number;
}

export interface SimMessage {
  sid: string;
  account_sid: string;
  to: string;
  from: string | null;
  messaging_service_sid: string | null;
  body: string;
  status: string;
  direction: string;
  date_created: Date;
  num_segments: string;
  num_media: string;
  status_callback: string | null;
  error_code: number | null;
}

export interface Injection {
  /** Only requests whose form matches (default: every Messages create). */
  match?: (form: Record<string, string | string[]>) => boolean;
  /** How many requests it applies to (default 1; Infinity for all). */
  times?: number;
  latencyMs?: number;
  /** Answer with this Twilio error (HTTP status and code). */
  status?: number;
  code?: number;
  message?: string;
  /** Never answer: 'before' drops the request, 'after' creates the message first. */
  hang?: 'before' | 'after';
}

export interface SimNumber {
  sid: string;
  phone_number: string;
  friendly_name?: string;
  capabilities: { sms: boolean; mms: boolean; voice: boolean };
}

export interface SimCall {
  sid: string;
  from: string;
  to: string;
  status: string;
  direction: string;
  duration: string;
  start_time: Date;
}

export interface TwilioSimOptions {
  port?: number;
  /** sid -> auth token. Unknown accounts are refused unless acceptAnyAccount. */
  accounts?: Record<string, string>;
  acceptAnyAccount?: boolean;
  /** POST signed status callbacks to each message's StatusCallback. */
  callbacks?: boolean;
  callbackDelayMs?: number;
  /** Added to every request. */
  latencyMs?: number;
  log?: (line: string) => void;
  label?: string;
}

export interface TwilioSim {
  url: string;
  port: number;
  requests: RecordedRequest[];
  messages: SimMessage[];
  numbers: SimNumber[];
  calls: SimCall[];
  accounts: Record<string, string>;
  inject(i: Injection): void;
  setLatency(ms: number): void;
  /** Requests creating messages (POST …/Messages.json). */
  creates(): RecordedRequest[];
  close(): Promise<void>;
}

const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n / 2)), (b) => b.toString(16).padStart(2, '0'))
    .join('');
export const newSid = (prefix: string) => `${prefix}${hex(32)}`;

/** RFC 2822 as Twilio prints dates: "Wed, 18 Aug 2021 20:01:01 +0000". */
export function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

function twilioError(status: number, code: number, message: string): Response {
  return Response.json({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  }, { status });
}

const DEFAULT_MESSAGES: Record<number, string> = {
  20003: 'Authenticate',
  20404: 'The requested resource was not found',
  20429: 'Too Many Requests',
  20500: 'Internal Server Error',
  21211: "The 'To' number is not a valid phone number.",
  21610: 'Attempt to send to unsubscribed recipient',
  30003: 'Unreachable destination handset',
  63016: 'Failed to send freeform message because you are outside the allowed window.',
};

function messageJson(m: SimMessage) {
  const created = rfc2822(m.date_created);
  return {
    account_sid: m.account_sid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: created,
    date_sent: m.status === 'queued' ? null : created,
    date_updated: created,
    direction: m.direction,
    error_code: m.error_code,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.messaging_service_sid,
    num_media: m.num_media,
    num_segments: m.num_segments,
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: {
      media: `/2010-04-01/Accounts/${m.account_sid}/Messages/${m.sid}/Media.json`,
    },
    to: m.to,
    uri: `/2010-04-01/Accounts/${m.account_sid}/Messages/${m.sid}.json`,
  };
}

function page(key: string, items: unknown[], path: string, pageSize: number) {
  return {
    [key]: items.slice(0, pageSize),
    end: Math.max(0, Math.min(items.length, pageSize) - 1),
    first_page_uri: `${path}?PageSize=${pageSize}&Page=0`,
    next_page_uri: null,
    page: 0,
    page_size: pageSize,
    previous_page_uri: null,
    start: 0,
    uri: `${path}?PageSize=${pageSize}&Page=0`,
  };
}

export function startTwilioSimulator(opts: TwilioSimOptions = {}): TwilioSim {
  const label = opts.label ?? '[twilio-simulator] SIMULATION';
  const log = opts.log ?? ((s: string) => console.log(s));
  const accounts: Record<string, string> = { ...(opts.accounts ?? {}) };
  const requests: RecordedRequest[] = [];
  const messages: SimMessage[] = [];
  const numbers: SimNumber[] = [];
  const calls: SimCall[] = [];
  const injections: Injection[] = [];
  let latency = opts.latencyMs ?? 0;
  const hanging = new Set<() => void>();
  const pendingCallbacks = new Set<ReturnType<typeof setTimeout>>();
  const ac = new AbortController();

  const hang = (req: Request) =>
    new Promise<Response>((resolve) => {
      const done = () => {
        hanging.delete(done);
        resolve(new Response(null, { status: 504 }));
      };
      hanging.add(done);
      req.signal.addEventListener('abort', done);
    });

  async function callback(m: SimMessage, status: string, token: string) {
    if (!m.status_callback) return;
    const params: Record<string, string> = {
      AccountSid: m.account_sid,
      ApiVersion: '2010-04-01',
      From: m.from ?? '',
      MessageSid: m.sid,
      MessageStatus: status,
      SmsSid: m.sid,
      SmsStatus: status,
      To: m.to,
    };
    const sig = twilio.getExpectedTwilioSignature(token, m.status_callback, params);
    try {
      const res = await fetch(m.status_callback, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': sig,
          'i-twilio-idempotency-token': crypto.randomUUID(),
        },
        body: new URLSearchParams(params),
      });
      await res.body?.cancel();
      log(`${label} status callback ${m.sid} ${status} -> ${res.status}`);
    } catch (e) {
      log(`${label} status callback ${m.sid} ${status} failed: ${(e as Error).message}`);
    }
  }

  function scheduleCallbacks(m: SimMessage, token: string) {
    if (!opts.callbacks || !m.status_callback) return;
    const step = opts.callbackDelayMs ?? 200;
    const seq = ['queued', 'sent', 'delivered'];
    seq.forEach((s, i) => {
      const t = setTimeout(() => {
        pendingCallbacks.delete(t);
        m.status = s;
        void callback(m, s, token);
      }, step * (i + 1));
      pendingCallbacks.add(t);
    });
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const raw = req.method === 'POST' ? await req.text() : '';
    const form: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      const prev = form[k];
      form[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    // Control routes for benchmarks that run the simulator in another process.
    if (url.pathname === '/_sim/stats') {
      return Response.json({
        requests: requests.length,
        creates: requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Messages.json'))
          .length,
        messages: messages.length,
        distinct_to_body: new Set(messages.map((m) => `${m.to}\n${m.body}`)).size,
      });
    }
    if (url.pathname === '/_sim/latency') {
      latency = Number(url.searchParams.get('ms') ?? 0);
      return Response.json({ latency });
    }
    const auth = req.headers.get('authorization') ?? '';
    let username: string | null = null;
    let password: string | null = null;
    const m = auth.match(/^Basic\s+(.+)$/i);
    if (m) {
      const dec = atob(m[1]);
      const i = dec.indexOf(':');
      username = dec.slice(0, i);
      password = dec.slice(i + 1);
    }
    const rec: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      form,
      username,
      at: Date.now(),
    };
    requests.push(rec);
    if (latency) await new Promise((r) => setTimeout(r, latency));

    const route = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})(\.json|\/.*)$/);
    if (!route) return twilioError(404, 20404, DEFAULT_MESSAGES[20404]);
    const [, sid, rest] = route;
    const known = accounts[sid];
    const authorised = username === sid && password !== null &&
      (known !== undefined ? known === password : !!opts.acceptAnyAccount);
    if (!authorised) return twilioError(401, 20003, DEFAULT_MESSAGES[20003]);
    const token = password!;

    if (rest === '.json' && req.method === 'GET') {
      return Response.json({
        sid,
        friendly_name: opts.acceptAnyAccount ? 'Simulated account' : 'Fake account',
        status: 'active',
        type: 'Full',
        date_created: rfc2822(new Date()),
        uri: `/2010-04-01/Accounts/${sid}.json`,
      });
    }

    if (rest === '/Messages.json' && req.method === 'POST') {
      const inj = injections.find((x) => !x.match || x.match(form));
      if (inj) {
        inj.times = (inj.times ?? 1) - 1;
        if (inj.times <= 0) injections.splice(injections.indexOf(inj), 1);
        if (inj.latencyMs) await new Promise((r) => setTimeout(r, inj.latencyMs));
        if (inj.hang === 'before') return await hang(req);
      }
      const to = String(form.To ?? '');
      const from = form.From ? String(form.From) : null;
      const mss = form.MessagingServiceSid ? String(form.MessagingServiceSid) : null;
      if (!inj?.hang && inj?.status) {
        const code = inj.code ?? (inj.status === 429 ? 20429 : 20500);
        return twilioError(inj.status, code, inj.message ?? DEFAULT_MESSAGES[code] ?? 'error');
      }
      if (!to || (!from && !mss)) {
        return twilioError(
          400,
          21604,
          "A 'To' and a 'From' or 'MessagingServiceSid' are required.",
        );
      }
      if (!form.Body && !form.ContentSid && !form.MediaUrl) {
        return twilioError(400, 21602, 'Message body is required.');
      }
      const media = form.MediaUrl ? [form.MediaUrl].flat().length : 0;
      const msg: SimMessage = {
        sid: newSid(media ? 'MM' : 'SM'),
        account_sid: sid,
        to,
        from,
        messaging_service_sid: mss,
        body: String(form.Body ?? ''),
        status: 'queued',
        direction: 'outbound-api',
        date_created: new Date(),
        num_segments: '1',
        num_media: String(media),
        status_callback: form.StatusCallback ? String(form.StatusCallback) : null,
        error_code: null,
      };
      messages.push(msg);
      log(
        `${label} accepted message ${msg.sid} to ${to}: ${JSON.stringify(msg.body.slice(0, 60))}`,
      );
      if (inj?.hang === 'after') return await hang(req);
      scheduleCallbacks(msg, token);
      return Response.json(messageJson(msg), { status: 201 });
    }

    if (rest === '/Messages.json' && req.method === 'GET') {
      const q = url.searchParams;
      const size = Math.min(Number(q.get('PageSize') ?? 50) || 50, 1000);
      const list = messages.filter((x) =>
        x.account_sid === sid && (!q.get('To') || x.to === q.get('To')) &&
        (!q.get('From') || x.from === q.get('From'))
      ).sort((a, b) => b.date_created.getTime() - a.date_created.getTime());
      return Response.json(page('messages', list.map(messageJson), url.pathname, size));
    }

    if (rest === '/IncomingPhoneNumbers.json' && req.method === 'GET') {
      const list = numbers.map((n) => ({
        account_sid: sid,
        sid: n.sid,
        phone_number: n.phone_number,
        friendly_name: n.friendly_name ?? n.phone_number,
        capabilities: { ...n.capabilities, fax: false },
        date_created: rfc2822(new Date()),
      }));
      return Response.json(page('incoming_phone_numbers', list, url.pathname, 50));
    }

    if (rest === '/Calls.json' && req.method === 'GET') {
      const list = calls.map((c) => ({
        account_sid: sid,
        sid: c.sid,
        from: c.from,
        to: c.to,
        status: c.status,
        direction: c.direction,
        duration: c.duration,
        start_time: rfc2822(c.start_time),
        date_created: rfc2822(c.start_time),
      }));
      return Response.json(page('calls', list, url.pathname, 50));
    }
    return twilioError(404, 20404, DEFAULT_MESSAGES[20404]);
  }

  const server = Deno.serve(
    { hostname: '127.0.0.1', port: opts.port ?? 0, signal: ac.signal, onListen: () => {} },
    handle,
  );
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    messages,
    numbers,
    calls,
    accounts,
    inject: (i) => void injections.push({ times: 1, ...i }),
    setLatency: (ms) => void (latency = ms),
    creates: () => requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Messages.json')),
    async close() {
      for (const t of pendingCallbacks) clearTimeout(t);
      for (const h of [...hanging]) h();
      ac.abort();
      await server.finished;
    },
  };
}
