// What each subscriber may see, decided by Postgres itself, in one round trip per batch.
//
// * Column values are typed as Supabase's realtime.apply_rls types them (to_jsonb of the value cast
//   to its column type), by jsonb_populate_record over the WAL image.
// * Row visibility: hosted Realtime looks the row up by primary key under the subscriber's role
//   and claims when it processes the change, so a row already updated or deleted by then is judged
//   by its later state (or missed), and it cannot check deletes at all (it sends their primary key
//   to everyone whose filter matches). Here the table's SELECT policies for the subscriber's role,
//   combined as Postgres combines them (permissive OR'd, restrictive AND'd), are evaluated by
//   Postgres under that role and `request.jwt.claims` on the row image the change committed: the
//   new row for INSERT/UPDATE, the old row for DELETE (complete thanks to REPLICA IDENTITY FULL;
//   without it the missing columns are null and the check fails closed). So a subscriber gets a
//   change only if it could have selected that very row version. Deletes still carry only the
//   primary key, as on hosted Realtime.
// * A role without SELECT on the primary key sees nothing (hosted Realtime sends it an
//   "Error 401: Unauthorized" payload, which reveals that a change happened).
// All checks for all subscribers' distinct claims go in one multi-statement transaction.
import postgres from 'postgres';
import type { WalChange, WalColumn } from './capture.ts';

export type Role = 'anon' | 'authenticated' | 'service_role';
const ROLES: Role[] = ['anon', 'authenticated', 'service_role'];

export interface ColumnMeta {
  name: string;
  /** pg_type.typname, as Realtime's `columns` reports it (uuid, text, int4, timestamptz, _text…). */
  type: string;
  /** format_type(): usable in a cast. */
  sqltype: string;
  pk: boolean;
  select: Record<Role, boolean>;
}

export interface TableMeta {
  schema: string;
  table: string;
  rls: boolean;
  columns: ColumnMeta[];
  byName: Map<string, ColumnMeta>;
  tableSelect: Record<Role, boolean>;
  bypass: Record<Role, boolean>;
  /** The role's SELECT policies combined as Postgres combines them (null: nothing passes). */
  selectQual: Record<Role, string | null>;
  fetchedAt: number;
}

export const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
export const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
const CACHE_MS = 1000;
/** Connections used at once for visibility checks, and the fewest groups worth one of them. */
export const PARALLEL = 4;
const GROUPS_PER_PART = 8;

const META_SQL = `
  select c.relrowsecurity as rls,
    coalesce((
      select json_agg(json_build_object(
        'name', a.attname, 'type', t.typname, 'sqltype', format_type(a.atttypid, a.atttypmod),
        'pk', coalesce(a.attnum = any(pk.conkey), false),
        'anon', has_column_privilege('anon', c.oid, a.attnum, 'SELECT'),
        'authenticated', has_column_privilege('authenticated', c.oid, a.attnum, 'SELECT'),
        'service_role', has_column_privilege('service_role', c.oid, a.attnum, 'SELECT')
      ) order by a.attnum)
      from pg_attribute a
      join pg_type t on t.oid = a.atttypid
      left join pg_constraint pk on pk.conrelid = c.oid and pk.contype = 'p'
      where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    ), '[]') as columns,
    json_build_object(
      'anon', has_table_privilege('anon', c.oid, 'SELECT'),
      'authenticated', has_table_privilege('authenticated', c.oid, 'SELECT'),
      'service_role', has_table_privilege('service_role', c.oid, 'SELECT')
    ) as table_select,
    (select json_object_agg(r.rolname, r.rolbypassrls or r.rolsuper) from pg_roles r
      where r.rolname in ('anon', 'authenticated', 'service_role')) as bypass,
    coalesce((
      select json_agg(json_build_object(
        'permissive', p.polpermissive,
        'roles', (select array_agg(case when x = 0 then 'public' else pg_get_userbyid(x)::text end)
                  from unnest(p.polroles) x),
        'qual', pg_get_expr(p.polqual, p.polrelid)
      ))
      from pg_policy p where p.polrelid = c.oid and p.polcmd in ('r', '*')
    ), '[]') as policies
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`;

interface Policy {
  permissive: boolean;
  roles: string[];
  qual: string | null;
}

export interface Image {
  /** Index of this image in the batch. */
  idx: number;
  meta: TableMeta;
  values: Record<string, unknown>;
}

