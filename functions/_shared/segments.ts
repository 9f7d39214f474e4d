// SMS segments as Twilio bills them, with Twilio's own calculator (GSM-7 vs UCS-2, 153/67 chars
// per concatenated part).
import { SegmentedMessage } from 'sms-segments-calculator';

export function smsSegments(body: string): number {
  if (!body) return 1;
  return new SegmentedMessage(body).segmentsCount;
}
