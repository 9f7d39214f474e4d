// Phoenix channel frames as realtime-js speaks them. vsn 1.0.0 sends JSON objects
// {join_ref, ref, topic, event, payload}; vsn 2.0.0 (realtime-js's default) sends JSON arrays
// [join_ref, ref, topic, event, payload] and binary frames for user broadcasts, which this server
// does not support (it has no broadcast) and rejects as unsupported.

export const VSN_1 = '1.0.0';
export const VSN_2 = '2.0.0';
export type Vsn = typeof VSN_1 | typeof VSN_2;

export interface Frame {
  join_ref: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

/** A frame that could not be read; `ref`/`topic` are kept when known so the error can be replied. */
export class FrameError extends Error {
  constructor(message: string, readonly partial?: Partial<Frame>) {
    super(message);
  }
}

const refOrNull = (v: unknown): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : String(v);

function checkShape(
  join_ref: unknown,
  ref: unknown,
  topic: unknown,
  event: unknown,
  payload: unknown,
): Frame {
  const partial = { join_ref: refOrNull(join_ref), ref: refOrNull(ref) };
  if (typeof topic !== 'string' || typeof event !== 'string') {
    throw new FrameError('topic and event must be strings', partial);
  }
  if (
    payload !== undefined && payload !== null &&
    (typeof payload !== 'object' || Array.isArray(payload))
  ) {
    throw new FrameError('payload must be an object', { ...partial, topic, event });
  }
  return { ...partial, topic, event, payload: (payload ?? {}) as Record<string, unknown> };
}

export function decodeFrame(vsn: Vsn, data: string | ArrayBuffer): Frame {
  if (typeof data !== 'string') throw new FrameError('binary frames are not supported');
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new FrameError('frame is not JSON');
  }
  if (vsn === VSN_2) {
    if (!Array.isArray(parsed) || parsed.length !== 5) {
      throw new FrameError('expected [join_ref, ref, topic, event, payload]');
    }
    return checkShape(parsed[0], parsed[1], parsed[2], parsed[3], parsed[4]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FrameError('expected {topic, event, payload, ref}');
  }
  const o = parsed as Record<string, unknown>;
  return checkShape(o.join_ref, o.ref, o.topic, o.event, o.payload);
}

/**
 * Encodes a frame. `payloadJson` lets the dispatcher splice a payload it has already serialised
 * once for many subscribers.
 */
export function encodeFrame(
  vsn: Vsn,
  f: { join_ref: string | null; ref: string | null; topic: string; event: string },
  payload: unknown,
  payloadJson?: string,
): string {
  const p = payloadJson ?? JSON.stringify(payload);
  const jr = JSON.stringify(f.join_ref);
  const r = JSON.stringify(f.ref);
  const t = JSON.stringify(f.topic);
  const e = JSON.stringify(f.event);
  if (vsn === VSN_2) return `[${jr},${r},${t},${e},${p}]`;
  return `{"join_ref":${jr},"ref":${r},"topic":${t},"event":${e},"payload":${p}}`;
}
