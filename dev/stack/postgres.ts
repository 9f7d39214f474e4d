// The project's own PostgreSQL 15 cluster: find (or install) the binaries, create a cluster in a
// gitignored directory, start and stop it. Used by `deno task dev` (port 54322, kept between runs)
// and by the test runner (a throwaway cluster on a free port).
import { portIsFree } from './ports.ts';
import { run, runQuiet } from './proc.ts';

export const APT_PACKAGES = [
  'postgresql-15',
  'postgresql-15-cron',
  'postgresql-15-pgtap',
  'postgresql-15-wal2json',
  'libtap-parser-sourcehandler-pgtap-perl',
];

const BIN_CANDIDATES = ['/usr/lib/postgresql/15/bin'];
const SHARE_DIR = '/usr/share/postgresql/15';
/** Superuser password of every cluster we create, as on `supabase start`. */
export const DB_PASSWORD = 'postgres';

export interface Cluster {
  dir: string;
  port: number;
  bin: string;
  /** postgresql:// URL for `user` (default postgres) on database `postgres`. */
  url(user?: string, password?: string): string;
}

function isRoot(): boolean {
  return Deno.uid?.() === 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function findBinDir(): Promise<string | undefined> {
  for (const dir of BIN_CANDIDATES) {
    if (await exists(`${dir}/pg_ctl`)) return dir;
  }
  // Fall back to PATH, but only a version 15 server will do (migrations target 15).
  const which = await runQuiet(['sh', '-c', 'command -v pg_ctl']);
  if (which.code === 0) {
    const dir = which.stdout.trim().replace(/\/pg_ctl$/, '');
    const version = await runQuiet([`${dir}/pg_ctl`, '--version']);
    if (/\) 15\./.test(version.stdout)) return dir;
  }
  return undefined;
}

async function missingExtensions(): Promise<string[]> {
  const missing: string[] = [];
  if (!(await exists(`${SHARE_DIR}/extension/pg_cron.control`))) missing.push('postgresql-15-cron');
  if (!(await exists(`${SHARE_DIR}/extension/pgtap.control`))) missing.push('postgresql-15-pgtap');
  if (!(await exists('/usr/lib/postgresql/15/lib/wal2json.so'))) {
    missing.push('postgresql-15-wal2json');
  }
  if ((await runQuiet(['sh', '-c', 'command -v pg_prove'])).code !== 0) {
    missing.push('libtap-parser-sourcehandler-pgtap-perl');
  }
  return missing;
}

/**
 * Returns the PostgreSQL 15 bin directory, installing the Debian packages when they are missing
 * and we may (root on Debian/Ubuntu). Otherwise throws with exactly what to install.
 */
export async function ensurePostgres(log: (s: string) => void = console.log): Promise<string> {
  let bin = await findBinDir();
  let missing = bin ? await missingExtensions() : APT_PACKAGES;
  if (bin && missing.length === 0) {
    await installEmulatedExtensions(bin);
    return bin;
  }
  const canApt = isRoot() && (await exists('/usr/bin/apt-get'));
  if (!canApt) {
    throw new Error(
      `PostgreSQL 15 with pg_cron, pgTAP and wal2json is needed and could not be installed ` +
        `automatically (this needs root on Debian/Ubuntu).\n` +
        `Install: sudo apt-get install -y ${missing.join(' ')}\n` +
        `Or use the Supabase CLI with Docker instead: npx supabase start`,
    );
  }
  log(`installing ${missing.join(' ')} with apt-get (once)…`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  // Debian creates and would start a default cluster on port 5432; we never use it and policy-rc.d
  // (or its absence of a running init) keeps it down, so nothing listens there because of us.
  await run(['apt-get', 'update', '-qq'], { env });
  await run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...APT_PACKAGES], {
    env,
  });
  bin = await findBinDir();
  missing = bin ? await missingExtensions() : APT_PACKAGES;
  if (!bin || missing.length) throw new Error(`apt-get finished but still missing: ${missing}`);
  await installEmulatedExtensions(bin);
  return bin;
}

