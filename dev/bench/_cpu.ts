// CPU time spent by groups of processes between two points of a benchmark, from /proc (Linux):
// tells whether a figure is bound by our JS, by Postgres or by the load/fake side, and gives
// "CPU ms per message" for both sides of a comparison made in the same run.

const TICK_MS = 10; // USER_HZ is 100 on Linux.

/** Fields 3… of /proc/<pid>/stat (f[0] is the state), or null if the process is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 2 (comm) may contain spaces: split after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * CPU ms of a process: its own (utime + stime) and that of its children it has reaped (cutime +
 * cstime), so a backend that ended between two snapshots still counts, under its postmaster.
 */
function procMs(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS : 0;
}

function allPids(): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync('/proc')) {
    if (/^\d+$/.test(e.name)) pids.push(Number(e.name));
  }
  return pids;
}

function ppid(pid: number): number {
  return Number(statFields(pid)?.[1] ?? -1);
}

/** The postmaster of the cluster in `dataDir` and all its children (backends, workers). */
export function postgresPids(dataDir: string): () => number[] {
  let postmaster = 0;
  return () => {
    postmaster ||= Number(
      Deno.readTextFileSync(`${dataDir}/postmaster.pid`).split('\n')[0],
    );
    return [postmaster, ...allPids().filter((pid) => ppid(pid) === postmaster)];
  };
}

/** A process and its direct children (the functions server and its per-function workers). */
export function withChildren(pid: number): () => number[] {
  return () => [pid, ...allPids().filter((p) => ppid(p) === pid)];
}

export type Groups = Record<string, () => number[]>;

/**
 * Snapshot of CPU ms per group. Postgres backends come and go during a run (connection pools),
 * so a group is re-resolved at every snapshot.
 */
export function cpuSnapshot(groups: Groups): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    out[name] = pids().reduce((a, pid) => a + procMs(pid), 0);
  }
  return out;
}

/** CPU ms per group between two snapshots. */
export function cpuBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(after)) cpu[k] = after[k] - (before[k] ?? 0);
  return cpu;
}

/** CPU ms per group spent while `fn` ran. */
export async function measureCpu<T>(
  groups: Groups,
  fn: () => Promise<T>,
): Promise<{ result: T; cpu: Record<string, number> }> {
  const before = cpuSnapshot(groups);
  const result = await fn();
  return { result, cpu: cpuBetween(before, cpuSnapshot(groups)) };
}

/** "group ms, …" per unit of work (message, request), for the printed tables. */
export function cpuPer(cpu: Record<string, number>, units: number): string {
  return Object.entries(cpu).map(([k, ms]) => `${k} ${(ms / units).toFixed(3)}`).join(', ');
}
