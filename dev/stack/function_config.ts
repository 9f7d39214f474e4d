// The [functions.*] blocks of supabase/config.toml resolved the way the Supabase CLI resolves them
// for `functions serve` and `functions deploy`, so the local functions server and
// `deno task deploy:check` load exactly what Supabase would:
// - supabase/cli apps/cli-go/pkg/config/config.go (resolve functions config): `entrypoint` and
//   `import_map` are relative to supabase/; without an entrypoint, supabase/functions/<slug>/index.ts;
//   without an import_map, a deno.json / deno.jsonc beside the entrypoint;
// - apps/cli-go/internal/functions/deploy/deploy.go GetFunctionConfig: then
//   supabase/functions/<slug>/deno.json|deno.jsonc|import_map.json, then the fallback
//   supabase/functions/import_map.json; `enabled` and `verify_jwt` default to true
//   (apps/cli-go/pkg/config/config.go "Set default values for [functions.*]").
// A root deno.json is never part of it: deploy does not upload it.
import { parse as parseToml } from 'smol-toml';

export interface FunctionSpec {
  name: string;
  /** Absolute path of the entrypoint. */
  entrypoint: string;
  /** Absolute path of the import map / deno.json, or undefined when none resolves. */
  importMap?: string;
  verifyJwt: boolean;
  enabled: boolean;
}

interface RawFunction {
  enabled?: boolean;
  verify_jwt?: boolean;
  import_map?: string;
  entrypoint?: string;
}

const SLUG = /^[A-Za-z][A-Za-z0-9_-]*$/; // apps/cli-go/pkg/config FuncSlugPattern

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

function resolve(base: string, path: string): string {
  return path.startsWith('/') ? path : new URL(path, `file://${base}/`).pathname;
}

/** Parses `<projectRoot>/supabase/config.toml`; throws with the file name on a syntax error. */
export async function readFunctionSpecs(projectRoot: string): Promise<FunctionSpec[]> {
  const supabaseDir = `${projectRoot}/supabase`;
  const file = `${supabaseDir}/config.toml`;
  let parsed: { functions?: Record<string, RawFunction> };
  try {
    parsed = parseToml(await Deno.readTextFile(file)) as typeof parsed;
  } catch (e) {
    throw new Error(`${file} does not parse: ${(e as Error).message}`);
  }
  const specs: FunctionSpec[] = [];
  for (const [name, raw] of Object.entries(parsed.functions ?? {})) {
    if (!SLUG.test(name)) throw new Error(`${file}: invalid function name "${name}"`);
    const entrypoint = raw.entrypoint
      ? resolve(supabaseDir, raw.entrypoint)
      : `${supabaseDir}/functions/${name}/index.ts`;
    let importMap = raw.import_map ? resolve(supabaseDir, raw.import_map) : undefined;
    if (!importMap) {
      const dir = entrypoint.replace(/\/[^/]+$/, '');
      const slugDir = `${supabaseDir}/functions/${name}`;
      for (
        const candidate of [
          `${dir}/deno.json`,
          `${dir}/deno.jsonc`,
          `${slugDir}/deno.json`,
          `${slugDir}/deno.jsonc`,
          `${slugDir}/import_map.json`,
          `${supabaseDir}/functions/import_map.json`,
        ]
      ) {
        if (await exists(candidate)) {
          importMap = candidate;
          break;
        }
      }
    }
    specs.push({
      name,
      entrypoint,
      importMap,
      verifyJwt: raw.verify_jwt ?? true,
      enabled: raw.enabled ?? true,
    });
  }
  return specs;
}

/** The `imports` of an import map or deno.json; throws naming the file when it is not one. */
export async function readImportMap(path: string): Promise<Record<string, string>> {
  let json: { imports?: unknown };
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`import map ${path} is not readable JSON: ${(e as Error).message}`);
  }
  if (!json.imports || typeof json.imports !== 'object') {
    throw new Error(`import map ${path} has no "imports" object`);
  }
  return json.imports as Record<string, string>;
}