/** One subscriber identity: the role and the exact claims its token carries. */
export interface ClaimsGroup {
  key: string;
  role: Role;
  claimsJson: string;
}

export interface VisibilityCheck {
  group: ClaimsGroup;
  /** Row images (new for INSERT/UPDATE, old for DELETE) to check the SELECT policies on. */
  images: Image[];
}

export class Rls {
  #meta = new Map<string, TableMeta>();

  constructor(private sql: postgres.Sql, private log: (m: string) => void) {}

  async table(schema: string, table: string, fresh = false): Promise<TableMeta | undefined> {
    const key = `${schema}.${table}`;
    const cached = this.#meta.get(key);
    if (cached && !fresh && Date.now() - cached.fetchedAt < CACHE_MS) return cached;
    const rows = await this.sql.unsafe(META_SQL, [schema, table]);
    if (!rows.length) {
      this.#meta.delete(key);
      return undefined;
    }
    const r = rows[0];
    const columns = (r.columns as Array<ColumnMeta & Record<Role, boolean>>).map((c) => ({
      name: c.name,
      type: c.type,
      sqltype: c.sqltype,
      pk: c.pk,
      select: { anon: c.anon, authenticated: c.authenticated, service_role: c.service_role },
    }));
    const policies = r.policies as Policy[];
    const bypass = { anon: false, authenticated: false, service_role: false, ...r.bypass };
    const selectQual = {} as Record<Role, string | null>;
    for (const role of ROLES) {
      const applies = (p: Policy) => p.roles.includes('public') || p.roles.includes(role);
      const perm = policies.filter((p) => p.permissive && applies(p));
      const restr = policies.filter((p) => !p.permissive && applies(p));
      if (!r.rls || bypass[role]) selectQual[role] = 'true';
      else if (!perm.length) selectQual[role] = null;
      else {
        // A policy without USING lets nothing through for reads: fail closed.
        const q = (p: Policy) => `(${p.qual ?? 'false'})`;
        selectQual[role] = `(${perm.map(q).join(' or ')})` +
          restr.map((p) => ` and ${q(p)}`).join('');
      }
    }
    const meta: TableMeta = {
      schema,
      table,
      rls: r.rls,
      columns,
      byName: new Map(columns.map((c) => [c.name, c])),
      tableSelect: r.table_select,
      bypass,
      selectQual,
      fetchedAt: Date.now(),
    };
    this.#meta.set(key, meta);
    return meta;
  }

  /** Tables of the publication matching a subscription's schema/table ('*' = any). */
  async publicationTables(publication: string, schema: string, table: string) {
    return await this.sql<{ schemaname: string; tablename: string }[]>`
      select schemaname, tablename from pg_publication_tables
      where pubname = ${publication}
        and (${schema} = '*' or schemaname = ${schema})
        and (${table} = '*' or tablename = ${table})`;
  }

