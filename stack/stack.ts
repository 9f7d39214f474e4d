// Starts the Supabase-compatible API surface over a running cluster: PostgREST and the gateway
// (and, as they land, auth, realtime and functions). `deno task dev` uses Supabase's ports;
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
}

export interface RunningStack {
  url: string;
  env: Record<string, string>;
  children: ChildService[];
  logDir: string;
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
    const postgrest = await startPostgrest({
      cluster: opts.cluster,
      port: restPort,
      jwtSecret: keys.jwtSecret,
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
      jwtExpirySeconds: JWT_EXPIRY_SECONDS,
      siteUrl: authConfig.siteUrl,
      issuer: `http://127.0.0.1:${port}/auth/v1`,
    });
    stoppers.push(() => auth.stop());
    const realtime = await startRealtime({
      dbUrl: opts.cluster.url(),
      jwtSecret: keys.jwtSecret,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
    });
    stoppers.push(() => realtime.stop());

    const url = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      SUPABASE_URL: url,
      SUPABASE_ANON_KEY: keys.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: keys.serviceRoleKey,
      SUPABASE_JWT_SECRET: keys.jwtSecret,
      SUPABASE_DB_URL: opts.cluster.url(),
      JWT_EXPIRY: String(JWT_EXPIRY_SECONDS),
      POSTGREST_URL: `http://127.0.0.1:${restPort}`,
      MAILPIT_URL: mail.webUrl,
      INVITE_SMTP_URL: mail.smtpUrl,
      SITE_URL: authConfig.siteUrl,
    };

    const fnPort = freePort();
    const functions = await startFunctions({
      port: fnPort,
      env: { ...env, ...opts.functionsEnv },
      logDir,
    });
    if (functions) {
      children.push(functions);
      stoppers.push(() => functions.stop());
    }

    const routes: GatewayRoutes = {
      rest: proxyTo(`http://127.0.0.1:${restPort}`),
      auth: auth.handler,
      realtime: realtime.handler,
      functions: functions ? proxyTo(`http://127.0.0.1:${fnPort}`) : undefined,
    };
    const gateway = createGateway({
      port,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      routes,
    });
    // Kong's `auth-v1-open` route (supabase/cli internal/start/templates/kong.yml): mailed links
    // to /auth/v1/verify are opened by a browser and carry no API key.
    const server = Deno.serve(
      { hostname: '127.0.0.1', port, onListen: () => {} },
      (req, info) => {
        const path = new URL(req.url).pathname;
        if (path === '/auth/v1/verify' && req.method === 'GET') {
          return auth.handler(req, '/verify', info);
        }
        return gateway(req, info);
      },
    );
    stoppers.push(() => server.shutdown());

    return { url, env, children, logDir, stop };
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
