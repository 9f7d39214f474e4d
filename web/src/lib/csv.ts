// CSV import: parse with papaparse, map columns to contact fields, validate each row and report
// problems per row in words. The database re-checks (phone normalisation, duplicates).
import Papa from 'papaparse';

export const CONTACT_FIELDS = [
  'name',
  'phone',
  'email',
  'whatsapp',
  'tags',
  'reminder_consent',
  'promotional_consent',
] as const;
export type ContactField = typeof CONTACT_FIELDS[number];
export type Mapping = Partial<Record<ContactField, string>>;

export interface ParsedCsv {
  headers: string[];
  rows: Record<string, string>[];
}

export function parseCsv(text: string): ParsedCsv {
  const res = Papa.parse<Record<string, string>>(text.trim(), {
    header: true,
    skipEmptyLines: 'greedy',
    transformHeader: (h) => h.trim(),
  });
  return { headers: res.meta.fields ?? [], rows: res.data };
}

/** Guesses the mapping from header names (Phone, phone_number, E-mail, …). */
export function guessMapping(headers: string[]): Mapping {
  const m: Mapping = {};
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z]/g, '');
  for (const h of headers) {
    const n = norm(h);
    if (!m.name && /^(name|fullname|customer|contact)$/.test(n)) m.name = h;
    else if (!m.phone && /^(phone|phonenumber|mobile|cell|tel|sms)$/.test(n)) m.phone = h;
    else if (!m.email && /^(email|emailaddress|mail)$/.test(n)) m.email = h;
    else if (!m.whatsapp && /^whatsapp/.test(n)) m.whatsapp = h;
    else if (!m.tags && /^(tags?|labels?|groups?)$/.test(n)) m.tags = h;
    else if (!m.reminder_consent && /reminder/.test(n)) m.reminder_consent = h;
    else if (!m.promotional_consent && /(promo|marketing)/.test(n)) m.promotional_consent = h;
  }
  return m;
}

export interface ContactDraft {
  name: string;
  phone: string | null;
  email: string | null;
  whatsapp: string | null;
  tags: string[];
  reminder_consent?: boolean;
  promotional_consent?: boolean;
}

function yes(v: string): boolean | undefined {
  const s = v.trim().toLowerCase();
  if (!s) return undefined;
  if (['1', 'y', 'yes', 'true', 'x'].includes(s)) return true;
  if (['0', 'n', 'no', 'false'].includes(s)) return false;
  return undefined;
}

/** Maps one row; returns the draft or the problem in words. */
export function mapRow(
  row: Record<string, string>,
  mapping: Mapping,
): { draft: ContactDraft } | { error: string } {
  const get = (f: ContactField) => (mapping[f] ? (row[mapping[f]!] ?? '').trim() : '');
  const phone = get('phone');
  const email = get('email');
  const whatsapp = get('whatsapp');
  if (!phone && !email && !whatsapp) return { error: 'no phone, email or WhatsApp number' };
  if (phone && !/^\+?[0-9 ().-]{7,20}$/.test(phone)) {
    return { error: `"${phone}" is not a phone number` };
  }
  if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    return { error: `"${email}" is not an email address` };
  }
  const draft: ContactDraft = {
    name: get('name'),
    phone: phone || null,
    email: email || null,
    whatsapp: whatsapp || null,
    tags: get('tags').split(/[;,|]/).map((t) => t.trim()).filter(Boolean),
  };
  const rc = yes(get('reminder_consent'));
  const pc = yes(get('promotional_consent'));
  if (rc !== undefined) draft.reminder_consent = rc;
  if (pc !== undefined) draft.promotional_consent = pc;
  return { draft };
}
