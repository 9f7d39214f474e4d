// `deno task deploy:check [--root DIR] [--skip-migrations]`: what can be verified offline before
// `supabase functions deploy` / `supabase db push` to a hosted project. Each check prints what it
// found; the task exits 1 when any fails. `deno task test` runs it as the `deploy` suite.
import { throwawayCluster } from '../stack/cluster.ts';
import { ROOT } from '../stack/database.ts';
import { type FunctionSpec, readFunctionSpecs, readImportMap } from '../stack/function_config.ts';
import { documentedNames } from '../stack/function_env.ts';
import { runQuiet } from '../stack/proc.ts';
import { blockedSmtpPort } from '../../functions/_shared/email.ts';
import { DEFAULT_POOL_MAX, poolConfig } from '../../functions/_shared/db.ts';

export interface Check {
  name: string;
  ok: boolean;
  lines: string[];
}

/** Hosted limit on a function's bundle (supabase.com/docs/guides/functions/limits). */
export const BUNDLE_LIMIT_BYTES = 20 * 1024 * 1024;
/** Direct connections on the smallest hosted instances (Nano/Micro). */
const HOSTED_DIRECT_CONNECTIONS = 60;
const WORKER = `${ROOT}/dev/stack/function_worker.ts`;

type Migrations = 'fresh' | 'skip' | { applied: string };

// deno-lint-ignore no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

async function walk(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) await walk(p, out);
    else if (e.isFile && p.endsWith('.ts') && !p.endsWith('database.types.ts')) out.push(p);
  }
  return out.sort();
}

function rel(root: string, p: string) {
  return p.startsWith(`${root}/`) ? p.slice(root.length + 1) : p;
}

async function checkConfig(root: string, specs: FunctionSpec[]): Promise<Check> {
  const c: Check = { name: 'config.toml and import maps', ok: true, lines: [] };
  if (!specs.length) c.ok = false, c.lines.push('supabase/config.toml declares no [functions.*]');
  for (const s of specs) {
    const entry = await Deno.stat(s.entrypoint).then((st) => st.isFile, () => false);
    if (!entry) {
      c.ok = false, c.lines.push(`${s.name}: entrypoint ${rel(root, s.entrypoint)} missing`);
    }
    if (!s.importMap) {
      c.ok = false;
      c.lines.push(`${s.name}: no import map (set import_map in [functions.${s.name}])`);
      continue;
    }
    try {
      const n = Object.keys(await readImportMap(s.importMap)).length;
      c.lines.push(`${s.name}: ${rel(root, s.entrypoint)} with ${rel(root, s.importMap)} (${n})`);
    } catch (e) {
      c.ok = false, c.lines.push(`${s.name}: ${(e as Error).message}`);
    }
  }
  return c;
}

async function checkPins(root: string, specs: FunctionSpec[]): Promise<Check> {
  const c: Check = { name: 'function pins agree with the root deno.json', ok: true, lines: [] };
  const rootImports = (JSON.parse(await Deno.readTextFile(`${root}/deno.json`)).imports ??
    {}) as Record<string, string>;
  for (const map of new Set(specs.map((s) => s.importMap).filter((m) => m !== undefined))) {
    const imports = await readImportMap(map!).catch(() => ({} as Record<string, string>));
    for (const [k, v] of Object.entries(imports)) {
      if (!/^npm:\/?(@[^/@]+\/)?[^/@]+@\d+\.\d+\.\d+[^\s^~<>=|*]*\/?$/.test(v)) {
        c.ok = false;
        c.lines.push(`${rel(root, map!)}: ${k} is ${v}, not an exact npm: version`);
      }
      if (rootImports[k] === v) continue;
      c.ok = false;
      c.lines.push(
        `${rel(root, map!)} pins ${k} to ${v}, deno.json to ${rootImports[k] ?? '(none)'}`,
      );
    }
  }
  if (c.ok) c.lines.push('every pin exact and identical');
  return c;
}

