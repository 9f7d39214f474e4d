// SMS segment count with Twilio's own calculator (GSM-7 vs UCS-2, concatenation headers).
import { SegmentedMessage } from 'sms-segments-calculator';

export function smsInfo(body: string): { segments: number; encoding: string; chars: number } {
  if (!body) return { segments: 0, encoding: 'GSM-7', chars: 0 };
  const m = new SegmentedMessage(body, 'auto');
  return { segments: m.segmentsCount, encoding: m.getEncodingName(), chars: m.numberOfCharacters };
}
