// `deno task test [suite ...]`: every suite (or the named ones) against a throwaway cluster on free
// ports, never the dev stack. Prints each suite's result and ends with `N passed, N failed`.
//
// Suites: check (deno fmt --check, lint, type check), schema (generated types and the schema map
// docs/schema.sql are fresh, advisors report no ERROR and no unexplained security WARN), db (pgTAP
// via pg_prove), one `deno test` suite per folder in dev/tests/ that holds *.test.ts files (stack,
// functions, e2e), and deploy (`deno task deploy:check`, reusing this run's fresh cluster for the
// migrations check). A test that ignores itself counts as failed.
import { throwawayCluster } from '../stack/cluster.ts';
import { advisors, generateTypes, ROOT, TYPES_FILE } from '../stack/database.ts';
import { type Cluster, DB_PASSWORD, psql } from '../stack/postgres.ts';
import { startStack } from '../stack/stack.ts';
import { generateSchemaMap, SCHEMA_FILE } from './schema_map.ts';
import { deployCheck } from './deploy_check.ts';

interface SuiteResult {
  name: string;
  passed: number;
  failed: number;
  notes: string[];
}

const DENO_SUITES = ['stack', 'functions', 'e2e'];
const ALL = ['check', 'schema', 'deploy', 'db', ...DENO_SUITES];

// `--only=REGEX` narrows the db and Deno suites to the test files whose name matches, for working
// on one area; the full run (what CI does) never passes it.
const onlyArg = Deno.args.find((a) => a.startsWith('--only='));
const only = onlyArg ? new RegExp(onlyArg.slice('--only='.length)) : null;
const suiteArgs = Deno.args.filter((a) => a !== onlyArg);
const requested = suiteArgs.length ? suiteArgs : ALL;
for (const s of requested) {
  if (!ALL.includes(s)) {
    console.error(`unknown suite "${s}"; known: ${ALL.join(', ')}`);
    Deno.exit(2);
  }
}

async function listFiles(dir: string, suffix: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !e.name.endsWith(suffix)) continue;
      if (only && !e.name.startsWith('_') && !only.test(e.name)) continue;
      out.push(`${dir}/${e.name}`);
    }
  } catch {
    // no such folder: the suite has no tests yet
  }
  return out.sort();
}

async function schemaSuite(cluster: Parameters<typeof generateTypes>[0]): Promise<SuiteResult> {
  const r: SuiteResult = { name: 'schema', passed: 0, failed: 0, notes: [] };
  const fresh = await generateTypes(cluster);
  const committed = await Deno.readTextFile(TYPES_FILE).catch(() => '');
  if (fresh === committed) r.passed++;
  else {
    r.failed++;
    r.notes.push(
      `common/database.types.ts is stale: run \`deno task types\` and commit it`,
    );
  }
  const map = await generateSchemaMap(cluster);
  const committedMap = await Deno.readTextFile(SCHEMA_FILE).catch(() => '');
  if (map === committedMap) r.passed++;
  else {
    r.failed++;
    const [a, b] = [map.split('\n'), committedMap.split('\n')];
    const line = a.findIndex((l, i) => l !== b[i]) + 1 || a.length + 1;
    r.notes.push(
      `docs/schema.sql is stale (first difference at line ${line}: ${
        JSON.stringify(a[line - 1])
      }):`,
      `run \`deno task types\` and commit it`,
    );
  }
  const lints = await advisors(cluster);
  const errors = lints.filter((l) => l.level === 'ERROR');
  if (errors.length === 0) r.passed++;
  else {
    r.failed++;
    for (const e of errors) r.notes.push(`advisor ERROR ${e.name}: ${e.detail}`);
  }
  // Security lints at WARN level fail too, unless the reason they stay is written down here.
  const warnings = lints.filter((l) =>
    l.level === 'WARN' && l.categories.includes('SECURITY') &&
    // The pgTAP helpers (dev/tests/db/_helpers*.sql) are installed by the db suite, never by a
    // migration, and deliberately switch role and claims: not part of the deployed schema.
    l.metadata?.schema !== 'tests' &&
    !EXPLAINED_WARNINGS[`${l.name}:${l.metadata?.schema}.${l.metadata?.name}`]
  );
  if (warnings.length === 0) r.passed++;
  else {
    r.failed++;
    for (const w of warnings) r.notes.push(`advisor WARN ${w.name}: ${w.detail}`);
  }
  return r;
}

