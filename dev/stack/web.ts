// The dashboard for the local stack. `dev` runs Vite's dev server (hot reload) on the given port;
// `test` (and `preview`) builds the bundle once into a fresh folder and serves it with
// `vite preview`, which is what a deployment serves. Either way only VITE_SUPABASE_URL and one
// public key (the publishable key, else the legacy anon key) reach the bundle (web/vite.config.ts);
// secrets are blanked in the child.
import { ROOT } from './database.ts';
import { type ChildService, logTail, spawnService, waitForHttp } from './service.ts';

export const VITE = 'npm:vite@8.3.8';

export interface WebOptions {
  /** 3000 in dev; a free port in tests. */
  port: number;
  /** The stack's environment: SUPABASE_URL and SUPABASE_PUBLISHABLE_KEY (or _ANON_KEY) are used. */
  env: Record<string, string>;
  logDir: string;
  mode: 'dev' | 'test' | 'preview';
  /** Where `test`/`preview` put the built bundle (default: a folder under logDir). */
  outDir?: string;
}

/** The child's environment: the two public values, with anything secret blanked. */
function webEnv(env: Record<string, string>, outDir?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(Deno.env.toObject())) {
    if (/SERVICE_ROLE|SECRET|JWKS|PASSWORD|DB_URL|AUTH_TOKEN|API_KEY|CREDENTIALS/i.test(k)) {
      out[k] = '';
    }
  }
  out.VITE_SUPABASE_URL = env.VITE_SUPABASE_URL ?? env.SUPABASE_URL ?? 'http://127.0.0.1:54321';
  out.VITE_SUPABASE_PUBLISHABLE_KEY = env.VITE_SUPABASE_PUBLISHABLE_KEY ??
    env.SUPABASE_PUBLISHABLE_KEY ?? '';
  out.VITE_SUPABASE_ANON_KEY = env.VITE_SUPABASE_ANON_KEY ?? env.SUPABASE_ANON_KEY ?? '';
  if (outDir) out.SWITCHBOARD_WEB_OUT_DIR = outDir;
  return out;
}

/** Builds the dashboard into `outDir` for the given Supabase URL and anon key. */
export async function buildWeb(opts: { env: Record<string, string>; outDir: string }) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', VITE, 'build', 'web', '--logLevel', 'warn'],
    cwd: ROOT,
    env: webEnv(opts.env, opts.outDir),
    stdout: 'piped',
    stderr: 'piped',
  }).output();
  if (!out.success) {
    const dec = new TextDecoder();
    throw new Error(`dashboard build failed:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`);
  }
}

export async function startWeb(opts: WebOptions): Promise<ChildService> {
  const logFile = `${opts.logDir}/web.log`;
  const common = ['--port', String(opts.port), '--strictPort', '--host', '127.0.0.1'];
  let args: string[];
  let outDir: string | undefined;
  if (opts.mode === 'dev') {
    args = ['run', '-A', VITE, 'web', ...common];
  } else {
    outDir = opts.outDir ?? `${opts.logDir}/web-dist`;
    await buildWeb({ env: opts.env, outDir });
    args = ['run', '-A', VITE, 'preview', 'web', '--outDir', outDir, ...common];
  }
  const svc = await spawnService({
    name: 'web',
    cmd: [Deno.execPath(), ...args],
    logFile,
    env: webEnv(opts.env, outDir),
    cwd: ROOT,
  });
  try {
    await waitForHttp(`http://127.0.0.1:${opts.port}/`, svc, 60_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${await logTail(logFile)}`);
  }
  return svc;
}
