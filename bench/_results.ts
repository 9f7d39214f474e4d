// Appends a dated section to bench/RESULTS.md (never rewrites what others wrote).
import { ROOT } from '../stack/database.ts';

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
