// postgres_changes subscription params as Supabase Realtime parses them
// (Extensions.PostgresCdcRls.Subscriptions.parse_subscription_params): event, schema, table and a
// PostgREST-style filter `col=op.value[,col=op.value…]` (AND), each op optionally `not.`-negated.
// Supported ops: eq, neq, lt, lte, gt, gte, in. Values are compared in TypeScript against the row
// as to_jsonb typed it (see compare()), which matches Postgres for the types the app filters on
// (uuid, text, numbers, booleans, timestamps).

export type Op = 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte' | 'in';
const OPS = new Set<Op>(['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in']);

export interface Filter {
  column: string;
  op: Op;
  /** Raw value; for `in` the list items. */
  value: string;
  values?: string[];
  negate: boolean;
}

export interface SubscriptionParams {
  event: '*' | 'INSERT' | 'UPDATE' | 'DELETE';
  schema: string;
  /** '*' for every table of the schema in the publication. */
  table: string;
  filters: Filter[];
  select: string[] | null;
}

export type Parsed = { ok: true; params: SubscriptionParams } | { ok: false; message: string };

/** Splits on commas outside double quotes and parentheses. */
function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\' && i + 1 < s.length) {
        cur += c + s[++i];
        continue;
      }
      if (c === '"') quoted = false;
      cur += c;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return v;
}

function parseSegment(seg: string): Filter | string {
  const m = seg.match(/^([^=]+)=(.*)$/s);
  if (!m) return JSON.stringify([seg]);
  const column = m[1].trim();
  let rest = m[2];
  let negate = false;
  if (rest.startsWith('not.')) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  const op = (dot < 0 ? rest : rest.slice(0, dot)) as Op;
  const raw = dot < 0 ? '' : rest.slice(dot + 1);
  if (!OPS.has(op) || dot < 0) return JSON.stringify(dot < 0 ? [rest] : [op, raw]);
  if (op === 'in') {
    const inner = raw.match(/^\((.*)\)$/s);
    if (!inner) return JSON.stringify([op, raw]);
    const values = inner[1] === '' ? [] : splitTopLevel(inner[1]).map((v) => unquote(v.trim()));
    return { column, op, value: raw, values, negate };
  }
  return { column, op, value: unquote(raw), negate };
}

export function parseParams(input: unknown): Parsed {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      message:
        'No subscription params provided. Please provide at least a `schema` or `table` to subscribe to: ' +
        JSON.stringify(input),
    };
  }
  const p = input as Record<string, unknown>;
  const ev = typeof p.event === 'string' ? p.event.toUpperCase() : '*';
  const event =
    (['INSERT', 'UPDATE', 'DELETE'].includes(ev) ? ev : '*') as SubscriptionParams['event'];
  let select: string[] | null = null;
  if (p.select !== undefined) {
    if (!Array.isArray(p.select)) {
      return {
        ok: false,
        message:
          'Error parsing `select` params: expected a list of column name strings, e.g. select: ["col1", "col2"]',
      };
    }
    const cols = p.select.filter((c): c is string => typeof c === 'string');
    select = cols.length ? cols : null;
  }
  const hasSchema = typeof p.schema === 'string';
  const hasTable = typeof p.table === 'string';
  if (!hasSchema && !hasTable) {
    return {
      ok: false,
      message:
        'No subscription params provided. Please provide at least a `schema` or `table` to subscribe to: ' +
        JSON.stringify(input),
    };
  }
  const schema = hasSchema ? p.schema as string : 'public';
  const table = hasTable ? p.table as string : '*';
  if (select && (schema === '*' || table === '*')) {
    return {
      ok: false,
      message:
        'Column selection is not supported for wildcard subscriptions. Provide an explicit schema and table name.',
    };
  }
  const filters: Filter[] = [];
  if (p.filter !== undefined && p.filter !== null) {
    if (typeof p.filter !== 'string') {
      return {
        ok: false,
        message: `Error parsing \`filter\` params: ${JSON.stringify([p.filter])}`,
      };
    }
    const trimmed = p.filter.trim();
    if (trimmed !== '') {
      for (const seg of splitTopLevel(trimmed)) {
        const f = parseSegment(seg.trim());
        if (typeof f === 'string') {
          return { ok: false, message: `Error parsing \`filter\` params: ${f}` };
        }
        filters.push(f);
      }
    }
  }
  return { ok: true, params: { event, schema, table, filters, select } };
}

const NUMERIC = new Set(['int2', 'int4', 'int8', 'float4', 'float8', 'numeric', 'oid', 'money']);
const TIME = new Set(['timestamptz', 'timestamp', 'date']);

/** Compares a to_jsonb-typed column value with a filter literal: <0, 0, >0, or null if unknown. */
function compare(typ: string, v: unknown, lit: string): number | null {
  if (v === null || v === undefined) return null;
  if (NUMERIC.has(typ)) {
    const a = Number(v);
    const b = Number(lit);
    if (Number.isNaN(a) || Number.isNaN(b)) return null;
    return a === b ? 0 : a < b ? -1 : 1;
  }
  if (typ === 'bool') {
    const b = ['t', 'true', 'y', 'yes', 'on', '1'].includes(lit.toLowerCase());
    return v === b ? 0 : v ? 1 : -1;
  }
  if (TIME.has(typ)) {
    const a = Date.parse(String(v));
    const b = Date.parse(lit.includes(' ') ? lit.replace(' ', 'T') : lit);
    if (Number.isNaN(a) || Number.isNaN(b)) return null;
    return a === b ? 0 : a < b ? -1 : 1;
  }
  const a = typ === 'uuid'
    ? String(v).toLowerCase()
    : typeof v === 'string'
    ? v
    : JSON.stringify(v);
  const b = typ === 'uuid' ? lit.toLowerCase() : lit;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** True when the typed record passes every filter (a missing column fails, as in Realtime). */
export function matches(
  filters: Filter[],
  record: Record<string, unknown>,
  types: Map<string, string>,
): boolean {
  for (const f of filters) {
    if (!(f.column in record)) return false;
    const typ = types.get(f.column) ?? 'text';
    const v = record[f.column];
    let ok: boolean;
    if (f.op === 'in') {
      ok = (f.values ?? []).some((lit) => compare(typ, v, lit) === 0);
    } else {
      const c = compare(typ, v, f.value);
      if (c === null) ok = false;
      else {
        ok = f.op === 'eq'
          ? c === 0
          : f.op === 'neq'
          ? c !== 0
          : f.op === 'lt'
          ? c < 0
          : f.op === 'lte'
          ? c <= 0
          : f.op === 'gt'
          ? c > 0
          : c >= 0;
      }
    }
    if (f.negate ? ok : !ok) return false;
  }
  return true;
}
