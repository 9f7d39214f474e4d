// `deno task dev`: the local stack on Supabase's ports. PostgreSQL on 54322 (cluster kept in
// .stack/dev/pgdata between runs), API gateway on 54321. Applies pending migrations and the seed,
// prints URLs, keys and the demo login, and stops everything on Ctrl-C or when a child dies.
// The function environment is supabase/functions/.env (the file `supabase start` reads) with the
// same names from this process's environment on top; providers left unset are simulated, and the
// banner says which are real.
import { prepareDatabase, ROOT } from '../stack/database.ts';
import {
  type Cluster,
  ensurePostgres,
  initCluster,
  startCluster,
  stopCluster,
} from '../stack/postgres.ts';
import { startStack, writeEnvFile } from '../stack/stack.ts';
import { portIsFree } from '../stack/ports.ts';
import { type ChildService, logTail } from '../stack/service.ts';
import { startWeb } from '../stack/web.ts';
import { devFunctionsEnv } from '../stack/function_env.ts';
import { describeProviders } from '../stack/functions.ts';

// Overridable so the stack suite can run a real `task dev` beside a developer's own.
const DB_PORT = Number(Deno.env.get('SWITCHBOARD_DB_PORT') ?? 54322);
const API_PORT = Number(Deno.env.get('SWITCHBOARD_API_PORT') ?? 54321);
const STATE_DIR = Deno.env.get('SWITCHBOARD_STATE_DIR') ?? `${ROOT}/.stack`;
const DATA_DIR = `${STATE_DIR}/dev/pgdata`;
const ENV_FILE = `${STATE_DIR}/dev.env`;
const WEB_PORT = Number(Deno.env.get('SWITCHBOARD_WEB_PORT') ?? 3000);
// The mail catcher: [local_smtp] port and smtp_port of supabase/config.toml.
const MAIL_PORT = Number(Deno.env.get('SWITCHBOARD_MAIL_PORT') ?? 54324);
const SMTP_PORT = Number(Deno.env.get('SWITCHBOARD_SMTP_PORT') ?? 54325);

let cluster: Cluster | undefined;
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
let web: ChildService | undefined;
let stopping = false;
const fnEnv = await devFunctionsEnv().catch((e) => {
  console.error(`supabase/functions/.env: ${(e as Error).message}`);
  Deno.exit(1);
});

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  await web?.stop().catch((e) => console.error(e));
  await stack?.stop().catch((e) => console.error(e));
  if (cluster) await stopCluster(cluster).catch((e) => console.error(e));
  console.log('stopped.');
  Deno.exit(code);
}

try {
  const bin = await ensurePostgres();
  await Deno.mkdir(`${STATE_DIR}/dev`, { recursive: true });
  await initCluster(DATA_DIR, bin);
  cluster = await startCluster(DATA_DIR, DB_PORT, bin);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    Deno.addSignalListener(sig, () => shutdown(0));
  }
  const applied = await prepareDatabase(cluster);
  if (applied) console.log(applied);
  stack = await startStack({
    cluster,
    mode: 'dev',
    port: API_PORT,
    stateDir: STATE_DIR,
    mailPorts: { web: MAIL_PORT, smtp: SMTP_PORT },
    functionsEnv: fnEnv.env,
  });
  await writeEnvFile(ENV_FILE, stack.env);
  if (!(await portIsFree(WEB_PORT))) throw new Error(`port ${WEB_PORT} (dashboard) is taken`);
  web = await startWeb({ port: WEB_PORT, env: stack.env, logDir: stack.logDir, mode: 'dev' });
} catch (e) {
  console.error(`\ndev stack failed to start: ${(e as Error).message}`);
  // Only stop a server we started ourselves: a "port taken" error leaves the other one alone.
  await web?.stop().catch(() => {});
  await stack?.stop().catch(() => {});
  if (cluster) await stopCluster(cluster).catch(() => {});
  Deno.exit(1);
}

const hasDemoUser = await new Deno.Command(`${cluster.bin}/psql`, {
  args: [cluster.url(), '-tAXc', "select 1 from auth.users where email = 'demo@switchboard.local'"],
  stdout: 'piped',
}).output().then((o) => new TextDecoder().decode(o.stdout).trim() === '1');

console.log(`
Switchboard local stack is up.

  Dashboard      http://127.0.0.1:${WEB_PORT}
  API URL        ${stack.url}          (REST ${stack.url}/rest/v1)
  Database URL   ${cluster.url()}
  Mail catcher   ${stack.env.MAILPIT_URL}          (sign-up, email-change and invite mails)
  Publishable    ${stack.env.SUPABASE_PUBLISHABLE_KEY}
  Secret         ${stack.env.SUPABASE_SECRET_KEY}
  JWKS           ${stack.url}/auth/v1/.well-known/jwks.json (ES256 signing key, dev only)
  Legacy keys    (HS256, until Supabase retires them)
    JWT secret   ${stack.env.SUPABASE_JWT_SECRET}
    anon         ${stack.env.SUPABASE_ANON_KEY}
    service_role ${stack.env.SUPABASE_SERVICE_ROLE_KEY}
  env file       ${ENV_FILE}
  Vault          ${
  stack.vaultSecrets.join(', ')
} stored: SQL calls ${stack.url}/functions/v1/dispatch via pg_net

Function environment: ${fnEnv.notes.join('; ')}
${describeProviders(fnEnv.env).map((l) => `  ${l}`).join('\n')}
${hasDemoUser ? '\n  Demo login     demo@switchboard.local / switchboard-demo\n' : ''}
Logs in ${stack.logDir}. Press Ctrl-C to stop.`);

// A child that dies takes the stack down with it, and we show why.
const died = await Promise.race(
  [...stack.children, web!].map((c) => c.exited.then((code) => ({ c, code }))),
);
if (!stopping) {
  console.error(`\n${died.c.name} exited with code ${died.code}; last lines of its log:`);
  console.error(await logTail(died.c.logFile));
  await shutdown(1);
}
