// Starts the Supabase-compatible API surface over a running cluster: PostgREST, auth, realtime,
// functions, the gateway, and pg_net's worker (with the Vault secrets that let SQL call functions). `deno task dev` uses Supabase's ports;
// tests use free ones.
import { apiKeys, JWT_EXPIRY_SECONDS } from './keys.ts';
import { type Cluster } from './postgres.ts';
import { freePort, portIsFree } from './ports.ts';
import { startPostgrest } from './postgrest.ts';
import { createGateway, type GatewayRoutes, proxyTo } from './gateway.ts';
import { type ChildService } from './service.ts';
import { ROOT } from './database.ts';
import { startAuth } from './auth/mod.ts';
import { startRealtime } from './realtime/mod.ts';
import { startFunctions } from './functions.ts';
import { startMailCatcher } from './mail_catcher.ts';
import { type AuthConfig, readAuthConfig } from './auth/config.ts';
import { startPgNetWorker } from './pg_net_worker.ts';
import { dispatchKey, storeDispatchSecrets } from './dispatch_secrets.ts';

export interface StackOptions {
  cluster: Cluster;
  mode: 'dev' | 'test';
  /** Gateway port; 54321 in dev, free in tests. */
  port?: number;
  /** Where dev logs go (default .stack); tests use a temp dir. */
  stateDir?: string;
  /** Extra function environment (provider URLs and keys, CREDENTIALS_KEY, …). */
  functionsEnv?: Record<string, string>;
  /** Mail catcher ports; dev defaults to 54324 (web) and 54325 (SMTP), tests to free ones. */
  mailPorts?: { web: number; smtp: number };
  /** Changes to supabase/config.toml's auth settings (tests that run from one address). */
  auth?: Partial<AuthConfig>;
  /** The pg_net worker's safety-net poll (ms, default 5000); 0 = wakes only, as pg_net. */
  pgNetPollMs?: number;
}