const RELATIVE_IMPORT = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/**
 * Every local file an entrypoint reaches by relative imports, as the CLI's deploy walks them
 * (supabase/cli apps/cli-go/pkg/function/deno.go WalkImportPaths): files outside functions/
 * (common/) are uploaded too, and nothing else outside it is.
 */
async function reachedFiles(entrypoints: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const todo = [...entrypoints];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    // A file that is not there is left for the type check to report.
    const text = await Deno.readTextFile(f).catch(() => null);
    if (text === null) {
      seen.delete(f);
      continue;
    }
    for (const m of text.matchAll(RELATIVE_IMPORT)) {
      todo.push(new URL(m[1], `file://${f}`).pathname);
    }
  }
  return [...seen];
}

/** Copies what deploy uploads into an empty folder (functions/, the maps, what they import). */
async function isolatedCopy(root: string, specs: FunctionSpec[]): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: 'switchboard-deploy-check-' });
  const files = [
    ...specs.map((s) => s.importMap),
    ...(await walk(`${root}/functions`)),
    ...(await reachedFiles(specs.map((s) => s.entrypoint))),
  ];
  for (const f of new Set(files.filter((f): f is string => !!f))) {
    const target = `${tmp}/${rel(root, f)}`;
    await Deno.mkdir(target.replace(/\/[^/]+$/, ''), { recursive: true });
    await Deno.copyFile(f, target);
  }
  for (const f of await Array.fromAsync(Deno.readDir(`${root}/functions`))) {
    if (f.isFile && f.name.endsWith('.json')) {
      await Deno.copyFile(`${root}/functions/${f.name}`, `${tmp}/functions/${f.name}`);
    }
  }
  return tmp;
}

async function deno(args: string[], cwd: string) {
  const r = await runQuiet([Deno.execPath(), ...args], {
    cwd,
    env: { DENO_NO_PACKAGE_JSON: '1', NO_COLOR: '1' },
  });
  return { ok: r.code === 0, out: plain(r.stderr + r.stdout) };
}

function errorLines(out: string): string[] {
  return out.split('\n').filter((l) => /error|not a dependency|at file:|hint/i.test(l))
    .map((l) => `  ${l.trim()}`).slice(0, 12);
}

/** One `deno check` per map over all its entrypoints, then each entrypoint imported alone. */
async function checkIsolated(root: string, specs: FunctionSpec[], tmp: string): Promise<Check[]> {
  const typed: Check = { name: 'type-check in an empty folder (--no-config)', ok: true, lines: [] };
  const boots: Check = {
    name: 'each entrypoint evaluates (Deno.serve stubbed)',
    ok: true,
    lines: [],
  };
  const mapped = specs.filter((s) => s.importMap);
  const entry = (s: FunctionSpec) => `${tmp}/${rel(root, s.entrypoint)}`;
  const mapArg = (m: string) => `--import-map=${tmp}/${rel(root, m)}`;
  const typeChecks = [...new Set(mapped.map((s) => s.importMap!))].map(async (m) => {
    const group = mapped.filter((s) => s.importMap === m);
    const r = await deno(['check', '--no-config', mapArg(m), ...group.map(entry)], tmp);
    return { group, r };
  });
  const runs = mapped.map(async (s) =>
    [
      s,
      await deno([
        'run',
        '-A',
        '--no-config',
        mapArg(s.importMap!),
        WORKER,
        entry(s),
        '',
        '--import-only',
      ], tmp),
    ] as const
  );
  for (const { group, r } of await Promise.all(typeChecks)) {
    typed.ok &&= r.ok;
    // A function failed when an error points into its folder or into the shared code it imports.
    const failedIn = (s: FunctionSpec) => {
      const dir = entry(s).replace(/\/[^/]+$/, '/');
      return r.out.includes(dir) || r.out.includes(`${tmp}/functions/_shared/`);
    };
    for (const s of group) typed.lines.push(`${s.name}: ${r.ok || !failedIn(s) ? 'ok' : 'FAILED'}`);
    if (!r.ok) typed.lines.push(...errorLines(r.out));
  }
  for (const [s, r] of await Promise.all(runs)) {
    boots.ok &&= r.ok;
    boots.lines.push(`${s.name}: ${r.ok ? 'ok' : 'FAILED'}`, ...(r.ok ? [] : errorLines(r.out)));
  }
  return [typed, boots];
}