/**
 * Security WARNs of `supabase db advisors` that stay, keyed `lint:schema.object`, each with why.
 * The sending-rule helpers evaluated per row by private.claim_due_messages and the enqueue trigger
 * have no `SET search_path`: PostgreSQL inlines a SQL function only when it has no SET clause
 * (inline_function() in src/backend/optimizer/util/clauses.c returns early when proconfig is
 * set), and inlined they cost about nothing per claimed row. Every name in their bodies is
 * schema-qualified, so the caller's search_path cannot change what they resolve to.
 */
const INLINED = 'inlined per row into the claim and enqueue rules; all names schema-qualified';
const EXPLAINED_WARNINGS: Record<string, string> = {
  'function_search_path_mutable:private.contact_address': INLINED,
  'function_search_path_mutable:private.contact_block_reason': INLINED,
  'function_search_path_mutable:private.whatsapp_block_reason': INLINED,
  'function_search_path_mutable:private.message_block_reason': INLINED,
  'function_search_path_mutable:private.quiet_hours_kind': INLINED,
};

/** `deno task check`'s four steps, so CI catches formatting, lint and type errors too. */
async function checkSuite(): Promise<SuiteResult> {
  const r: SuiteResult = { name: 'check', passed: 0, failed: 0, notes: [] };
  const steps: [string, string[]][] = [
    ['deno fmt --check', ['fmt', '--check']],
    ['deno lint', ['lint']],
    ['deno check', ['check', 'dev', 'functions', 'web', 'common']],
    ['structure', ['run', '-A', 'dev/tasks/structure_check.ts']],
  ];
  for (const [label, args] of steps) {
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: 'piped',
      stderr: 'piped',
    })
      .output();
    if (out.success) r.passed++;
    else {
      r.failed++;
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      // deno-lint-ignore no-control-regex
      const plain = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.trim());
      r.notes.push(
        `${label} failed:`,
        ...plain.filter((l) => !/^(Check|Download|Initialize) /.test(l)).slice(0, 30),
      );
    }
  }
  return r;
}

/** deploy:check's checks, one result each; migrations were applied to this run's fresh cluster. */
async function deploySuite(applied: string): Promise<SuiteResult> {
  const r: SuiteResult = { name: 'deploy', passed: 0, failed: 0, notes: [] };
  for (const c of await deployCheck({ migrations: { applied } })) {
    if (c.ok) r.passed++;
    else {
      r.failed++;
      r.notes.push(`${c.name}:`, ...c.lines);
    }
  }
  return r;
}

