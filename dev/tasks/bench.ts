// `deno task bench [name ...]`: runs dev/bench/<name>.ts (all of them without a name). Each benchmark
// prints its figures and replaces its own section of dev/bench/RESULTS.md.
import { ROOT } from '../stack/database.ts';

const available: string[] = [];
for await (const e of Deno.readDir(`${ROOT}/dev/bench`)) {
  if (e.isFile && e.name.endsWith('.ts') && !e.name.startsWith('_')) {
    available.push(e.name.replace(/\.ts$/, ''));
  }
}
available.sort();
// `deno task bench db -- --flag`: arguments after `--` go to each benchmark.
const split = Deno.args.indexOf('--');
const names = split < 0 ? Deno.args : Deno.args.slice(0, split);
const extra = split < 0 ? [] : Deno.args.slice(split + 1);
const wanted = names.length ? names : available;
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(
    `unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ') || 'none'}`,
  );
  Deno.exit(2);
}
let failed = false;
for (const name of wanted) {
  console.log(`\n== bench ${name}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', `${ROOT}/dev/bench/${name}.ts`, ...extra],
    cwd: ROOT,
    stdout: 'inherit',
    stderr: 'inherit',
  }).spawn().status;
  if (!status.success) failed = true;
}
Deno.exit(failed ? 1 : 0);