/**
 * `deno info --json` lists each function's graph; `deno bundle` of that graph (npm packages
 * inlined, not minified) measures what the deployed bundle carries, against the 20 MB limit.
 */
async function checkBundles(root: string, specs: FunctionSpec[], tmp: string): Promise<Check> {
  const c: Check = { name: 'module graph under the 20 MB bundle limit', ok: true, lines: [] };
  for (const s of specs.filter((s) => s.importMap)) {
    const map = `--import-map=${tmp}/${rel(root, s.importMap!)}`;
    const entry = `${tmp}/${rel(root, s.entrypoint)}`;
    const info = await deno(['info', '--json', '--no-config', map, entry], tmp);
    const out = `${tmp}/${s.name}.bundle.js`;
    const bundle = await deno(['bundle', '--no-config', map, entry, '-o', out], tmp);
    if (!info.ok || !bundle.ok) {
      c.ok = false, c.lines.push(`${s.name}: cannot measure`, ...errorLines(info.out + bundle.out));
      continue;
    }
    const graph = JSON.parse(info.out) as { modules: unknown[]; npmPackages: object };
    const size = (await Deno.stat(out)).size;
    const over = size >= BUNDLE_LIMIT_BYTES;
    if (over) c.ok = false;
    c.lines.push(
      `${s.name}: ${(size / 1024 / 1024).toFixed(2)} MB (${graph.modules.length} modules, ${
        Object.keys(graph.npmPackages).length
      } npm packages)${over ? ' OVER THE LIMIT' : ''}`,
    );
  }
  return c;
}

/** Names read through the env.ts schema or a call with one ALL_CAPS literal (Deno.env.get). */
export async function envNamesRead(root: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const f of await walk(`${root}/functions`)) {
    const text = await Deno.readTextFile(f);
    for (const m of text.matchAll(/\(\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'\s*\)/g)) {
      names.set(m[1], rel(root, f));
    }
    if (f.endsWith('/_shared/env.ts')) {
      const schema = text.slice(text.indexOf('z.object({'), text.indexOf('}).superRefine'));
      for (const m of schema.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)) names.set(m[1], rel(root, f));
    }
  }
  return names;
}

async function checkEnvDocumented(root: string): Promise<Check> {
  const c: Check = { name: 'every variable documented in .env.example', ok: true, lines: [] };
  const example = `${root}/supabase/functions/.env.example`;
  const text = await Deno.readTextFile(example).catch(() => '');
  if (!text) return { ...c, ok: false, lines: [`${rel(root, example)} is missing`] };
  const documented = documentedNames(text);
  const read = await envNamesRead(root);
  for (const [name, file] of read) {
    if (!documented.has(name)) {
      c.ok = false, c.lines.push(`${name} (read in ${file}) is not in ${rel(root, example)}`);
    }
  }
  if (c.ok) c.lines.push(`${read.size} variables read, all documented`);
  return c;
}

