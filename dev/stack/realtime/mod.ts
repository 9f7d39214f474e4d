// Supabase Realtime-compatible `postgres_changes` server for the local stack: the Phoenix
// websocket protocol as realtime-js 2.x speaks it, changes from a wal2json slot (capture.ts), and
// row-level security checked per subscriber by Postgres (rls.ts). Protocol details follow
// supabase/realtime's RealtimeChannel (join, access_token, system messages, error texts) and
// realtime-js's RealtimeChannel (binding ids, payload shape); see dev/stack/README.md "Realtime".
import postgres from 'postgres';
import { json, type RouteHandler } from '../gateway.ts';
import { type Jwks, type SigningJwk, verificationJwks } from '../keys.ts';
import { type KeyRole, roleTokenMinter } from '../role_tokens.ts';
import { jwtVerifier } from '../verify_jwt.ts';
import { type Claims, verifyToken } from './auth.ts';
import { Capture, type WalChange } from './capture.ts';
import { matches, parseParams, type SubscriptionParams } from './filters.ts';
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameError,
  type Vsn,
  VSN_1,
  VSN_2,
} from './protocol.ts';
import {
  type ClaimsGroup,
  type Image,
  PARALLEL,
  Rls,
  type Role,
  type TableMeta,
  type VisibilityCheck,
  walImage,
} from './rls.ts';

export interface RealtimeOptions {
  /** postgres superuser URL of the cluster (reads the wal2json slot, checks RLS per subscriber). */
  dbUrl: string;
  jwtSecret: string;
  /** Verification keys (default: the legacy secret only); ES256 tokens verify against them. */
  jwks?: Jwks;
  anonKey: string;
  serviceRoleKey: string;
  /**
   * Opaque API keys accepted as `?apikey=`. The hosted API Gateway verifies a WebSocket's key and
   * forwards a minted role JWT instead, and "Public Realtime connections are limited to 24 hours"
   * (supabase/supabase apps/docs/content/guides/api/api-keys.mdx): each such connection gets a
   * role JWT signed with `signingKey` that lives 24 hours, after which its channels close as on
   * any expired token unless the client sends a user's access token.
   */
  publishableKey?: string;
  secretKey?: string;
  signingKey?: SigningJwk;
  /** Publication whose tables are streamed (default supabase_realtime). */
  publication?: string;
  /** Idle poll interval of the slot in ms (default 10; an idle poll only reads the WAL position). */
  pollIdleMs?: number;
  log?: (msg: string) => void;
}

export interface RealtimeService {
  /** Handles /realtime/v1<subpath>, e.g. /websocket (websocket upgrade). */
  handler: RouteHandler;
  stop(): Promise<void>;
}

/** Frames above this are refused (close 1009), as the gateway caps HTTP bodies. */
const MAX_FRAME_BYTES = 1024 * 1024;
/** Realtime re-checks a channel's token at most this often (and at its expiry). */
const CONFIRM_TOKEN_MS = 5 * 60 * 1000;
/** Realtime's default max_channels_per_client. */
const MAX_CHANNELS = 100;
/** Lifetime of the role token behind an opaque-key connection (hosted: 24 h public connections). */
const PUBLIC_CONNECTION_SECONDS = 24 * 3600;
/** Realtime's max_record_bytes: bigger changes go out with only small values and an error. */
const MAX_RECORD_BYTES = 1024 * 1024;

interface Binding {
  id: number;
  params: SubscriptionParams;
  channel: Channel;
  tables: string[];
}

interface Channel {
  conn: Conn;
  topic: string;
  subTopic: string;
  joinRef: string | null;
  token: string;
  claims: Claims;
  group: ClaimsGroup;
  bindings: Binding[];
  timer?: ReturnType<typeof setTimeout>;
}

interface Conn {
  ws: WebSocket;
  vsn: Vsn;
  apikey: string | null;
  channels: Map<string, Channel>;
}

/** A stable small integer for a params map, as Realtime's :erlang.phash2(params) ids. */
function bindingId(raw: unknown): number {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as never)[k])]))
      : v;
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(canon(raw))) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7ffffff;
}

