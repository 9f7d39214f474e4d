// The SMS segment counter lives in common/sms_segments.ts (shared with the dashboard). This
// re-export keeps functions/dispatch importing it from here until it imports common/ directly.
export { smsSegments, smsSegmentsByCalculator } from '../../common/sms_segments.ts';