/** dev/stack/extensions/: SQL-only pg_net and supabase_vault, which Debian does not package. */
const EMULATED_EXTENSIONS = [
  'pg_net.control',
  'pg_net--0.20.4.sql',
  'supabase_vault.control',
  'supabase_vault--0.3.1.sql',
];

/**
 * Copies the emulated extensions into `pg_config --sharedir`/extension (where `create extension`
 * looks), rewriting only files that differ, so `create extension pg_net` in a migration works as
 * on hosted Supabase. Needs root the first time and after each change of those files.
 */
export async function installEmulatedExtensions(bin: string): Promise<void> {
  const share = (await run([`${bin}/pg_config`, '--sharedir'])).trim();
  const dir = `${share}/extension`;
  for (const name of EMULATED_EXTENSIONS) {
    const want = await Deno.readTextFile(new URL(`./extensions/${name}`, import.meta.url));
    const have = await Deno.readTextFile(`${dir}/${name}`).catch(() => null);
    if (have === want) continue;
    try {
      await Deno.writeTextFile(`${dir}/${name}`, want);
    } catch (e) {
      throw new Error(
        `cannot install the emulated ${name} into ${dir} (${(e as Error).message}); ` +
          `run once as root, or: sudo cp dev/stack/extensions/* ${dir}/`,
      );
    }
  }
}

/**
 * pg_net defines pg_net.ttl and pg_net.batch_size when its library loads (src/worker.c), which
 * is what lets `alter system set pg_net.ttl = …` work. The emulation loads no library, so the
 * settings are declared in postgresql.conf with pg_net's defaults (not on the command line, which
 * would override ALTER SYSTEM). Appended once, also to clusters created before.
 */
async function ensurePgNetSettings(dir: string): Promise<void> {
  const conf = `${dir}/postgresql.conf`;
  const text = await Deno.readTextFile(conf);
  if (text.includes('pg_net.ttl')) return;
  await Deno.writeTextFile(
    conf,
    "\n# pg_net emulation (dev/stack/pg_net_worker.ts reads these)\npg_net.ttl = '6 hours'\npg_net.batch_size = 200\n",
    { append: true },
  );
}

/**
 * Vault's root key (dev/stack/extensions/supabase_vault--0.3.1.sql reads it with pg_read_file), kept
 * in the data directory and readable by the server only, as pgsodium keeps pgsodium_root.key
 * outside the database. Written once per cluster; losing it makes stored secrets unreadable.
 */
async function ensureVaultRootKey(dir: string): Promise<void> {
  await ensurePgNetSettings(dir);
  const file = `${dir}/vault_root.key`;
  if (await exists(file)) return;
  const key = Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, '0'),
  ).join('');
  await Deno.writeTextFile(file, key, { mode: 0o600 });
  if (isRoot()) await run(['chown', 'postgres:postgres', file]);
}

/** Runs a PostgreSQL tool as the postgres OS user when we are root (the server refuses root). */
function asPostgres(cmd: string[]): string[] {
  return isRoot() ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd;
}

function makeCluster(dir: string, port: number, bin: string): Cluster {
  return {
    dir,
    port,
    bin,
    url: (user = 'postgres', password = DB_PASSWORD) =>
      `postgresql://${user}:${password}@127.0.0.1:${port}/postgres`,
  };
}

/** Creates the cluster in `dir` unless it already holds one. */
export async function initCluster(dir: string, bin: string): Promise<void> {
  if (await exists(`${dir}/PG_VERSION`)) return;
  await Deno.mkdir(dir, { recursive: true });
  if (isRoot()) await run(['chown', 'postgres:postgres', dir]);
  await Deno.chmod(dir, 0o700);
  const pwfile = `${dir}.pw`;
  await Deno.writeTextFile(pwfile, DB_PASSWORD + '\n');
  if (isRoot()) await run(['chown', 'postgres:postgres', pwfile]);
  try {
    await run(
      asPostgres([
        `${bin}/initdb`,
        '-D',
        dir,
        '-U',
        'postgres',
        '--pwfile',
        pwfile,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C.UTF-8',
        '--no-sync',
      ]),
    );
  } finally {
    await Deno.remove(pwfile).catch(() => {});
  }
  const conf = [
    '',
    '# switchboard stack settings',
    "shared_preload_libraries = 'pg_cron'",
    "cron.database_name = 'postgres'",
    // Jobs run in background workers: pg_cron's default libpq connection to localhost would need
    // a password under scram host auth, and every job would fail with "connection failed".
    'cron.use_background_workers = on',
    'max_worker_processes = 32',
    'wal_level = logical',
    'max_replication_slots = 10',
    'max_wal_senders = 10',
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'max_connections = 200',
    "timezone = 'UTC'",
    "log_timezone = 'UTC'",
    '',
  ].join('\n');
  await Deno.writeTextFile(`${dir}/postgresql.conf`, conf, { append: true });
}

