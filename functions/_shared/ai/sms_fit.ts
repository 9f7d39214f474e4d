// Keeps an AI-written message within its channel's budget: SMS within a segment budget (GSM-7
// 153 / UCS-2 67 characters per part of a concatenated message, counted by
// common/sms_segments.ts), WhatsApp within Twilio's 1,600 characters. Whole sentences while
// they fit, else whole words with "..." (ASCII: an ellipsis character would force UCS-2 and halve
// an SMS's room).
import { smsSegments } from '../../../common/sms_segments.ts';

export const SMS_MAX_SEGMENTS = 2;
export const WHATSAPP_MAX_CHARS = 1600;

function fitBy(text: string, fits: (s: string) => boolean): string {
  // Markdown bold and runs of blank lines are noise on a phone.
  const t = text.replace(/\*\*|__/g, '').replace(/\n{3,}/g, '\n\n').trim();
  if (fits(t)) return t;
  const sentences = t.match(/[^.!?\n]+(?:[.!?]+|\n|$)\s*/g) ?? [t];
  let out = '';
  for (const s of sentences) {
    const next = out + s;
    if (!fits(next.trim())) break;
    out = next;
  }
  if (out.trim()) return out.trim();
  // The first sentence alone is too long: cut it at a word boundary.
  let cut = '';
  for (const w of t.split(/(\s+)/)) {
    if (!fits((cut + w).trimEnd() + '...')) break;
    cut += w;
  }
  if (cut.trim()) return cut.trimEnd().replace(/[,;:]$/, '') + '...';
  // One enormous "word" (a URL): hard cut by characters.
  let chars = [...t];
  while (chars.length && !fits(chars.join('') + '...')) chars = chars.slice(0, -8);
  return chars.join('') + '...';
}

export function fitSms(text: string, maxSegments = SMS_MAX_SEGMENTS): string {
  return fitBy(text, (s) => smsSegments(s) <= maxSegments);
}

export function fitWhatsApp(text: string, maxChars = WHATSAPP_MAX_CHARS): string {
  return fitBy(text, (s) => [...s].length <= maxChars);
}
