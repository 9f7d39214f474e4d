// Child processes of the stack: logs to a file, a promise that settles when the child exits, and a
// clean stop (SIGTERM, then SIGKILL after a grace period).

export interface ChildService {
  name: string;
  /** OS process id (benchmarks account CPU per process). */
  pid: number;
  logFile: string;
  /** Resolves with the exit code when the child exits, whoever stopped it. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

export async function spawnService(
  opts: {
    name: string;
    cmd: string[];
    logFile: string;
    env?: Record<string, string>;
    cwd?: string;
    /** Start from an empty environment instead of this process's (plus `env`). */
    clearEnv?: boolean;
  },
): Promise<ChildService> {
  const log = await Deno.open(opts.logFile, { create: true, append: true, write: true });
  const child = new Deno.Command(opts.cmd[0], {
    args: opts.cmd.slice(1),
    env: opts.env,
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
    stdin: 'null',
    stdout: 'piped',
    stderr: 'piped',
  }).spawn();
  const copy = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) await log.write(chunk).catch(() => {});
  };
  const copied = Promise.all([copy(child.stdout), copy(child.stderr)]);
  let stopping = false;
  const exited = child.status.then(async (s) => {
    await copied.catch(() => {});
    log.close();
    return s.code;
  });
  return {
    name: opts.name,
    pid: child.pid,
    logFile: opts.logFile,
    exited,
    async stop() {
      if (stopping) return void (await exited);
      stopping = true;
      try {
        child.kill('SIGTERM');
      } catch {
        return void (await exited); // already gone
      }
      const timer = setTimeout(() => {
        try {
          child.kill('SIGKILL');
        } catch { /* gone */ }
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function logTail(file: string, lines = 20): Promise<string> {
  const text = await Deno.readTextFile(file).catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Polls `url` until it answers (any HTTP status) or the child dies or the deadline passes. */
export async function waitForHttp(url: string, svc: ChildService, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  svc.exited.then(() => (dead = true));
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${svc.name} exited during start:\n${await logTail(svc.logFile)}`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await svc.stop();
  throw new Error(`${svc.name} did not answer on ${url} within ${timeoutMs} ms`);
}
