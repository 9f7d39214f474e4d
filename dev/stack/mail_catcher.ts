// A local mail catcher in the place of the Mailpit container `supabase start` runs ([inbucket] in
// supabase/config.toml; supabase/cli apps/cli-go/internal/start/start.go): an SMTP sink that keeps
// every message in memory, and on the web port a page listing them plus the subset of Mailpit's
// JSON API that tests use (github.com/axllent/mailpit, /api/v1):
//   GET    /api/v1/messages           {total, count, start, messages: [summary…]} newest first
//   GET    /api/v1/search?query=to:a  the same, only messages with that recipient
//   GET    /api/v1/message/{ID}       summary fields plus Text and HTML
//   DELETE /api/v1/messages           deletes everything
// The SMTP side accepts anything from loopback and relays nothing.
import { SMTPServer } from 'smtp-server';
import { Buffer } from 'node:buffer';
import { parseMime } from './mime.ts';

export interface Address {
  Name: string;
  Address: string;
}

export interface CaughtMessage {
  ID: string;
  MessageID: string;
  From: Address;
  To: Address[];
  Subject: string;
  Created: string;
  Size: number;
  Snippet: string;
  Text: string;
  HTML: string;
}

export interface MailCatcher {
  /** smtp://127.0.0.1:<port> for nodemailer. */
  smtpUrl: string;
  smtpPort: number;
  /** The web page and API, e.g. http://127.0.0.1:54324 in dev. */
  webUrl: string;
  messages(): CaughtMessage[];
  stop(): Promise<void>;
}

function summary(m: CaughtMessage) {
  const { Text: _t, HTML: _h, ...rest } = m;
  return { ...rest, Read: false, Cc: [], Bcc: [], ReplyTo: [], Tags: [], Attachments: 0 };
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(list: CaughtMessage[]): string {
  const rows = list.map((m) =>
    `<tr><td>${escapeHtml(m.Created)}</td><td>${
      escapeHtml(m.To.map((t) => t.Address).join(', '))
    }</td>` +
    `<td><a href="/view/${m.ID}">${escapeHtml(m.Subject || '(no subject)')}</a></td></tr>`
  ).join('\n');
  return `<!doctype html><meta charset="utf-8"><title>Mail catcher</title>
<style>body{font:14px system-ui;margin:2em}td{padding:.3em 1em;border-bottom:1px solid #ddd}</style>
<h1>Mail catcher</h1><p>${list.length} message(s) sent by the local stack. Nothing here left this machine.</p>
<table><tr><th>Received</th><th>To</th><th>Subject</th></tr>${rows}</table>`;
}

function view(m: CaughtMessage): string {
  // The HTML body is shown in a sandboxed frame: no scripts, links open as links.
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(m.Subject)}</title>
<style>body{font:14px system-ui;margin:2em}iframe{width:100%;height:60vh;border:1px solid #ccc}</style>
<p><a href="/">All messages</a></p><h1>${escapeHtml(m.Subject)}</h1>
<p>From ${escapeHtml(m.From.Address)} to ${escapeHtml(m.To.map((t) => t.Address).join(', '))}</p>
<iframe sandbox="allow-top-navigation-by-user-activation allow-popups" srcdoc="${
    escapeHtml(m.HTML || `<pre>${escapeHtml(m.Text)}</pre>`)
  }"></iframe>`;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function listing(list: CaughtMessage[], url: URL) {
  const start = Number(url.searchParams.get('start') ?? 0) || 0;
  const limit = Number(url.searchParams.get('limit') ?? 50) || 50;
  const slice = list.slice(start, start + limit);
  return json(200, {
    total: list.length,
    unread: list.length,
    count: slice.length,
    messages_count: list.length,
    start,
    tags: [],
    messages: slice.map(summary),
  });
}

export async function startMailCatcher(
  opts: { smtpPort: number; webPort: number },
): Promise<MailCatcher> {
  const store: CaughtMessage[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const mime = parseMime(raw);
        const to = session.envelope.rcptTo.map((r) => ({ Name: '', Address: r.address }));
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const text = mime.text || mime.html.replace(/<[^>]+>/g, ' ');
        store.unshift({
          ID: crypto.randomUUID(),
          MessageID: (mime.headers.get('message-id') ?? '').replace(/^<|>$/g, ''),
          From: { Name: '', Address: from },
          To: to,
          Subject: mime.headers.get('subject') ?? '',
          Created: new Date().toISOString(),
          Size: raw.length,
          Snippet: text.replace(/\s+/g, ' ').trim().slice(0, 250),
          Text: mime.text,
          HTML: mime.html,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(opts.smtpPort, '127.0.0.1', () => resolve());
  });

  const web = Deno.serve(
    { hostname: '127.0.0.1', port: opts.webPort, onListen: () => {} },
    (req) => {
      const url = new URL(req.url);
      const byId = url.pathname.match(/^\/(?:api\/v1\/message|view)\/([0-9a-f-]+)$/);
      if (req.method === 'GET' && url.pathname === '/') {
        return new Response(page(store), {
          headers: { 'content-type': 'text/html; charset=utf-8' },
        });
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/messages') return listing(store, url);
      if (req.method === 'DELETE' && url.pathname === '/api/v1/messages') {
        store.length = 0;
        return new Response('ok');
      }
      if (req.method === 'GET' && url.pathname === '/api/v1/search') {
        const q = (url.searchParams.get('query') ?? '').trim().toLowerCase();
        const to = q.startsWith('to:') ? q.slice(3).replace(/^"|"$/g, '') : null;
        const hits = store.filter((m) =>
          to
            ? m.To.some((t) => t.Address.toLowerCase() === to)
            : m.Subject.toLowerCase().includes(q)
        );
        return listing(hits, url);
      }
      if (req.method === 'GET' && byId) {
        const m = store.find((x) => x.ID === byId[1]);
        if (!m) return json(404, { error: 'message not found' });
        if (url.pathname.startsWith('/view/')) {
          return new Response(view(m), { headers: { 'content-type': 'text/html; charset=utf-8' } });
        }
        return json(200, { ...summary(m), Text: m.Text, HTML: m.HTML, Date: m.Created });
      }
      return json(404, { error: 'not found' });
    },
  );

  return {
    smtpUrl: `smtp://127.0.0.1:${opts.smtpPort}`,
    smtpPort: opts.smtpPort,
    webUrl: `http://127.0.0.1:${opts.webPort}`,
    messages: () => [...store],
    stop: async () => {
      await web.shutdown();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