  /** Checks that `value` is a valid literal for the column (as Realtime's subscription check). */
  async castable(col: ColumnMeta, value: string): Promise<string | null> {
    try {
      await this.sql.unsafe(`select $1::text::${col.sqltype}`, [value]);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Types WAL images with to_jsonb(jsonb_populate_record(...)), one statement per table. */
  async typeImages(images: Image[]): Promise<Map<number, Record<string, unknown>>> {
    const out = new Map<number, Record<string, unknown>>();
    if (!images.length) return out;
    const byTable = new Map<TableMeta, Image[]>();
    for (const im of images) byTable.set(im.meta, [...(byTable.get(im.meta) ?? []), im]);
    const stmts: string[] = [];
    for (const [meta, ims] of byTable) {
      const rel = `${ident(meta.schema)}.${ident(meta.table)}`;
      const values = ims.map((im) => `(${im.idx}, ${literal(JSON.stringify(im.values))}::jsonb)`);
      stmts.push(
        `select v._rt_i as idx, to_jsonb(jsonb_populate_record(null::${rel}, v._rt_j)) as rec
         from (values ${values.join(', ')}) as v(_rt_i, _rt_j)`,
      );
    }
    const collect = (res: unknown) => {
      for (const row of flatRows(res)) out.set(Number(row.idx), row.rec as Record<string, unknown>);
    };
    try {
      collect(await this.sql.unsafe(stmts.join(';\n')).simple());
    } catch {
      // A table dropped or altered since its change was written fails its own statement only:
      // its images stay untyped (and are not delivered), the other tables' go out.
      for (const stmt of stmts) {
        try {
          collect(await this.sql.unsafe(stmt).simple());
        } catch (e) {
          this.log(`typing failed: ${(e as Error).message}`);
        }
      }
    }
    return out;
  }

  /** Returns, per claims group key, the image indexes the group may see. */
  async visible(checks: VisibilityCheck[]): Promise<Map<string, Set<number>>> {
    const out = new Map<string, Set<number>>();
    const todo = checks.filter((c) => c.images.length);
    for (const c of checks) out.set(c.group.key, new Set());
    if (!todo.length) return out;
    // Many subscribers: split them over a few connections so Postgres checks them in parallel
    // (each group costs a few statements; 50 groups in one transaction take ~30 ms on a busy box).
    const parts = Math.min(PARALLEL, Math.ceil(todo.length / GROUPS_PER_PART));
    const chunks = Array.from({ length: parts }, (_, i) => todo.filter((_, j) => j % parts === i));
    await Promise.all(chunks.map(async (chunk) => {
      try {
        await this.#runChecks(chunk, out);
      } catch (e) {
        // One group's failure (a policy error for odd claims) must not hide everyone's changes:
        // retry group by group; a group that still fails sees nothing.
        this.log(`rls batch failed (${(e as Error).message}); checking subscribers one by one`);
        for (const c of chunk) {
          try {
            await this.#runChecks([c], out);
          } catch (e2) {
            this.log(`rls check failed for role ${c.group.role}: ${(e2 as Error).message}`);
          }
        }
      }
    }));
    return out;
  }

  async #runChecks(checks: VisibilityCheck[], out: Map<string, Set<number>>) {
    const stmts = ['begin', "set local statement_timeout = '5s'"];
    checks.forEach((c, gi) => {
      // Utility statements (no planning); each group's settings replace the previous group's.
      stmts.push(`set local role ${ident(c.group.role)}`);
      stmts.push(`set local request.jwt.claims = ${literal(c.group.claimsJson)}`);
      const byTable = new Map<TableMeta, Image[]>();
      for (const im of c.images) byTable.set(im.meta, [...(byTable.get(im.meta) ?? []), im]);
      for (const [meta, ims] of byTable) {
        const qual = meta.selectQual[c.group.role];
        if (!qual) continue;
        const rel = `${ident(meta.schema)}.${ident(meta.table)}`;
        const rows = ims.map((im) => `(${im.idx}, ${literal(JSON.stringify(im.values))}::jsonb)`);
        // The row is named like the table so policy expressions (`messages.tenant_id`) resolve.
        stmts.push(
          `select ${gi} as _rt_g, v._rt_i as idx
           from (values ${rows.join(', ')}) as v(_rt_i, _rt_j)
           cross join lateral jsonb_populate_record(null::${rel}, v._rt_j) as ${ident(meta.table)}
           where ${qual}`,
        );
      }
    });
    stmts.push('commit');
    // A multi-statement transaction needs a connection of its own (postgres.js refuses `begin`
    // on a pool); everything still goes in one round trip.
    const conn = await this.sql.reserve();
    let res;
    try {
      res = await conn.unsafe(stmts.join(';\n')).simple();
    } catch (e) {
      await conn.unsafe('rollback').catch(() => {});
      throw e;
    } finally {
      conn.release();
    }
    for (const row of flatRows(res)) {
      if (row._rt_g === undefined) continue;
      out.get(checks[Number(row._rt_g)].group.key)?.add(Number(row.idx));
    }
  }
}

function flatRows(res: unknown): Record<string, unknown>[] {
  return (res as Record<string, unknown>[][]).flat().filter((r) => r && typeof r === 'object');
}

/**
 * The WAL image of a change as a jsonb_populate_record input: json/jsonb values arrive as text and
 * are parsed so they are stored as JSON, not as a JSON string.
 */
export function walImage(cols: WalColumn[] | undefined): Record<string, unknown> | undefined {
  if (!cols) return undefined;
  const out: Record<string, unknown> = {};
  for (const c of cols) {
    let v = c.value;
    if ((c.type === 'json' || c.type === 'jsonb') && typeof v === 'string') {
      try {
        v = JSON.parse(v);
      } catch {
        // keep the text
      }
    }
    out[c.name] = v;
  }
  return out;
}

export type { WalChange };