export interface RunningStack {
  url: string;
  env: Record<string, string>;
  children: ChildService[];
  logDir: string;
  /** Vault secrets the stack stored for the database (private.kick_dispatch). */
  vaultSecrets: string[];
  /** Starts the functions server again on its port (after a test killed it). */
  restartFunctions(): Promise<ChildService>;
  stop(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const keys = await apiKeys();
  const port = opts.port ?? (opts.mode === 'dev' ? 54321 : freePort());
  if (!(await portIsFree(port))) {
    throw new Error(
      `port ${port} is taken: is another stack (deno task dev, supabase start) running?`,
    );
  }
  const logDir = opts.mode === 'dev'
    ? `${opts.stateDir ?? `${ROOT}/.stack`}/dev/logs`
    : await Deno.makeTempDir({ prefix: 'switchboard-stack-' });
  await Deno.mkdir(logDir, { recursive: true });

  const children: ChildService[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch(() => {});
    stoppers.length = 0;
  };
  try {
    const restPort = freePort();
    const jwks = JSON.stringify(keys.jwks);
    const postgrest = await startPostgrest({
      cluster: opts.cluster,
      port: restPort,
      jwtSecret: jwks,
      logDir,
    });
    children.push(postgrest);
    stoppers.push(() => postgrest.stop());

    // Mailpit as `supabase start` runs it: web page and API on 54324 ([inbucket] port), SMTP on
    // 54325 (its smtp_port); free ports in tests.
    const mail = await startMailCatcher({
      webPort: opts.mailPorts?.web ?? (opts.mode === 'dev' ? 54324 : freePort()),
      smtpPort: opts.mailPorts?.smtp ?? (opts.mode === 'dev' ? 54325 : freePort()),
    });
    stoppers.push(() => mail.stop());
    const authConfig = { ...(await readAuthConfig()), ...opts.auth };
    const auth = await startAuth({
      config: authConfig,
      smtpUrl: mail.smtpUrl,
      dbUrl: opts.cluster.url(),
      jwtSecret: keys.jwtSecret,
      // As `supabase start` runs GoTrue (GOTRUE_JWT_KEYS = the CLI's ES256 key), and as new hosted
      // projects sign: asymmetric. Every verifier in the stack takes ES256 and HS256.
      signingKey: keys.signingKey,
      jwtExpirySeconds: JWT_EXPIRY_SECONDS,
      siteUrl: authConfig.siteUrl,
      issuer: `http://127.0.0.1:${port}/auth/v1`,
    });
    stoppers.push(() => auth.stop());
    const realtime = await startRealtime({
      dbUrl: opts.cluster.url(),
      jwtSecret: keys.jwtSecret,
      jwks: keys.jwks,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      publishableKey: keys.publishableKey,
      secretKey: keys.secretKey,
      signingKey: keys.signingKey,
    });
    stoppers.push(() => realtime.stop());

    const url = `http://127.0.0.1:${port}`;
    // What hosted functions receive (and `supabase functions serve` injects: supabase/cli
    // apps/cli-go/internal/functions/serve/serve.go and templates/main.ts): the legacy variables
    // plus the new keys as named JSON objects and the JWKS, in the formats @supabase/server reads
    // (its docs/environment-variables.md).
    const functionsBase: Record<string, string> = {
      SUPABASE_URL: url,
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: keys.publishableKey }),
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: keys.secretKey }),
      SUPABASE_JWKS: jwks,
      SUPABASE_JWT_SECRET: keys.jwtSecret,
      SUPABASE_DB_URL: opts.cluster.url(),
      JWT_EXPIRY: String(JWT_EXPIRY_SECONDS),
      POSTGREST_URL: `http://127.0.0.1:${restPort}`,
      MAILPIT_URL: mail.webUrl,
      INVITE_SMTP_URL: mail.smtpUrl,
      SITE_URL: authConfig.siteUrl,
    };
    // Tests and `task dev` also get each key on its own (functions do not: hosted gives none).
    const env: Record<string, string> = {
      ...functionsBase,
      SUPABASE_PUBLISHABLE_KEY: keys.publishableKey,
      SUPABASE_SECRET_KEY: keys.secretKey,
    };

    const fnPort = freePort();
    const fnOpts = { port: fnPort, env: { ...functionsBase, ...opts.functionsEnv }, logDir };
    let functions = await startFunctions(fnOpts);
    if (functions) {
      children.push(functions);
      stoppers.push(() => functions!.stop());
    }
    const restartFunctions = async () => {
      await functions?.stop();
      const next = await startFunctions(fnOpts);
      if (!next) throw new Error('the functions server did not start');
      children.splice(children.indexOf(functions!), 1, next);
      functions = next;
      return next;
    };

    const routes: GatewayRoutes = {
      rest: proxyTo(`http://127.0.0.1:${restPort}`),
      auth: auth.handler,
      realtime: realtime.handler,
      functions: functions
        ? proxyTo(`http://127.0.0.1:${fnPort}`, { keepApiKey: true })
        : undefined,
    };
    const server = Deno.serve(
      { hostname: '127.0.0.1', port, onListen: () => {} },
      createGateway({
        port,
        anonKey: keys.anonKey,
        serviceRoleKey: keys.serviceRoleKey,
        publishableKey: keys.publishableKey,
        secretKey: keys.secretKey,
        signingKey: keys.signingKey,
        routes,
      }),
    );
    stoppers.push(() => server.shutdown());

    // pg_net's worker (hosted: a Postgres background worker) and the Vault secrets it needs to
    // reach `dispatch` through this gateway, as a Supabase project's operator stores them.
    const pgNetLog = `${logDir}/pg_net.log`;
    const worker = await startPgNetWorker({
      dbUrl: opts.cluster.url(),
      pollMs: opts.pgNetPollMs,
      log: (l) =>
        Deno.writeTextFileSync(pgNetLog, `${new Date().toISOString()} ${l}\n`, { append: true }),
    });
    stoppers.push(() => worker.stop());
    const vaultSecrets = await storeDispatchSecrets(opts.cluster.url(), {
      projectUrl: url,
      serviceKey: dispatchKey(env),
    });

    return { url, env, children, logDir, vaultSecrets, restartFunctions, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Writes the stack's environment as KEY=value lines (gitignored), for tests and the web app. */
export async function writeEnvFile(path: string, env: Record<string, string>) {
  const body = Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
  await Deno.writeTextFile(path, body);
}