function groupFor(claims: Claims): ClaimsGroup {
  const claimsJson = JSON.stringify(claims);
  return { key: `${claims.role}:${claimsJson}`, role: claims.role as Role, claimsJson };
}

/** wal2json's "2026-11-22 01:35:09.1206+00" as Realtime's "2026-11-22T01:35:09.120Z". */
function commitTimestamp(ts: string): string {
  const m = ts.match(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d)(:?\d\d)?$/);
  if (!m) return ts;
  const frac = (m[3] ?? '.000').slice(0, 4).padEnd(4, '0');
  const off = `${m[4]}:${(m[5] ?? '00').replace(':', '')}`;
  const d = new Date(`${m[1]}T${m[2]}${frac}${off}`);
  return Number.isNaN(d.getTime()) ? ts : d.toISOString();
}

/** A role sees a table's changes only if it may read its primary key (Realtime's 401 otherwise). */
function pkSelectable(meta: TableMeta, role: Role): boolean {
  const pks = meta.columns.filter((c) => c.pk);
  return pks.length > 0 && pks.every((c) => c.select[role]);
}

const TYPES: Record<WalChange['action'], 'INSERT' | 'UPDATE' | 'DELETE'> = {
  I: 'INSERT',
  U: 'UPDATE',
  D: 'DELETE',
};

