// Edge functions for the local stack: one Deno process serving /functions/v1/<name> from
// functions/<name>/handler.ts. Placeholder until the implementation lands.
import { type ChildService } from './service.ts';

export interface FunctionsOptions {
  /** Port the functions server listens on (the gateway proxies /functions/v1 to it). */
  port: number;
  /** Function environment (ARCHITECTURE.md "Configuration"), including SUPABASE_* values. */
  env: Record<string, string>;
  logDir: string;
}

/** Starts the functions server; undefined while there are no functions. */
export function startFunctions(_opts: FunctionsOptions): Promise<ChildService | undefined> {
  return Promise.resolve(undefined);
}