async function checkSmtp(root: string): Promise<Check> {
  const c: Check = { name: 'no SMTP on blocked ports 25/587', ok: true, lines: [] };
  const sources = [
    ...(await walk(`${root}/functions`)),
    `${root}/supabase/config.toml`,
    `${root}/supabase/functions/.env.example`,
    `${root}/supabase/functions/.env`,
  ];
  const pattern = /smtps?:\/\/[^\s'"`)]+|\bport\s*[:=]\s*(25|587)\b/gi;
  for (const f of sources) {
    const text = await Deno.readTextFile(f).catch(() => '');
    for (const m of text.matchAll(pattern)) {
      const port = m[1] ? Number(m[1]) : blockedSmtpPort(m[0].replace(/[<>…]/g, 'x'));
      if (port) c.ok = false, c.lines.push(`${rel(root, f)}: ${m[0]} uses port ${port}`);
    }
  }
  if (blockedSmtpPort('smtp://mail.example.com') !== 587) {
    c.ok = false, c.lines.push('functions/_shared/email.ts no longer refuses port 587');
  }
  if (c.ok) c.lines.push('none in code, config or env files; email.ts refuses 25/587 at runtime');
  return c;
}

async function checkPool(root: string): Promise<Check> {
  const c: Check = { name: 'Postgres pool sized for hosted limits', ok: true, lines: [] };
  const direct = poolConfig('postgres://db:5432/postgres', {});
  const pooled = poolConfig('postgres://db:5432/postgres', { DB_POOL_URL: 'postgres://p:6543/p' });
  c.lines.push(
    `default ${direct.max} connections per isolate (${HOSTED_DIRECT_CONNECTIONS} direct on Nano/Micro)`,
    `DB_POOL_URL: ${pooled.url.includes(':6543') ? 'pooler' : '?'}, prepare=${pooled.prepare}`,
  );
  if (direct.max > DEFAULT_POOL_MAX || direct.max * 10 > HOSTED_DIRECT_CONNECTIONS) c.ok = false;
  if (pooled.prepare) {
    c.ok = false, c.lines.push('the pooler URL must run without prepared statements');
  }
  for (const f of await walk(`${root}/functions`)) {
    if (f.endsWith('/_shared/db.ts')) continue;
    if (/\bpostgres\s*\(/.test(await Deno.readTextFile(f))) {
      c.ok = false, c.lines.push(`${rel(root, f)} opens its own pool: use functions/_shared/db.ts`);
    }
  }
  return c;
}

async function checkMigrations(m: Migrations): Promise<Check> {
  const c: Check = {
    name: 'migrations apply with supabase db push to a fresh cluster',
    ok: true,
    lines: [],
  };
  if (m === 'skip') return { ...c, lines: ['skipped (--skip-migrations)'] };
  try {
    let applied: string;
    if (m === 'fresh') {
      const db = await throwawayCluster({ seed: false });
      applied = db.applied;
      await db.dispose();
    } else applied = m.applied;
    const n = (applied.match(/Applying migration/g) ?? []).length;
    c.lines.push(
      n ? `${n} migrations applied` : applied.trim().split('\n').slice(-1)[0] ?? 'applied',
    );
  } catch (e) {
    c.ok = false, c.lines.push(...(e as Error).message.split('\n').slice(0, 15));
  }
  return c;
}

export async function deployCheck(
  opts: { root?: string; migrations?: Migrations } = {},
): Promise<Check[]> {
  const root = opts.root ?? ROOT;
  let specs: FunctionSpec[];
  try {
    specs = await readFunctionSpecs(root);
  } catch (e) {
    return [{ name: 'config.toml parses', ok: false, lines: [(e as Error).message] }];
  }
  const tmp = await isolatedCopy(root, specs.filter((s) => s.importMap));
  try {
    const [config, pins, isolated, bundles, env, smtp, pool, migrations] = await Promise.all([
      checkConfig(root, specs),
      checkPins(root, specs),
      checkIsolated(root, specs, tmp),
      checkBundles(root, specs, tmp),
      checkEnvDocumented(root),
      checkSmtp(root),
      checkPool(root),
      checkMigrations(opts.migrations ?? 'fresh'),
    ]);
    return [config, pins, ...isolated, bundles, env, smtp, pool, migrations];
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

export function printChecks(checks: Check[]) {
  for (const c of checks) {
    console.log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}`);
    for (const l of c.lines) console.log(`       ${l}`);
  }
}

if (import.meta.main) {
  const args = Deno.args;
  const rootAt = args.indexOf('--root');
  const checks = await deployCheck({
    root: rootAt >= 0 ? args[rootAt + 1] : ROOT,
    migrations: args.includes('--skip-migrations') ? 'skip' : 'fresh',
  });
  printChecks(checks);
  const failed = checks.filter((c) => !c.ok);
  console.log(
    failed.length
      ? `\ndeploy check FAILED: ${failed.map((c) => c.name).join('; ')}`
      : '\ndeploy check passed',
  );
  Deno.exit(failed.length ? 1 : 0);
}
