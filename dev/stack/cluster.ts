// A throwaway, fully migrated cluster on a free port: what every test run and benchmark uses, so
// they never touch the dev stack on 54322.
import { prepareDatabase } from './database.ts';
import {
  type Cluster,
  ensurePostgres,
  initCluster,
  startCluster,
  stopCluster,
} from './postgres.ts';
import { freePort } from './ports.ts';

export interface Throwaway {
  cluster: Cluster;
  /** What `supabase db push` applied. */
  applied: string;
  dispose(): Promise<void>;
}

export async function throwawayCluster(
  opts: { seed?: boolean; log?: (s: string) => void; settings?: Record<string, string> } = {},
): Promise<Throwaway> {
  const bin = await ensurePostgres(opts.log);
  const tmp = await Deno.makeTempDir({ prefix: 'switchboard-pg-' });
  // The server runs as the postgres OS user, which must be able to enter the parent directory.
  await Deno.chmod(tmp, 0o755);
  const dir = `${tmp}/data`;
  let cluster: Cluster | undefined;
  const dispose = async () => {
    if (cluster) await stopCluster(cluster);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  };
  try {
    await initCluster(dir, bin);
    cluster = await startCluster(dir, freePort(), bin, {
      throwaway: true,
      settings: opts.settings,
    });
    const applied = await prepareDatabase(cluster, { seed: opts.seed });
    return { cluster, applied, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
