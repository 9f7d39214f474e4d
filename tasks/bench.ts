// `deno task bench [name ...]`: runs bench/<name>.ts (all of them without a name). Each benchmark
// prints its figures and appends them to bench/RESULTS.md.
import { ROOT } from '../stack/database.ts';

const available: string[] = [];
for await (const e of Deno.readDir(`${ROOT}/bench`)) {
  if (e.isFile && e.name.endsWith('.ts') && !e.name.startsWith('_')) {
    available.push(e.name.replace(/\.ts$/, ''));
  }
}
available.sort();
const wanted = Deno.args.length ? Deno.args : available;
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
  const out = await new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', `${ROOT}/bench/${name}.ts`],
    cwd: ROOT,
  }).output();
  if (!out.success) failed = true;
}
Deno.exit(failed ? 1 : 0);
