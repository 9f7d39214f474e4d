// Formatting shared by the views: times, message statuses and provider errors in words.

export function timeAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function dateTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

export const STATUS_WORDS: Record<string, string> = {
  scheduled: 'Scheduled',
  queued: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Failed',
  undelivered: 'Not delivered',
  canceled: 'Canceled',
  received: 'Received',
};

/** Provider and rule error codes explained to a business owner. */
const ERROR_WORDS: Record<string, string> = {
  '21211': 'The phone number is not valid.',
  '21408': 'Sending to this country is not enabled on your Twilio account.',
  '21610': 'The customer replied STOP and is unsubscribed on this channel.',
  '21614': 'This number cannot receive SMS (probably a landline).',
  '30003': 'The phone is switched off or out of reach.',
  '30004': 'The customer blocked messages from you.',
  '30005': 'The number does not exist or is no longer in use.',
  '30006': 'The number is a landline or cannot receive SMS.',
  '30007': 'The carrier filtered the message as spam.',
  '30008': 'The carrier could not deliver the message (unknown error).',
  '63016': 'WhatsApp only allows approved templates more than 24 hours after the last reply.',
  whatsapp_window_closed:
    'The WhatsApp 24-hour window is closed: only an approved template can be sent.',
  opted_out: 'The customer opted out of this channel.',
  no_reminder_consent: 'The customer has not agreed to reminders.',
  no_promotional_consent: 'The customer has not agreed to promotional messages.',
  no_address: 'The contact has no address for this channel.',
  quiet_hours: 'Held until quiet hours end.',
};

export function errorInWords(code: string | null | undefined, message?: string | null): string {
  if (!code && !message) return '';
  const known = code ? ERROR_WORDS[code] : undefined;
  if (known) return known;
  return message ? `${message}${code ? ` (code ${code})` : ''}` : `Error code ${code}`;
}

export const SKIP_WORDS: Record<string, string> = {
  opted_out: 'opted out',
  no_reminder_consent: 'no reminder consent',
  no_promotional_consent: 'no promotional consent',
  no_address: 'no address for the channel',
};

export const CHANNEL_WORDS: Record<string, string> = {
  sms: 'SMS',
  whatsapp: 'WhatsApp',
  email: 'Email',
  any: 'Any channel',
};

/** A database error in words a person can act on. */
export function humanError(e: unknown): string {
  const err = e as { message?: string; code?: string; hint?: string | null };
  const msg = err?.message ?? String(e);
  // A rule's refusal (e.g. an unverified sender domain) says what to do in its hint.
  if (err?.code === '23514' && err.hint) return `${msg}. ${err.hint}`;
  if (err?.code === '23505') return 'That already exists (a duplicate phone, email or name).';
  if (err?.code === '42501') return 'You do not have permission to do that.';
  if (/invalid phone number/i.test(msg)) return msg.replace(/^.*?(invalid phone number)/i, '$1');
  if (/Failed to fetch|NetworkError/i.test(msg)) return 'Cannot reach the server. Try again.';
  return msg;
}
