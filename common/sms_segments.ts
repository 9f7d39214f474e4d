// SMS segments as Twilio bills them, with Twilio's own calculator (GSM-7 vs UCS-2, 153/67 chars
// per concatenated part): the one counter for the dispatcher, the AI reply fitter and the
// dashboard's reply box. Bodies made only of printable ASCII that is in GSM-7's basic set (the
// common case) are counted directly: the calculator costs ~0.2 ms per message, which mattered at
// dispatch rates; tests check both paths agree.
//
// common/ holds code both the dashboard (web/) and the edge functions (functions/) import, so
// neither depends on the other's folder. Functions reach it by relative import; the Supabase CLI
// deploys files outside the functions folder by walking the entrypoint's imports
// (supabase/cli apps/cli-go/pkg/function/deno.go WalkImportPaths, used by writeForm in
// pkg/function/deploy.go; the Docker bundler binds "imports outside of ./supabase/functions" in
// internal/functions/deploy/bundle.go GetBindMounts). The bare 'sms-segments-calculator' resolves
// through the functions' import map and, for the dashboard, through Vite.
import { SegmentedMessage } from 'sms-segments-calculator';

// ASCII characters in the GSM 03.38 basic set (not: ` [ \ ] ^ { | } ~, which are extension
// characters costing two septets, or not GSM at all).
const GSM_BASIC_ASCII = /^[A-Za-z0-9 \r\n@$_!"#%&'()*+,\-./:;<=>?]*$/;

/** Segments Twilio bills for a body (an empty body still costs one). */
export function smsSegments(body: string): number {
  if (!body) return 1;
  if (GSM_BASIC_ASCII.test(body)) return body.length <= 160 ? 1 : Math.ceil(body.length / 153);
  return new SegmentedMessage(body).segmentsCount;
}

/** The calculator alone (tests compare the fast path with it). */
export function smsSegmentsByCalculator(body: string): number {
  return new SegmentedMessage(body).segmentsCount;
}

/** For a reply being typed: segments (0 while empty), encoding and characters as Twilio counts. */
export function smsInfo(body: string): { segments: number; encoding: string; chars: number } {
  if (!body) return { segments: 0, encoding: 'GSM-7', chars: 0 };
  const m = new SegmentedMessage(body, 'auto');
  return {
    segments: smsSegments(body),
    encoding: m.getEncodingName(),
    chars: m.numberOfCharacters,
  };
}
