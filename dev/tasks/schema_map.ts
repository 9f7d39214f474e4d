// docs/schema.sql, the schema map: what the app's schemas (public, private) are after every
// migration, read as a map rather than as history. `deno task types` writes it and the test run's
// schema suite fails while the committed file is stale, like the generated types.
//
// The text is `pg_dump --schema-only --no-owner` of those schemas (so every statement is Postgres's
// own rendering of the catalog), cut into its TOC entries and regrouped the way Rails'
// structure.sql reads and basejump's files are sectioned: each table with its comments,
// constraints, indexes, row security, policies, triggers, grants and the functions that belong to
// it. A function belongs to a table when one of its triggers runs it, else when it returns that
// table's row type or takes it as first argument, else when it writes (insert, update, delete)
// only that table of ours, else when it reads (from, join) only that one. The rest sit per schema
// at the end. Then the Realtime publication's tables and the pg_cron jobs (set by migrations too).
//
// Noise that would differ between machines or runs is dropped: pg_dump's \restrict keys (random per
// run since PostgreSQL 15.14), its version lines and session SETs, and the default privileges that
// come with the Supabase image rather than from a migration. The regrouped file is for reading and
// diffing; the migrations stay what is applied (a function may now appear after a table using it).
import { type Cluster, psql } from '../stack/postgres.ts';
import { ROOT } from '../stack/database.ts';

export const SCHEMA_FILE = `${ROOT}/docs/schema.sql`;
const SCHEMAS = ['public', 'private'];

interface Entry {
  name: string;
  type: string;
  schema: string;
  body: string;
}

/** pg_dump's plain output cut at its `-- Name: …; Type: …; Schema: …; Owner: …` headers. */
export function parseDump(dump: string): Entry[] {
  const header = /^--\n-- Name: (.*); Type: (.*); Schema: (.*); Owner: .*\n--\n/gm;
  const marks = [...dump.matchAll(header)];
  return marks.map((m, i) => {
    const end = i + 1 < marks.length ? marks[i + 1].index! : dump.length;
    const body = dump.slice(m.index! + m[0].length, end)
      .replace(/^\\(un)?restrict .*$/gm, '')
      // Session settings pg_dump puts before the first table, not part of any object.
      .replace(/^SET default_(tablespace|table_access_method) = .*;$/gm, '')
      .replace(/^--\n-- PostgreSQL database dump complete\n--\n/m, '')
      .trim();
    return { name: m[1], type: m[2], schema: m[3], body };
  });
}

/** The table (schema.name) an entry is about, or null for functions and schema-level entries. */
function tableOf(e: Entry): string | null {
  const q = (t: string) => `${e.schema}.${t}`;
  switch (e.type) {
    case 'TABLE':
    case 'ROW SECURITY':
      return q(e.name);
    case 'SEQUENCE': {
      const m = e.body.match(/^ALTER TABLE (\S+) /m) ??
        e.body.match(/OWNED BY ([^.\s]+\.[^.\s]+)\./);
      return m ? m[1] : null;
    }
    case 'DEFAULT':
    case 'CONSTRAINT':
    case 'FK CONSTRAINT':
    case 'TRIGGER':
    case 'POLICY':
      return q(e.name.split(' ')[0]);
    case 'INDEX': {
      const m = e.body.match(/ ON (?:ONLY )?(\S+) USING /);
      return m ? m[1] : null;
    }
    case 'COMMENT':
    case 'ACL': {
      const m = e.name.match(/^(TABLE|COLUMN) ([^.(\s]+)/);
      return m ? q(m[2]) : null;
    }
  }
  return null;
}

/** The function (schema.name(args)) a COMMENT or ACL entry is about, or the FUNCTION's own. */
function functionOf(e: Entry): string | null {
  if (e.type === 'FUNCTION') return `${e.schema}.${e.name}`;
  if ((e.type === 'COMMENT' || e.type === 'ACL') && e.name.startsWith('FUNCTION ')) {
    return `${e.schema}.${e.name.slice('FUNCTION '.length)}`;
  }
  return null;
}

// Within a table's section: definition first, then what hangs off it, in a fixed order.
const RANK = [
  'TABLE',
  'COMMENT',
  'SEQUENCE',
  'DEFAULT',
  'CONSTRAINT',
  'FK CONSTRAINT',
  'INDEX',
  'ROW SECURITY',
  'POLICY',
  'TRIGGER',
  'ACL',
];
const rank = (e: Entry) => {
  const i = RANK.indexOf(e.type);
  return i < 0 ? RANK.length : i;
};

/** The catalog's answer to "which table does each function belong to" (see the header). */
export async function functionHomes(cluster: Cluster): Promise<Map<string, string>> {
  const list = SCHEMAS.map((s) => `'${s}'`).join(', ');
  // pg_dump names functions with search_path '' (types schema-qualified); so does this query.
  const sql = `set search_path = '';
    with tabs as (
      select c.oid, c.reltype, n.nspname || '.' || c.relname as name,
        '\\m' || n.nspname || '\\.' || c.relname || '\\M' as pattern
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'v') and n.nspname in (${list})
    ), funcs as (
      select p.oid, n.nspname || '.' || p.proname || '(' ||
        oidvectortypes(p.proargtypes) || ')' as sig, p.prosrc,
        p.proargtypes as argtypes, p.prorettype as rettype
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in (${list})
    )
    select f.sig, coalesce(
      (select min(t.name) from pg_trigger g join tabs t on t.oid = g.tgrelid
        where g.tgfoid = f.oid and not g.tgisinternal),
      (select t.name from tabs t where t.reltype = f.rettype),
      (select t.name from tabs t where t.reltype = f.argtypes[0]),
      (select min(t.name) from tabs t
        where f.prosrc ~* ('(insert\\s+into|update|delete\\s+from)\\s+' || t.pattern)
        having count(*) = 1),
      (select min(t.name) from tabs t where f.prosrc ~* ('(from|join)\\s+' || t.pattern)
        having count(*) = 1)
    ) as home
    from funcs f order by f.sig`;
  const out = await psql(cluster, { sql }, ['-tA', '-F', '\t']);
  const homes = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sig, home] = line.split('\t');
    if (sig && home) homes.set(sig, home);
  }
  return homes;
}

