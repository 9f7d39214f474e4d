// Edge functions for the local stack: one Deno process (stack/functions_server.ts) serving
// /functions/v1/<name> from functions/<name>/handler.ts and — unless a
// real TWILIO_API_URL is configured — the Twilio simulator. Development/test defaults are
// filled in here so stack.ts passes only what it knows.
import { ROOT } from './database.ts';
import { freePort } from './ports.ts';
import { type ChildService, spawnService, waitForHttp } from './service.ts';
import { SIM_ACCOUNT_SID, SIM_AUTH_TOKEN } from './twilio_simulator.ts';

export interface FunctionsOptions {
  /** Port the functions server listens on (the gateway proxies /functions/v1 to it). */
  port: number;
  /** Function environment (ARCHITECTURE.md "Configuration"), including SUPABASE_* values. */
  env: Record<string, string>;
  logDir: string;
}

/**
 * The CREDENTIALS_KEY of development and test stacks only (base64 of 32 fixed bytes). A deployed
 * project sets its own secret: `supabase secrets set CREDENTIALS_KEY=$(openssl rand -base64 32)`.
 */
export const DEV_CREDENTIALS_KEY = btoa('switchboard-dev-only-credentials');
/** Twilio's magic "valid sender" test number, the simulator's default platform number. */
export const SIM_PHONE_NUMBER = '+15005550006';

/** The function environment of a dev/test stack: given values win over these defaults. */
export function functionsEnv(given: Record<string, string>, simulatorUrl?: string) {
  const out: Record<string, string> = {
    CREDENTIALS_KEY: DEV_CREDENTIALS_KEY,
    EMAIL_PROVIDER: 'log',
    PUBLIC_FUNCTIONS_URL: `${given.SUPABASE_URL}/functions/v1`,
    ...given,
  };
  if (simulatorUrl) {
    out.TWILIO_API_URL = simulatorUrl;
    out.TWILIO_ACCOUNT_SID ??= SIM_ACCOUNT_SID;
    out.TWILIO_AUTH_TOKEN ??= SIM_AUTH_TOKEN;
    out.TWILIO_PHONE_NUMBER ??= SIM_PHONE_NUMBER;
  }
  return out;
}

export async function startFunctions(opts: FunctionsOptions): Promise<ChildService | undefined> {
  const simPort = opts.env.TWILIO_API_URL ? undefined : freePort();
  const env = functionsEnv(opts.env, simPort ? `http://127.0.0.1:${simPort}` : undefined);
  const svc = await spawnService({
    name: 'functions',
    cmd: [Deno.execPath(), 'run', '-A', `${ROOT}/stack/functions_server.ts`],
    logFile: `${opts.logDir}/functions.log`,
    cwd: ROOT,
    env: {
      ...env,
      FUNCTIONS_PORT: String(opts.port),
      ...(simPort ? { SIMULATOR_PORT: String(simPort) } : {}),
    },
  });
  await waitForHttp(`http://127.0.0.1:${opts.port}/_internal/health`, svc, 60_000);
  return svc;
}