export async function startRealtime(opts: RealtimeOptions): Promise<RealtimeService> {
  const log = opts.log ?? ((m: string) => console.error(`[realtime] ${m}`));
  const publication = opts.publication ?? 'supabase_realtime';
  const key = jwtVerifier(opts.jwks ?? verificationJwks(opts.jwtSecret));
  const opaque = new Map<string, KeyRole>();
  if (opts.publishableKey) opaque.set(opts.publishableKey, 'anon');
  if (opts.secretKey) opaque.set(opts.secretKey, 'service_role');
  const mint = opts.signingKey ? roleTokenMinter(opts.signingKey, PUBLIC_CONNECTION_SECONDS) : null;
  const sql = postgres(opts.dbUrl, {
    max: PARALLEL + 2,
    onnotice: () => {},
    connection: { application_name: 'switchboard realtime', timezone: 'UTC' },
  });
  const rls = new Rls(sql, log);
  const conns = new Set<Conn>();
  /** "schema.table" → bindings listening to it. */
  const byTable = new Map<string, Set<Binding>>();

  // ---- sending ---------------------------------------------------------------------------------
  function send(conn: Conn, f: Omit<Frame, 'payload'>, payload: unknown, payloadJson?: string) {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    try {
      conn.ws.send(encodeFrame(conn.vsn, f, payload, payloadJson));
    } catch (e) {
      log(`send failed: ${(e as Error).message}`);
    }
  }
  const reply = (conn: Conn, f: Frame, status: 'ok' | 'error', response: unknown) =>
    send(conn, { join_ref: f.join_ref, ref: f.ref, topic: f.topic, event: 'phx_reply' }, {
      status,
      response,
    });
  const system = (ch: Channel, extension: string, status: 'ok' | 'error', message: string) =>
    send(ch.conn, { join_ref: ch.joinRef, ref: null, topic: ch.topic, event: 'system' }, {
      extension,
      status,
      message,
      channel: ch.subTopic,
    });

  // ---- channel lifecycle -----------------------------------------------------------------------
  function unregister(ch: Channel) {
    clearTimeout(ch.timer);
    for (const b of ch.bindings) {
      for (const t of b.tables) byTable.get(t)?.delete(b);
    }
    ch.bindings = [];
    if (ch.conn.channels.get(ch.topic) === ch) ch.conn.channels.delete(ch.topic);
  }

  /** Ends a channel as Phoenix does when it stops normally: phx_close to the client. */
  function closeChannel(ch: Channel) {
    unregister(ch);
    send(
      ch.conn,
      { join_ref: ch.joinRef, ref: ch.joinRef, topic: ch.topic, event: 'phx_close' },
      {},
    );
  }

  /** Realtime's shutdown_response: a system error, then the channel stops. */
  function shutdown(ch: Channel, message: string) {
    system(ch, 'system', 'error', message);
    closeChannel(ch);
  }

  function scheduleTokenCheck(ch: Channel) {
    clearTimeout(ch.timer);
    const ms = Math.max(0, Math.min(CONFIRM_TOKEN_MS, ch.claims.exp * 1000 - Date.now()));
    ch.timer = setTimeout(async () => {
      const r = await verifyToken(ch.token, key);
      if (!r.ok) shutdown(ch, r.message);
      else scheduleTokenCheck(ch);
    }, ms);
  }

  function paramsToLog(p: SubscriptionParams) {
    return `event: ${p.event}, schema: ${p.schema}, table: ${p.table}, filters: ${
      JSON.stringify(p.filters.map((f) => [f.column, f.op, f.value, f.negate]))
    }, select: ${p.select ? JSON.stringify(p.select) : 'nil'}`;
  }

  /** Resolves a binding to publication tables and validates its filters; an error text or null. */
  async function resolve(b: Binding, role: Role): Promise<string | null> {
    const p = b.params;
    const tables = await rls.publicationTables(publication, p.schema, p.table);
    if (!tables.length) {
      return `Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: [${
        paramsToLog(p)
      }]`;
    }
    for (const t of tables) {
      const meta = await rls.table(t.schemaname, t.tablename, true);
      if (!meta) continue;
      const problems: string[] = [];
      for (const f of p.filters) {
        const col = meta.byName.get(f.column);
        if (!col || !col.select[role]) {
          problems.push(`invalid column for filter ${f.column}`);
          continue;
        }
        for (const v of f.op === 'in' ? f.values ?? [] : [f.value]) {
          const err = await rls.castable(col, v);
          if (err) problems.push(err);
        }
      }
      for (const c of p.select ?? []) {
        if (!meta.byName.get(c)?.select[role]) problems.push(`invalid column for select ${c}`);
      }
      if (problems.length) {
        return `Unable to subscribe to changes with given parameters. An exception happened so please check your connect parameters: [${
          paramsToLog(p)
        }]. Exception: ${problems[0]}`;
      }
    }
    b.tables = tables.map((t) => `${t.schemaname}.${t.tablename}`);
    return null;
  }

  async function join(conn: Conn, f: Frame) {
    const subTopic = f.topic.slice('realtime:'.length);
    if (subTopic === '') {
      return reply(conn, f, 'error', {
        reason: 'TopicNameRequired: You must provide a topic name',
      });
    }
    // Phoenix: joining a topic again replaces the previous join.
    const previous = conn.channels.get(f.topic);
    if (previous) closeChannel(previous);
    if (conn.channels.size >= MAX_CHANNELS) {
      return reply(conn, f, 'error', { reason: 'ChannelRateLimitReached: Too many channels' });
    }

    const payload = f.payload;
    let token = payload.access_token ?? payload.user_token ?? conn.apikey;
    if (typeof token === 'string' && token.startsWith('sb_')) token = conn.apikey;
    const auth = await verifyToken(token, key);
    if (!auth.ok) return reply(conn, f, 'error', { reason: `${auth.code}: ${auth.message}` });

    const config = (payload.config ?? {}) as Record<string, unknown>;
    const rawChanges = Array.isArray(config.postgres_changes)
      ? config.postgres_changes.filter((p) => p !== null && p !== undefined)
      : [];
    const ch: Channel = {
      conn,
      topic: f.topic,
      subTopic,
      joinRef: f.join_ref ?? f.ref,
      token: token as string,
      claims: auth.claims,
      group: groupFor(auth.claims),
      bindings: [],
    };
    conn.channels.set(f.topic, ch);
    scheduleTokenCheck(ch);

    // Subscriptions are live before the reply, so a client that writes right after SUBSCRIBED
    // sees its change (hosted Realtime needs `postgres_changes_options.wait` for that).
    let error: string | null = null;
    const bindings: Binding[] = [];
    for (const raw of rawChanges) {
      const parsed = parseParams(raw);
      if (!parsed.ok) {
        error ??= parsed.message;
        continue;
      }
      const b: Binding = { id: bindingId(raw), params: parsed.params, channel: ch, tables: [] };
      try {
        const err = await resolve(b, ch.group.role);
        if (err) error ??= err;
        else bindings.push(b);
      } catch (e) {
        error ??= `Unable to subscribe to changes with given parameters: ${(e as Error).message}`;
      }
    }
    if (conn.channels.get(f.topic) !== ch) return; // left or rejoined meanwhile
    if (error) {
      // Realtime subscribes all of a channel's bindings in one transaction: one bad binding and
      // none is live.
      reply(conn, f, 'ok', {
        postgres_changes: rawChanges.map((raw) => ({ ...(raw as object), id: bindingId(raw) })),
      });
      system(ch, 'postgres_changes', 'error', error);
      return;
    }
    ch.bindings = bindings;
    for (const b of bindings) {
      for (const t of b.tables) {
        if (!byTable.has(t)) byTable.set(t, new Set());
        byTable.get(t)!.add(b);
      }
    }
    reply(conn, f, 'ok', {
      postgres_changes: rawChanges.map((raw) => ({ ...(raw as object), id: bindingId(raw) })),
    });
    if (rawChanges.length) {
      system(ch, 'postgres_changes', 'ok', 'Subscribed to PostgreSQL');
      capture.wake();
    }
  }

  async function accessToken(ch: Channel, f: Frame) {
    const token = f.payload.access_token;
    if (typeof token !== 'string' || token.startsWith('sb_') || token === ch.token) return;
    const r = await verifyToken(token, key);
    if (ch.conn.channels.get(ch.topic) !== ch) return;
    if (!r.ok) return shutdown(ch, r.message);
    ch.token = token;
    ch.claims = r.claims;
    ch.group = groupFor(r.claims);
    // The new claims may widen or narrow what filters can see: re-validate them.
    for (const b of ch.bindings) {
      const err = await resolve(b, ch.group.role).catch((e) => (e as Error).message);
      if (err) return shutdown(ch, err);
    }
    scheduleTokenCheck(ch);
  }

  async function onFrame(conn: Conn, f: Frame) {
    if (f.topic === 'phoenix') {
      if (f.event === 'heartbeat') return reply(conn, f, 'ok', {});
      return reply(conn, f, 'error', { reason: 'unmatched topic' });
    }
    if (f.event === 'phx_join') {
      if (!f.topic.startsWith('realtime:')) {
        return reply(conn, f, 'error', { reason: 'unmatched topic' });
      }
      return await join(conn, f);
    }
    const ch = conn.channels.get(f.topic);
    if (!ch || (f.join_ref !== null && f.join_ref !== ch.joinRef)) {
      return reply(conn, f, 'error', { reason: 'unmatched topic' });
    }
    switch (f.event) {
      case 'phx_leave':
        reply(conn, f, 'ok', {});
        return closeChannel(ch);
      case 'access_token':
        return await accessToken(ch, f);
      case 'broadcast':
      case 'presence':
        return reply(conn, f, 'error', {
          reason: `${f.event} is not supported by the local stack (postgres_changes only)`,
        });
      default:
        // Realtime ignores unexpected client events.
        return;
    }
  }

  // ---- dispatch --------------------------------------------------------------------------------
  async function dispatch(changes: WalChange[]) {
    interface Work {
      change: WalChange;
      meta: TableMeta;
      type: 'INSERT' | 'UPDATE' | 'DELETE';
      candidates: Binding[];
      newImage?: Image;
      oldImage?: Image;
    }
    const work: Work[] = [];
    const images: Image[] = [];
    for (const change of changes) {
      const type = TYPES[change.action];
      const subs = byTable.get(`${change.schema}.${change.table}`);
      if (!subs?.size) continue;
      const candidates = [...subs].filter((b) => b.params.event === '*' || b.params.event === type);
      if (!candidates.length) continue;
      const meta = await rls.table(change.schema, change.table);
      if (!meta) continue;
      const w: Work = { change, meta, type, candidates };
      const nv = walImage(change.columns);
      const ov = walImage(change.identity);
      if (nv) images.push(w.newImage = { idx: images.length, meta, values: nv });
      if (ov) images.push(w.oldImage = { idx: images.length, meta, values: ov });
      work.push(w);
    }
    if (!work.length) return;
    const typed = await rls.typeImages(images);

    const pick = (im: Image | undefined) => {
      if (!im) return undefined;
      const all = typed.get(im.idx);
      if (!all) return undefined;
      // Only the columns the WAL carried (an unchanged TOASTed value is absent from the new image).
      return Object.fromEntries(Object.keys(im.values).map((k) => [k, all[k] ?? null]));
    };

    // Filters first (cheap, in memory), then one RLS round trip for what is left.
    const checks = new Map<string, VisibilityCheck>();
    const passing: {
      w: Work;
      record?: Record<string, unknown>;
      old?: Record<string, unknown>;
      subs: Binding[];
    }[] = [];
    for (const w of work) {
      const record = pick(w.newImage);
      let old = pick(w.oldImage);
      if (record && old && w.type === 'UPDATE') {
        for (const k of Object.keys(old)) if (!(k in record)) record[k] = old[k];
      }
      if (w.type === 'DELETE' ? !old : !record) continue; // could not be typed
      const types = new Map(w.meta.columns.map((c) => [c.name, c.type]));
      const subs = w.candidates.filter((b) =>
        (record && matches(b.params.filters, record, types)) ||
        (w.type === 'DELETE' && old && matches(b.params.filters, old, types))
      );
      if (!subs.length) continue;
      for (const b of subs) {
        const g = b.channel.group;
        if (!w.meta.rls || w.meta.bypass[g.role]) continue;
        if (!pkSelectable(w.meta, g.role)) continue;
        let c = checks.get(g.key);
        if (!c) checks.set(g.key, c = { group: g, images: [] });
        const im = w.type === 'DELETE' ? w.oldImage : w.newImage;
        if (im && !c.images.includes(im)) c.images.push(im);
      }
      if (w.type === 'DELETE' && old && w.meta.rls) {
        // Realtime cannot secure a deleted row's values: only the primary key goes out.
        const pks = new Set(w.meta.columns.filter((c) => c.pk).map((c) => c.name));
        old = Object.fromEntries(Object.entries(old).filter(([k]) => pks.has(k)));
      }
      passing.push({ w, record, old, subs });
    }
    if (!passing.length) return;
    const visible = await rls.visible([...checks.values()]);

    for (const { w, record, old, subs } of passing) {
      const { meta, change, type } = w;
      const im = type === 'DELETE' ? w.oldImage : w.newImage;
      const canSee = (b: Binding) => {
        const g = b.channel.group;
        if (!pkSelectable(meta, g.role)) return false;
        if (!meta.rls || meta.bypass[g.role]) return true;
        return !!im && !!visible.get(g.key)?.has(im.idx);
      };
      // One data object per role and column selection, serialised once.
      const dataCache = new Map<string, string>();
      const dataFor = (role: Role, select: string[] | null) => {
        const k = `${role}|${select?.join(',') ?? ''}`;
        let s = dataCache.get(k);
        if (s) return s;
        const keep = (c: { name: string; pk: boolean; select: Record<Role, boolean> }) =>
          c.select[role] && (!select || select.includes(c.name) || c.pk);
        const allowed = new Set(meta.columns.filter(keep).map((c) => c.name));
        const oversized = change.bytes > MAX_RECORD_BYTES;
        const trim = (r?: Record<string, unknown>) =>
          r &&
          Object.fromEntries(
            Object.entries(r).filter(([k, v]) =>
              allowed.has(k) && (!oversized || JSON.stringify(v).length <= 64)
            ),
          );
        const data: Record<string, unknown> = {
          schema: change.schema,
          table: change.table,
          commit_timestamp: commitTimestamp(change.timestamp),
          type,
          columns: meta.columns.filter(keep).map((c) => ({ name: c.name, type: c.type })),
          errors: oversized ? ['Error 413: Payload Too Large'] : null,
        };
        if (type !== 'DELETE') data.record = trim(record) ?? {};
        if (type !== 'INSERT') data.old_record = trim(old) ?? {};
        s = JSON.stringify(data);
        dataCache.set(k, s);
        return s;
      };
      const byChannel = new Map<Channel, Binding[]>();
      for (const b of subs) {
        if (!canSee(b)) continue;
        byChannel.set(b.channel, [...(byChannel.get(b.channel) ?? []), b]);
      }
      for (const [ch, bs] of byChannel) {
        if (ch.conn.channels.get(ch.topic) !== ch) continue;
        const ids = [...new Set(bs.map((b) => b.id))];
        const data = dataFor(ch.group.role, bs[0].params.select);
        send(
          ch.conn,
          { join_ref: null, ref: null, topic: ch.topic, event: 'postgres_changes' },
          undefined,
          `{"ids":${JSON.stringify(ids)},"data":${data}}`,
        );
      }
    }
  }

  const capture = new Capture({
    dbUrl: opts.dbUrl,
    publication,
    idleMs: opts.pollIdleMs,
    listening: () => [...byTable.values()].some((subs) => subs.size > 0),
    log,
    onChanges: (changes) =>
      dispatch(changes).catch((e) => log(`dispatch failed: ${(e as Error).stack ?? e}`)),
  });
  try {
    await capture.start();
  } catch (e) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw new Error(`realtime could not create its replication slot: ${(e as Error).message}`);
  }

  // ---- websocket endpoint ----------------------------------------------------------------------
  const handler: RouteHandler = async (req, subpath) => {
    if (subpath !== '/websocket' && subpath !== '/websocket/') {
      return json(404, {
        message: 'Not found: the local stack serves /realtime/v1/websocket only',
      });
    }
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') {
      return json(400, { error: 'Expected a websocket upgrade' });
    }
    const url = new URL(req.url);
    const vsnParam = url.searchParams.get('vsn') ?? VSN_1;
    if (vsnParam !== VSN_1 && vsnParam !== VSN_2) {
      return json(403, { error: `Unsupported serializer version ${vsnParam}` });
    }
    const sent = req.headers.get('x-api-key') ?? url.searchParams.get('apikey');
    if (!sent) return json(401, { error: 'API key is missing' });
    const role = opaque.get(sent);
    const legacy = role === 'anon' ? opts.anonKey : opts.serviceRoleKey;
    const apikey = !role ? sent : mint ? await mint(role) : legacy;
    if (!apikey.startsWith('sb_')) {
      const r = await verifyToken(apikey, key);
      if (!r.ok) return json(401, { error: r.message });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    const conn: Conn = { ws: socket, vsn: vsnParam, apikey, channels: new Map() };
    // Frames of one socket are handled in order, each after the previous one's database work.
    let queue = Promise.resolve();
    socket.onopen = () => conns.add(conn);
    socket.onmessage = (ev) => {
      const data = ev.data as string | ArrayBuffer;
      const size = typeof data === 'string' ? data.length : data.byteLength;
      if (size > MAX_FRAME_BYTES) {
        socket.close(1009, 'frame too large');
        return;
      }
      let frame: Frame;
      try {
        frame = decodeFrame(conn.vsn, data);
      } catch (e) {
        const fe = e as FrameError;
        // A readable ref gets an error reply; anything else ends the socket, as Phoenix's
        // serializer failing would.
        if (fe.partial?.ref && fe.partial.topic) {
          reply(conn, { ...fe.partial, payload: {} } as Frame, 'error', { reason: fe.message });
        } else socket.close(1003, `invalid frame: ${fe.message}`.slice(0, 120));
        return;
      }
      queue = queue.then(() => onFrame(conn, frame)).catch((e) => {
        log(`frame ${frame.event} on ${frame.topic} failed: ${(e as Error).message}`);
        if (frame.ref) reply(conn, frame, 'error', { reason: 'Unknown Error on Channel' });
      });
    };
    const gone = () => {
      conns.delete(conn);
      for (const ch of [...conn.channels.values()]) unregister(ch);
    };
    socket.onclose = gone;
    socket.onerror = () => {};
    return response;
  };

  return {
    handler,
    stop: async () => {
      for (const conn of conns) {
        for (const ch of [...conn.channels.values()]) unregister(ch);
        try {
          conn.ws.close(1001, 'server stopping');
        } catch {
          // already closed
        }
      }
      conns.clear();
      await capture.stop();
      await sql.end({ timeout: 2 }).catch(() => {});
    },
  };
}