async function extraSections(cluster: Cluster): Promise<string[]> {
  const pub = await psql(cluster, {
    sql: `select schemaname || '.' || tablename from pg_publication_tables
          where pubname = 'supabase_realtime' order by 1`,
  }, ['-tA']);
  const cron = await psql(cluster, {
    sql: `select format('-- %s  [%s]%s%s', jobname, schedule, E'\\n', command)
          from cron.job order by jobname`,
  }, ['-tA']);
  const tables = pub.split('\n').filter(Boolean);
  return [
    section('Realtime: tables in publication supabase_realtime'),
    tables.length
      ? `ALTER PUBLICATION supabase_realtime ADD TABLE ${tables.join(', ')};`
      : '-- (none)',
    section('pg_cron jobs (cron.job: name [schedule] and command)'),
    cron.trim() || '-- (none)',
  ];
}

function section(title: string): string {
  const rule = '-- ' + '='.repeat(97);
  return `\n${rule}\n-- ${title}\n${rule}`;
}

/** Regroups pg_dump's entries into the map's sections (pure, so it can be tested alone). */
export function arrange(entries: Entry[], homes: Map<string, string>): string[] {
  const kept = entries.filter((e) => e.type !== 'DEFAULT ACL');
  const byTable = new Map<string, Entry[]>();
  const byFunction = new Map<string, Entry[]>();
  const schemaLevel: Entry[] = [];
  for (const e of kept) {
    const fn = functionOf(e);
    const table = fn ? null : tableOf(e);
    if (fn) byFunction.set(fn, [...(byFunction.get(fn) ?? []), e]);
    else if (table) byTable.set(table, [...(byTable.get(table) ?? []), e]);
    else schemaLevel.push(e);
  }
  const render = (list: Entry[]) => list.map((e) => e.body).filter(Boolean).join('\n\n');
  const out = [section('Schemas'), render(schemaLevel)];
  const tableFunctions = new Map<string, string[]>();
  const loose = new Map<string, string[]>();
  for (const sig of [...byFunction.keys()].sort()) {
    const home = homes.get(sig);
    const bucket = home && byTable.has(home) ? tableFunctions : loose;
    const key = home && byTable.has(home) ? home : sig.split('.')[0];
    bucket.set(key, [...(bucket.get(key) ?? []), sig]);
  }
  for (const table of [...byTable.keys()].sort()) {
    const own = byTable.get(table)!.map((e, i) => ({ e, i }))
      .sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i).map((x) => x.e);
    out.push(section(`Table ${table}`), render(own));
    for (const sig of tableFunctions.get(table) ?? []) out.push(render(byFunction.get(sig)!));
  }
  for (const schema of [...loose.keys()].sort()) {
    out.push(section(`Functions in ${schema} that span several tables (or none)`));
    for (const sig of loose.get(schema)!) out.push(render(byFunction.get(sig)!));
  }
  return out;
}

/** The whole map for a migrated cluster. */
export async function generateSchemaMap(cluster: Cluster): Promise<string> {
  const cmd = new Deno.Command(`${cluster.bin}/pg_dump`, {
    args: [
      '--schema-only',
      '--no-owner',
      ...SCHEMAS.flatMap((s) => ['--schema', s]),
      cluster.url(),
    ],
    stdout: 'piped',
    stderr: 'piped',
  });
  const res = await cmd.output();
  if (!res.success) throw new Error(`pg_dump failed: ${new TextDecoder().decode(res.stderr)}`);
  const entries = parseDump(new TextDecoder().decode(res.stdout));
  const body = [
    ...arrange(entries, await functionHomes(cluster)),
    ...(await extraSections(cluster)),
  ];
  const header = [
    '-- Generated by `deno task types` (dev/tasks/schema_map.ts) from a freshly migrated database.',
    '-- Do not edit: write a migration, then regenerate. The schema suite fails while it is stale.',
    `-- Schemas ${SCHEMAS.join(', ')}, as pg_dump --schema-only renders them, regrouped so each`,
    '-- table sits with its indexes, policies, triggers, grants and functions. For reading: the',
    '-- migrations are what is applied.',
  ];
  return header.join('\n') + '\n' + body.join('\n\n').replace(/\n{3,}/g, '\n\n').trimEnd() +
    '\n';
}
