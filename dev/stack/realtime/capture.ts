// Change capture as Supabase Realtime's postgres_cdc_rls does it: one logical replication slot
// with the wal2json plugin, polled with pg_logical_slot_get_changes for the tables in publication
// supabase_realtime (wal2json `add-tables`, computed in the same statement so a table added to the
// publication is picked up at the next poll).
//
// The slot is TEMPORARY and uniquely named per start: it lives only as long as the polling
// session, so a crashed or killed stack cannot leak a slot (and the WAL it would pin), and
// parallel stacks never share one. Polling: immediately again after a batch; when idle every 10 ms
// while anyone is subscribed, else every 200 ms (an idle poll is one `pg_current_wal_insert_lsn()`);
// and at once when a channel subscribes.
import postgres from 'postgres';

export interface WalColumn {
  name: string;
  type: string;
  typeoid?: number;
  value?: unknown;
}

export interface WalChange {
  action: 'I' | 'U' | 'D';
  schema: string;
  table: string;
  /** Commit time as wal2json prints it ("2026-11-22 01:35:09.1206+00"). */
  timestamp: string;
  columns?: WalColumn[];
  identity?: WalColumn[];
  pk?: WalColumn[];
  /** Size of the change as received, for Realtime's 1 MiB record limit. */
  bytes: number;
}

export interface CaptureOptions {
  dbUrl: string;
  publication: string;
  onChanges: (changes: WalChange[]) => Promise<void>;
  log: (msg: string) => void;
  /** Idle poll interval while someone is subscribed (default 10 ms). */
  idleMs?: number;
  /** Idle poll interval with no subscribers: changes are only consumed (default 200 ms). */
  quietMs?: number;
  /** Whether anyone is subscribed. */
  listening?: () => boolean;
  maxChanges?: number;
}

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

export class Capture {
  readonly slot = `switchboard_rt_${Deno.pid}_${crypto.randomUUID().slice(0, 8)}`;
  #sql?: postgres.Sql;
  #stopped = false;
  #wakeUp?: () => void;
  #loop?: Promise<void>;
  #pollSql: string;
  #lastLsn = '';
  #max: number;

  constructor(private opts: CaptureOptions) {
    this.#max = opts.maxChanges ?? 1000;
    const idle = opts.idleMs ?? 10;
    this.opts.idleMs = idle;
    const pub = lit(opts.publication);
    // With synchronous_commit=off (throwaway test clusters) a commit sits in WAL buffers until the
    // WAL writer flushes it (up to 3 × wal_writer_delay later) and logical decoding only reads
    // flushed WAL. When something is waiting to be flushed, a tiny transactional message committed
    // from this session (synchronous_commit=on) flushes it; idle polls write nothing.
    this.#pollSql = `
      begin;
      select pg_logical_emit_message(true, 'switchboard_realtime_flush', '')
        where pg_current_wal_insert_lsn() > pg_current_wal_flush_lsn();
      commit;
      with pub as (
        select
          coalesce(
            nullif(string_agg(
              regexp_replace(t.schemaname, '([ '',.*\\\\])', '\\\\\\1', 'g') || '.' ||
              regexp_replace(t.tablename, '([ '',.*\\\\])', '\\\\\\1', 'g'), ','), ''),
            '_switchboard_none_.none'
          ) as add_tables
        from pg_publication_tables t
        where t.pubname = ${pub}
      ),
      w2j as materialized (
        select x.data
        from pub, pg_logical_slot_get_changes(
          ${lit(this.slot)}, null, ${this.#max},
          'format-version', '2',
          'include-pk', 'true',
          'include-transaction', 'false',
          'include-timestamp', 'true',
          'include-type-oids', 'true',
          'actions', 'insert,update,delete',
          'add-tables', pub.add_tables
        ) x
      )
      select data from w2j;`;
  }

  async start(): Promise<void> {
    await this.#connect();
    this.#loop = this.#run();
  }

  /** Polls now instead of at the next idle tick. */
  wake() {
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop?.catch(() => {});
    await this.#disconnect();
  }

  async #connect() {
    const sql = postgres(this.opts.dbUrl, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: 0,
      onnotice: () => {},
      connection: { application_name: 'switchboard realtime capture' },
    });
    try {
      // Debian's PostgreSQL 15.20+ only lets listed plugins decode (output_plugin_libraries,
      // superuser-settable); older servers have no such setting.
      await sql`
        select set_config('output_plugin_libraries', current_setting('output_plugin_libraries') || ', wal2json', false)
        where exists (select 1 from pg_settings where name = 'output_plugin_libraries')
          and current_setting('output_plugin_libraries') !~ 'wal2json'`;
      await sql`select set_config('synchronous_commit', 'on', false)`;
      await sql`select pg_create_logical_replication_slot(${this.slot}, 'wal2json', true)`;
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw e;
    }
    this.#sql = sql;
  }

  async #disconnect() {
    const sql = this.#sql;
    this.#sql = undefined;
    if (!sql) return;
    await sql`select pg_drop_replication_slot(slot_name) from pg_replication_slots
      where slot_name = ${this.slot}`.catch(() => {});
    await sql.end({ timeout: 2 }).catch(() => {});
    this.#lastLsn = '';
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wakeUp = done;
    });
  }

  async #pollOnce(): Promise<number> {
    const sql = this.#sql;
    if (!sql) throw new Error('capture connection is closed');
    // Decoding re-reads WAL from the slot's restart point on every call (~1-2 ms of backend CPU
    // even when nothing is new), so an idle poll only asks whether any WAL was written since.
    const [{ lsn }] = await sql`select pg_current_wal_insert_lsn()::text as lsn`;
    if (lsn === this.#lastLsn) return 0;
    const results = await sql.unsafe(this.#pollSql).simple();
    const rows = (results as unknown as Record<string, unknown>[][]).flat()
      .filter((r) => r && typeof r.data === 'string') as { data: string }[];
    // A full batch may have left changes behind: decode again even if no new WAL comes.
    this.#lastLsn = rows.length >= this.#max ? '' : lsn;
    if (!rows.length) return 0;
    const changes: WalChange[] = [];
    for (const r of rows) {
      const c = JSON.parse(r.data);
      if (c.action === 'I' || c.action === 'U' || c.action === 'D') {
        changes.push({ ...c, bytes: r.data.length });
      }
    }
    if (changes.length) await this.opts.onChanges(changes);
    return rows.length;
  }

  async #run() {
    let failures = 0;
    while (!this.#stopped) {
      let n = 0;
      try {
        if (!this.#sql) await this.#connect();
        n = await this.#pollOnce();
        failures = 0;
      } catch (e) {
        if (this.#stopped) break;
        failures++;
        this.opts.log(`capture: ${(e as Error).message}; reconnecting`);
        // A lost session takes its temporary slot with it: start over with a fresh one.
        await this.#disconnect();
        await this.#sleep(Math.min(2000, 100 * failures));
        continue;
      }
      if (n === 0 && !this.#stopped) {
        const listening = this.opts.listening?.() ?? true;
        await this.#sleep(listening ? this.opts.idleMs! : this.opts.quietMs ?? 200);
      }
    }
  }
}
