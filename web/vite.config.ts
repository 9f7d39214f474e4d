// Vite config for the dashboard. Run from the repo root under Deno:
//   deno run -A npm:vite@8.3.8 build web      (or `dev web`, `preview web`)
// The Supabase URL and the public API key come from VITE_SUPABASE_URL and
// VITE_SUPABASE_PUBLISHABLE_KEY (`sb_publishable_…`; the legacy VITE_SUPABASE_ANON_KEY is used when
// no publishable key is given); without them the local stack's values in .stack/dev.env are used.
// Only these two values are compiled in: the bundle never sees a secret or service key.
import { defineConfig, searchForWorkspaceRoot } from 'vite';
import preact from '@preact/preset-vite';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';

const here = dirname(fileURLToPath(import.meta.url));

function devEnv(): Record<string, string> {
  const file = resolve(here, '../.stack/dev.env');
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

const dev = devEnv();
const url = process.env.VITE_SUPABASE_URL || dev.SUPABASE_URL || 'http://127.0.0.1:54321';
const publicKey = process.env.VITE_SUPABASE_PUBLISHABLE_KEY || process.env.VITE_SUPABASE_ANON_KEY ||
  dev.SUPABASE_PUBLISHABLE_KEY || dev.SUPABASE_ANON_KEY || '';

export default defineConfig({
  root: here,
  // Vite's dependency cache, under the (gitignored) node_modules Deno creates at the repo root.
  cacheDir: resolve(here, '../node_modules/.vite-web'),
  plugins: [preact()],
  // Only the two public values; nothing else from the environment reaches the bundle.
  envPrefix: 'VITE_PUBLIC_ONLY_',
  define: {
    'import.meta.env.VITE_SUPABASE_URL': JSON.stringify(url),
    'import.meta.env.VITE_SUPABASE_KEY': JSON.stringify(publicKey),
  },
  build: {
    outDir: process.env.SWITCHBOARD_WEB_OUT_DIR || resolve(here, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: '127.0.0.1',
    // The dev server serves files under web/ only (Vite's default allow list); common/ holds code
    // the dashboard shares with the functions. Only that folder is added: the repo root also
    // holds .stack/ with the local keys.
    fs: { allow: [searchForWorkspaceRoot(here), resolve(here, '../common')] },
  },
  preview: { host: '127.0.0.1' },
});
