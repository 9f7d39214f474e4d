// dev/bench/RESULTS.md holds the latest run of each benchmark, one section per benchmark, each with its
// date and machine; a run replaces its own section and leaves the others alone. Earlier runs are
// in git history (`git log -p dev/bench/RESULTS.md`).
import { ROOT } from '../stack/database.ts';

export const RESULTS_FILE = `${ROOT}/dev/bench/RESULTS.md`;

// Section order in the file; a benchmark not listed goes after these, by key. db is last: its
// section carries the query plans.
const ORDER = ['dispatch', 'webhook', 'stack', 'web', 'ai', 'db'];

const HEADER = [
  '# Benchmark results',
  '',
  'The latest run of each benchmark (`deno task bench <name>`), with its date and machine. Each',
  'run replaces its own section (dev/bench/_results.ts); earlier figures are in git history',
  '(`git log -p dev/bench/RESULTS.md`).',
].join('\n');

const begin = (key: string) => `<!-- bench:${key} -->`;
const end = (key: string) => `<!-- /bench:${key} -->`;

/** The sections of a results file by key (text between its markers, markers excluded). */
export function parseSections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/<!-- bench:([\w-]+) -->\n([\s\S]*?)\n<!-- \/bench:\1 -->/g)) {
    out.set(m[1], m[2]);
  }
  return out;
}

/** The file with `key`'s section replaced (or added), in the fixed order. */
export function replaceSection(text: string, key: string, section: string): string {
  const sections = parseSections(text);
  sections.set(key, section.trim());
  const rank = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  const keys = [...sections.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return [HEADER, ...keys.map((k) => `${begin(k)}\n${sections.get(k)}\n${end(k)}`)].join('\n\n') +
    '\n';
}

/** "AMD EPYC …, 2 cores, load average 1.2 when written; Deno 2.9.6." */
export async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile('/proc/cpuinfo').catch(() => ''))
    .match(/model name\s*:\s*(.+)/)?.[1] ?? 'unknown CPU';
  const cores = navigator.hardwareConcurrency;
  const load = (await Deno.readTextFile('/proc/loadavg').catch(() => '')).split(' ')[0] || '?';
  return `Machine: ${cpu}, ${cores} cores, load average ${load} when written; Deno ${Deno.version.deno}.`;
}

/** Writes this run as `key`'s section of dev/bench/RESULTS.md, replacing the previous run's. */
export async function writeResults(key: string, title: string, lines: string[]) {
  const existing = await Deno.readTextFile(RESULTS_FILE).catch(() => '');
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const section = [`## ${title} — ${when} UTC`, '', await machine(), '', ...lines].join('\n');
  await Deno.writeTextFile(RESULTS_FILE, replaceSection(existing, key, section));
}

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
