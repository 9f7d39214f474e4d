// Edge functions for the local stack: dev/stack/functions_server.ts (one worker per function, each
// with exactly its declared import map) and, when the function environment names no Twilio
// account, the Twilio simulator (dev/stack/twilio_sim_service.ts). Development/test defaults are
// filled in here so stack.ts passes only what it knows; given values always win, and a simulator
// stands in only for what is left unset.
import { ROOT } from './database.ts';
import { NETWORK_ENV } from './function_worker.ts';
import { freePort } from './ports.ts';
import { type ChildService, spawnService, waitForHttp } from './service.ts';
import { SIM_ACCOUNT_SID, SIM_AUTH_TOKEN } from './twilio_simulator.ts';

export interface FunctionsOptions {
  /** Port the functions server listens on (the gateway proxies /functions/v1 to it). */
  port: number;
  /** Function environment (supabase/functions/.env.example), including SUPABASE_* values. */
  env: Record<string, string>;
  logDir: string;
  /** Project whose supabase/config.toml and functions are served (default: this repository). */
  projectDir?: string;
  /** Wall-clock limit per request in seconds (default 150, hosted free plan). */
  wallClockSec?: number;
}

/**
 * The CREDENTIALS_KEY of development and test stacks only (base64 of 32 fixed bytes). A deployed
 * project sets its own secret: `supabase secrets set CREDENTIALS_KEY=$(openssl rand -base64 32)`.
 */
export const DEV_CREDENTIALS_KEY = btoa('switchboard-dev-only-credentials');
/** Twilio's magic "valid sender" test number, the simulator's default platform number. */
export const SIM_PHONE_NUMBER = '+15005550006';

/** Twilio is simulated only when the environment names neither an API URL nor an account. */
export function twilioSimulated(given: Record<string, string | undefined>): boolean {
  return !given.TWILIO_API_URL && !given.TWILIO_ACCOUNT_SID;
}

/** The function environment of a dev/test stack: given values win over these defaults. */
export function functionsEnv(given: Record<string, string>, simulatorUrl?: string) {
  const out: Record<string, string> = {
    CREDENTIALS_KEY: DEV_CREDENTIALS_KEY,
    EMAIL_PROVIDER: 'log',
    PUBLIC_FUNCTIONS_URL: `${given.SUPABASE_URL}/functions/v1`,
    ...given,
  };
  if (simulatorUrl && twilioSimulated(given)) {
    out.TWILIO_API_URL = simulatorUrl;
    out.TWILIO_ACCOUNT_SID = SIM_ACCOUNT_SID;
    out.TWILIO_AUTH_TOKEN = SIM_AUTH_TOKEN;
    out.TWILIO_PHONE_NUMBER ??= SIM_PHONE_NUMBER;
  }
  return out;
}

/** One line per provider: real (and where) or simulated / off, for `task dev` to print. */
export function describeProviders(given: Record<string, string>): string[] {
  const e = functionsEnv(given);
  const host = (u: string | undefined, dflt: string) => u ? new URL(u).host : dflt;
  return [
    twilioSimulated(given)
      ? 'Twilio     simulated (dev/stack/twilio_simulator.ts; set TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN for real)'
      : `Twilio     real: ${host(e.TWILIO_API_URL, 'api.twilio.com')} account ${
        e.TWILIO_ACCOUNT_SID?.slice(0, 6) ?? '(tenant credentials only)'
      }…`,
    e.EMAIL_PROVIDER === 'resend'
      ? `Email      real: Resend (${host(e.RESEND_API_URL, 'api.resend.com')})`
      : e.EMAIL_PROVIDER === 'smtp'
      ? `Email      real: SMTP ${host(e.SMTP_URL?.replace(/^smtps?:/, 'http:'), '?')}`
      : 'Email      simulated: written to the functions log (EMAIL_PROVIDER=log)',
    e.ANTHROPIC_API_KEY
      ? `Anthropic  real: ${host(e.ANTHROPIC_BASE_URL, 'api.anthropic.com')}`
      : 'Anthropic  off: no ANTHROPIC_API_KEY (auto-replies with it hand off to a person)',
    e.GEMINI_API_KEY
      ? `Gemini     real: ${host(e.GEMINI_BASE_URL, 'generativelanguage.googleapis.com')}`
      : 'Gemini     off: no GEMINI_API_KEY (auto-replies with it hand off to a person)',
  ];
}

// What the Deno binary itself needs (its cache, npm registry, proxies); functions never see these.
const HOST_ENV = [
  'HOME',
  'PATH',
  'TMPDIR',
  'DENO_DIR',
  'XDG_CACHE_HOME',
  'NPM_CONFIG_REGISTRY',
  'npm_config_registry',
  // CA certificates and proxies, which the worker keeps (function_worker.ts): Deno reads
  // NODE_EXTRA_CA_CERTS for a TLS-intercepting proxy in front of the npm registry.
  ...NETWORK_ENV,
];

function hostEnv(fnEnv: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of HOST_ENV) {
    const v = Deno.env.get(k);
    if (v !== undefined && !(k in fnEnv)) out[k] = v;
  }
  return out;
}

async function startSimulator(port: number, logDir: string): Promise<ChildService> {
  const svc = await spawnService({
    name: 'twilio-simulator',
    cmd: [Deno.execPath(), 'run', '-A', `${ROOT}/dev/stack/twilio_sim_service.ts`],
    logFile: `${logDir}/twilio-simulator.log`,
    cwd: ROOT,
    env: { SIMULATOR_PORT: String(port) },
  });
  await waitForHttp(`http://127.0.0.1:${port}/`, svc, 30_000);
  return svc;
}

/** Both processes as one service: either dying is the functions service dying. */
function together(main: ChildService, sim?: ChildService): ChildService {
  if (!sim) return main;
  return {
    ...main,
    exited: Promise.race([main.exited, sim.exited]),
    stop: async () => void (await Promise.all([main.stop(), sim.stop()])),
  };
}

export async function startFunctions(opts: FunctionsOptions): Promise<ChildService | undefined> {
  const simPort = twilioSimulated(opts.env) ? freePort() : undefined;
  const env = functionsEnv(opts.env, simPort ? `http://127.0.0.1:${simPort}` : undefined);
  const host = hostEnv(env);
  const [sim, svc] = await Promise.all([
    simPort ? startSimulator(simPort, opts.logDir) : undefined,
    spawnService({
      name: 'functions',
      cmd: [Deno.execPath(), 'run', '-A', `${ROOT}/dev/stack/functions_server.ts`],
      logFile: `${opts.logDir}/functions.log`,
      cwd: ROOT,
      clearEnv: true,
      env: {
        ...host,
        ...env,
        SUPABASE_INTERNAL_PORT: String(opts.port),
        SUPABASE_INTERNAL_PROJECT_DIR: opts.projectDir ?? ROOT,
        SUPABASE_INTERNAL_HOST_ENV: Object.keys(host).join(','),
        SUPABASE_INTERNAL_WALLCLOCK_LIMIT_SEC: String(opts.wallClockSec ?? 150),
      },
    }),
  ]);
  try {
    await waitForHttp(`http://127.0.0.1:${opts.port}/_internal/health`, svc, 120_000);
  } catch (e) {
    await sim?.stop();
    throw e;
  }
  return together(svc, sim);
}