export async function isRunning(dir: string, bin: string): Promise<boolean> {
  if (!(await exists(`${dir}/postmaster.pid`))) return false;
  return (await runQuiet(asPostgres([`${bin}/pg_ctl`, '-D', dir, 'status']))).code === 0;
}

export interface StartOptions {
  /** Extra postgresql.conf settings for this start only (`-c name=value`). */
  settings?: Record<string, string>;
  /** Faster but unsafe on power loss: for throwaway test clusters only. */
  throwaway?: boolean;
}

/** Starts the cluster on `port`; refuses clearly when the port or the directory is in use. */
export async function startCluster(
  dir: string,
  port: number,
  bin: string,
  opts: StartOptions = {},
): Promise<Cluster> {
  if (await isRunning(dir, bin)) {
    throw new Error(
      `a PostgreSQL server is already running on ${dir} (is \`deno task dev\` running elsewhere?)`,
    );
  }
  if (!(await portIsFree(port))) {
    throw new Error(
      `port ${port} is taken: another server (perhaps \`deno task dev\` or \`supabase start\`) ` +
        `is listening on it. Stop it first.`,
    );
  }
  await ensureVaultRootKey(dir);
  // Also passed at start so clusters created before the setting existed get it too.
  const settings: Record<string, string> = {
    port: String(port),
    'cron.use_background_workers': 'on',
    ...opts.settings,
  };
  // Throwaway clusters trade durability for speed; the short WAL writer delay keeps logical decoding
  // (realtime) from seeing asynchronous commits up to 600 ms late.
  if (opts.throwaway) {
    Object.assign(settings, { fsync: 'off', synchronous_commit: 'off', wal_writer_delay: '10ms' });
  }
  const options = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  const logFile = `${dir}/server.log`;
  const res = await runQuiet(
    asPostgres([
      `${bin}/pg_ctl`,
      '-D',
      dir,
      '-l',
      logFile,
      '-o',
      options,
      '-w',
      '-t',
      '60',
      'start',
    ]),
  );
  if (res.code !== 0) {
    const tail = await Deno.readTextFile(logFile).then((t) => t.split('\n').slice(-15).join('\n'))
      .catch(() => '');
    throw new Error(`PostgreSQL failed to start:\n${res.stderr}${res.stdout}\n${tail}`);
  }
  return makeCluster(dir, port, bin);
}

export async function stopCluster(cluster: Cluster): Promise<void> {
  if (!(await isRunning(cluster.dir, cluster.bin))) return;
  await runQuiet(
    asPostgres([`${cluster.bin}/pg_ctl`, '-D', cluster.dir, '-m', 'fast', '-w', 'stop']),
  );
}

/** Runs a SQL file or string with psql as postgres, stopping at the first error. */
export async function psql(
  cluster: Cluster,
  input: { file: string } | { sql: string },
  extra: string[] = [],
): Promise<string> {
  const args = [
    `${cluster.bin}/psql`,
    cluster.url(),
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    ...extra,
    ...('file' in input ? ['-f', input.file] : ['-c', input.sql]),
  ];
  const res = await runQuiet(args);
  if (res.code !== 0) {
    const what = 'file' in input ? input.file : input.sql.slice(0, 80);
    throw new Error(`psql failed on ${what}:\n${res.stderr}`);
  }
  return res.stdout;
}
