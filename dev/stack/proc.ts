// Small process helpers shared by the stack and the task scripts.

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
}

/** Runs a command, capturing its output; never throws on a non-zero exit. */
export async function runQuiet(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env: opts.env,
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? 'null' : 'piped',
    stdout: 'piped',
    stderr: 'piped',
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs a command and throws with its output when it fails. */
export async function run(cmd: string[], opts: RunOptions = {}): Promise<string> {
  const res = await runQuiet(cmd, opts);
  if (res.code !== 0) {
    throw new Error(`${cmd.join(' ')} exited ${res.code}:\n${res.stderr}${res.stdout}`);
  }
  return res.stdout;
}

/** The npx binary next to the running node, for npm-only tools such as the Supabase CLI. */
export function npx(pkg: string, args: string[]): string[] {
  return ['npx', '-y', pkg, ...args];
}
