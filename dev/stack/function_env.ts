// The one function environment: supabase/functions/.env, the file `supabase start` and
// `supabase functions serve` read (supabase/cli apps/cli-go/internal/functions/serve/serve.go
// parseEnvFile: utils.FallbackEnvFilePath = supabase/functions/.env, parsed with godotenv by
// internal/secrets/set/set.go, which skips names starting with SUPABASE_ because the platform
// sets those). `task dev` reads the same file and, on top, the same names from its own process
// environment. supabase/functions/.env.example lists every variable the functions read.
import { ROOT } from './database.ts';

export const ENV_FILE = `${ROOT}/supabase/functions/.env`;
export const ENV_EXAMPLE = `${ROOT}/supabase/functions/.env.example`;

/** Parses KEY=value lines as godotenv does for the common cases (comments, quotes, export). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*[=:]\s*(.*)$/);
    if (!m) throw new Error(`cannot parse env line: ${raw}`);
    let value = m[2];
    const q = value[0];
    if ((q === '"' || q === "'") && value.lastIndexOf(q) > 0) {
      value = value.slice(1, value.lastIndexOf(q));
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    out[m[1]] = value;
  }
  return out;
}

/** Every name the example documents, set or commented out (`# NAME=…`). */
export function documentedNames(exampleText: string): Set<string> {
  const names = new Set<string>();
  for (const m of exampleText.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)) names.add(m[1]);
  return names;
}

/**
 * The function environment `task dev` gives the stack: the .env file, then the same documented
 * names from the process environment (they win), minus SUPABASE_* (the stack sets those, as the
 * CLI refuses them from the file). Unset providers are simulated later (dev/stack/functions.ts).
 */
export async function devFunctionsEnv(
  processEnv: Record<string, string> = Deno.env.toObject(),
  file = ENV_FILE,
): Promise<{ env: Record<string, string>; notes: string[] }> {
  const notes: string[] = [];
  const text = await Deno.readTextFile(file).catch(() => undefined);
  const fromFile = text === undefined ? {} : parseDotenv(text);
  notes.push(text === undefined ? `${file} not found (see .env.example)` : `read ${file}`);
  const names = documentedNames(await Deno.readTextFile(ENV_EXAMPLE));
  const fromProcess = Object.fromEntries(
    Object.entries(processEnv).filter(([k, v]) => names.has(k) && v !== ''),
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...fromFile, ...fromProcess })) {
    if (k.startsWith('SUPABASE_')) notes.push(`ignored ${k}: the stack sets SUPABASE_* itself`);
    else if (v !== '') env[k] = v;
  }
  return { env, notes };
}
