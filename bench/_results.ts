// Appends a dated section to bench/RESULTS.md (never rewrites what others wrote).
import { ROOT } from '../stack/database.ts';

/**
 * Replaces every section whose title starts with `prefix` (and the notes about them) by one new
 * section: RESULTS.md holds the latest figures of a bench; its history stays in git.
 */
export async function replaceResults(prefix: string, title: string, lines: string[]) {
  const file = `${ROOT}/bench/RESULTS.md`;
  const existing = await Deno.readTextFile(file).catch(() => '# Benchmark results\n');
  const parts = existing.split(/\n(?=## )/);
  const note = `## Note on the ${prefix.replace(/[: ]+$/, '').toLowerCase()} runs`;
  const kept = parts.filter((p) => !p.startsWith(`## ${prefix}`) && !p.startsWith(note));
  await Deno.writeTextFile(file, kept.join('\n').trimEnd() + '\n');
  await appendResults(title, lines);
}

export async function appendResults(title: string, lines: string[]) {
  const file = `${ROOT}/bench/RESULTS.md`;
  const existing = await Deno.readTextFile(file).catch(() => '# Benchmark results\n');
  const cpu = (await Deno.readTextFile('/proc/cpuinfo').catch(() => ''))
    .match(/model name\s*:\s*(.+)/)?.[1] ?? 'unknown CPU';
  const cores = navigator.hardwareConcurrency;
  const load = (await Deno.readTextFile('/proc/loadavg').catch(() => '')).split(' ')[0] || '?';
  const section = [
    '',
    `## ${title} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${cpu}, ${cores} cores, load average ${load} when written; Deno ${Deno.version.deno}.`,
    '',
    ...lines,
    '',
  ].join('\n');
  await Deno.writeTextFile(file, existing.trimEnd() + '\n' + section);
}

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
