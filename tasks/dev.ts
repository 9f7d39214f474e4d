// `deno task dev`: the local stack on Supabase's ports. PostgreSQL on 54322 (cluster kept in
// .stack/dev/pgdata between runs), API gateway on 54321. Applies pending migrations and the seed,
// prints URLs, keys and the demo login, and stops everything on Ctrl-C or when a child dies.
import { prepareDatabase, ROOT } from '../stack/database.ts';
import {
  type Cluster,
  ensurePostgres,
  initCluster,
  startCluster,
  stopCluster,
} from '../stack/postgres.ts';
import { startStack, writeEnvFile } from '../stack/stack.ts';
import { logTail } from '../stack/service.ts';

const DB_PORT = 54322;
const API_PORT = 54321;
const DATA_DIR = `${ROOT}/.stack/dev/pgdata`;
const ENV_FILE = `${ROOT}/.stack/dev.env`;

let cluster: Cluster | undefined;
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await stack?.stop().catch((e) => console.error(e));
  if (cluster) await stopCluster(cluster).catch((e) => console.error(e));
  console.log('stopped.');
  Deno.exit(code);
}

try {
  const bin = await ensurePostgres();
  await Deno.mkdir(`${ROOT}/.stack/dev`, { recursive: true });
  await initCluster(DATA_DIR, bin);
  cluster = await startCluster(DATA_DIR, DB_PORT, bin);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(sig, () => shutdown(0));
  }
  const applied = await prepareDatabase(cluster);
  if (applied) console.log(applied);
  stack = await startStack({ cluster, mode: 'dev', port: API_PORT });
  await writeEnvFile(ENV_FILE, stack.env);
} catch (e) {
  console.error(`\ndev stack failed to start: ${(e as Error).message}`);
  // Only stop a server we started ourselves: a "port taken" error leaves the other one alone.
  if (cluster) await stopCluster(cluster).catch(() => {});
  await stack?.stop().catch(() => {});
  Deno.exit(1);
}

const hasDemoUser = await new Deno.Command(`${cluster.bin}/psql`, {
  args: [cluster.url(), '-tAXc', "select 1 from auth.users where email = 'demo@switchboard.local'"],
  stdout: 'piped',
}).output().then((o) => new TextDecoder().decode(o.stdout).trim() === '1');

console.log(`
Switchboard local stack is up.

  API URL        ${stack.url}          (REST ${stack.url}/rest/v1)
  Database URL   ${cluster.url()}
  JWT secret     ${stack.env.SUPABASE_JWT_SECRET}
  anon key       ${stack.env.SUPABASE_ANON_KEY}
  service_role   ${stack.env.SUPABASE_SERVICE_ROLE_KEY}
  env file       ${ENV_FILE}
${hasDemoUser ? '\n  Demo login     demo@switchboard.local / switchboard-demo\n' : ''}
Logs in ${stack.logDir}. Press Ctrl-C to stop.`);

// A child that dies takes the stack down with it, and we show why.
const died = await Promise.race(stack.children.map((c) => c.exited.then((code) => ({ c, code }))));
if (!stopping) {
  console.error(`\n${died.c.name} exited with code ${died.code}; last lines of its log:`);
  console.error(await logTail(died.c.logFile));
  await shutdown(1);
}
