// The structure rules of docs/architecture.md that a reviewer would otherwise check by eye, run by
// `deno task check` and the test run's check suite:
// - no function in functions/ longer than MAX_FUNCTION_LINES, so each reads on one screen;
// - no TypeScript writes `messages` or `send_attempts` itself: SQL (private.* writers) is their
//   only writer, so the status machine and the crash-safety rules have one home.
import ts from 'typescript';

const ROOT = new URL('../../', import.meta.url).pathname;
export const MAX_FUNCTION_LINES = 120;
const DIRECT_WRITE =
  /\b(insert\s+into|update|delete\s+from)\s+("?public"?\.)?"?(messages|send_attempts)"?\b|\bprivate\.send_attempts\b/i;

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(path);
    else if (e.isFile && /\.tsx?$/.test(e.name)) yield path;
  }
}

/** Functions (declarations, methods, arrows, expressions) longer than the limit in one file. */
export function longFunctions(file: string, text: string, max = MAX_FUNCTION_LINES): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const first = src.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const last = src.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      const lines = last - first + 1;
      if (lines > max) found.push(`${file}:${first}: a function of ${lines} lines (max ${max})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(src);
  return found;
}

/** Lines of one file that write messages or send_attempts from TypeScript. */
export function directWrites(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) =>
    DIRECT_WRITE.test(line) ? [`${file}:${i + 1}: writes messages/send_attempts outside SQL`] : []
  );
}

export async function structureProblems(root = ROOT): Promise<string[]> {
  const problems: string[] = [];
  for await (const path of tsFiles(`${root}functions`)) {
    const text = await Deno.readTextFile(path);
    const file = path.slice(root.length);
    problems.push(...longFunctions(file, text), ...directWrites(file, text));
  }
  return problems;
}

if (import.meta.main) {
  const problems = await structureProblems();
  for (const p of problems) console.error(p);
  if (problems.length) Deno.exit(1);
  console.log(
    'structure: every function in functions/ fits one screen; SQL alone writes the outbox',
  );
}
