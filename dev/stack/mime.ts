// Just enough MIME (RFC 2045/2047) to read what nodemailer sends: headers with encoded words,
// one level of multipart, quoted-printable or base64 parts. For the local mail catcher only.
import { Buffer } from 'node:buffer';

export interface ParsedMail {
  headers: Map<string, string>;
  text: string;
  html: string;
}

function decodeWords(v: string): string {
  return v.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=\s*/g, (_m, _cs, enc: string, data: string) => {
    if (enc.toLowerCase() === 'b') return Buffer.from(data, 'base64').toString('utf8');
    return decodeQp(data.replace(/_/g, ' '));
  });
}

function decodeQp(s: string): string {
  const bytes: number[] = [];
  const soft = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...new TextEncoder().encode(soft[i]));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function splitHead(raw: string): [Map<string, string>, string] {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) {
      headers.set(line.slice(0, c).trim().toLowerCase(), decodeWords(line.slice(c + 1).trim()));
    }
  }
  return [headers, body];
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const enc = (headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') return decodeQp(body);
  return body;
}

export function parseMime(raw: string): ParsedMail {
  const [headers, body] = splitHead(raw);
  const out: ParsedMail = { headers, text: '', html: '' };
  const visit = (h: Map<string, string>, b: string) => {
    const type = (h.get('content-type') ?? 'text/plain').toLowerCase();
    const boundary = (h.get('content-type') ?? '').match(/boundary="?([^";]+)"?/i)?.[1];
    if (type.startsWith('multipart/') && boundary) {
      for (const part of b.split(`--${boundary}`).slice(1)) {
        if (part.startsWith('--')) break;
        const [ph, pb] = splitHead(part.replace(/^\r?\n/, ''));
        visit(ph, pb.replace(/\r?\n$/, ''));
      }
    } else if (type.startsWith('text/html')) out.html ||= decodeBody(h, b);
    else if (type.startsWith('text/')) out.text ||= decodeBody(h, b);
  };
  visit(headers, body);
  return out;
}