async function dbSuite(cluster: Cluster): Promise<SuiteResult> {
  const r: SuiteResult = { name: 'db', passed: 0, failed: 0, notes: [] };
  const all = await listFiles(`${ROOT}/dev/tests/db`, '.sql');
  const isHelper = (f: string) => f.split('/').pop()!.startsWith('_');
  const files = all.filter((f) => !isHelper(f));
  if (!files.length) return r;
  // As `supabase test db` does: pgTAP is a test-time extension, never part of the migrations.
  await psql(cluster, { sql: 'create extension if not exists pgtap with schema extensions' });
  for (const helper of all.filter(isHelper)) await psql(cluster, { file: helper });
  const port = cluster.port;
  const cmd = new Deno.Command('pg_prove', {
    args: [
      '--verbose',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      ...files,
    ],
    env: { PGPASSWORD: DB_PASSWORD },
    stdout: 'piped',
    stderr: 'piped',
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  r.passed = (text.match(/^\s*ok \d+/gm) ?? []).length;
  r.failed = (text.match(/^\s*not ok \d+/gm) ?? []).length;
  // A file that dies or misses its plan fails without a `not ok` line of its own.
  const badFiles = [...text.matchAll(/^(\S+\.sql) \(Wstat: \d+ Tests: \d+ Failed: (\d+)\)/gm)];
  for (const [, file, failed] of badFiles) {
    if (Number(failed) === 0) {
      r.failed++;
      r.notes.push(`${file} died or did not run its plan`);
    }
  }
  if (out.code !== 0 && r.failed === 0) {
    r.failed++;
    r.notes.push('pg_prove failed');
  }
  if (r.failed) {
    r.notes.push(
      ...text.split('\n').filter((l) =>
        /not ok|#\s+(Failed|have|want|got|expected)|ERROR|Dubious/.test(l)
      )
        .slice(0, 60),
    );
  }
  return r;
}

async function denoSuite(name: string, env: Record<string, string>): Promise<SuiteResult> {
  const r: SuiteResult = { name, passed: 0, failed: 0, notes: [] };
  const files = await listFiles(`${ROOT}/dev/tests/${name}`, '.test.ts');
  if (!files.length) return r;
  const child = new Deno.Command(Deno.execPath(), {
    args: ['test', '-A', '--no-check', ...files],
    cwd: ROOT,
    env,
    stdout: 'piped',
    stderr: 'piped',
  }).spawn();
  // Stream the suite's output as it runs and keep it for counting.
  let text = '';
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>, to: typeof Deno.stdout) => {
    for await (const chunk of s) {
      text += dec.decode(chunk, { stream: true });
      await to.write(chunk);
    }
  };
  await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  const status = await child.status;
  // deno test summary: "ok | 12 passed (3 steps) | 0 failed (1s)"
  // deno-lint-ignore no-control-regex
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
  const m = plain.match(/\|\s*(\d+) passed(?: \(\d+ steps?\))?\s*\|\s*(\d+) failed/);
  if (m) {
    r.passed = Number(m[1]);
    r.failed = Number(m[2]);
  }
  // A test that skipped itself did not pass: CI must not go green on a suite that did not run.
  const ignored = plain.match(/\|\s*(\d+) ignored/);
  if (ignored && Number(ignored[1]) > 0) {
    r.failed += Number(ignored[1]);
    r.notes.push(`${ignored[1]} test(s) ignored themselves; counted as failed`);
  }
  if (!status.success && r.failed === 0) {
    r.failed++;
    r.notes.push(`deno test exited ${status.code}`);
  }
  return r;
}

const t0 = performance.now();
const results: SuiteResult[] = [];
console.log('preparing a throwaway PostgreSQL cluster…');
const db = await throwawayCluster({ log: (s) => console.log(s) });
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
const cleanup = async () => {
  await stack?.stop();
  await db.dispose();
};
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  Deno.addSignalListener(sig, async () => {
    await cleanup();
    Deno.exit(code);
  });
}
try {
  console.log(
    `cluster ready on port ${db.cluster.port} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const env: Record<string, string> = {
    SWITCHBOARD_TEST_DB_URL: db.cluster.url(),
    SWITCHBOARD_PG_BIN: db.cluster.bin,
  };
  if (requested.some((s) => DENO_SUITES.includes(s))) {
    // Every test signs in from 127.0.0.1, one address for the whole run, so the per-IP limits of
    // config.toml would throttle the suites; dev/tests/stack/auth_limits.test.ts checks those limits
    // on an auth server of its own.
    const unlimited = 1e9;
    stack = await startStack({
      cluster: db.cluster,
      mode: 'test',
      auth: {
        rateLimits: {
          emailSent: unlimited,
          smsSent: unlimited,
          anonymousUsers: unlimited,
          tokenRefresh: unlimited,
          signInSignUps: unlimited,
          tokenVerifications: unlimited,
          web3: unlimited,
        },
      },
    });
    Object.assign(env, stack.env);
  }
  for (const name of requested) {
    const started = performance.now();
    console.log(`\n== suite ${name}`);
    let r: SuiteResult;
    try {
      if (name === 'check') r = await checkSuite();
      else if (name === 'schema') r = await schemaSuite(db.cluster);
      else if (name === 'db') r = await dbSuite(db.cluster);
      else if (name === 'deploy') r = await deploySuite(db.applied);
      else r = await denoSuite(name, env);
    } catch (e) {
      r = { name, passed: 0, failed: 1, notes: [`suite crashed: ${(e as Error).message}`] };
    }
    results.push(r);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`-- ${name}: ${r.passed} passed, ${r.failed} failed (${secs} s)`);
    for (const n of r.notes) console.log(`   ${n}`);
  }
} finally {
  await cleanup();
}

const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log('\nsuite results:');
for (const r of results) {
  console.log(`  ${r.name.padEnd(10)} ${r.passed} passed, ${r.failed} failed`);
}
console.log(`total time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed || passed === 0 ? 1 : 0);
