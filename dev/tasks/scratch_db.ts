// `deno task scratch-db [seconds]`: a throwaway, migrated and seeded cluster on a free port for
// poking at by hand (psql, supabase db advisors). Prints its URL and removes it on Ctrl-C or after
// the given number of seconds (default 1800).
import { throwawayCluster } from '../stack/cluster.ts';

const seconds = Number(Deno.args[0] ?? 1800);
const db = await throwawayCluster();
console.log(db.cluster.url());
const stop = async () => {
  await db.dispose();
  Deno.exit(0);
};
Deno.addSignalListener('SIGINT', stop);
Deno.addSignalListener('SIGTERM', stop);
setTimeout(stop, seconds * 1000);
