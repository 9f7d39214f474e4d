// `deno task types`: regenerate functions/_shared/database.types.ts from a freshly migrated
// throwaway cluster (the test run fails while the committed file is stale).
import { throwawayCluster } from '../stack/cluster.ts';
import { generateTypes, TYPES_FILE } from '../stack/database.ts';

const db = await throwawayCluster({ seed: false });
try {
  const types = await generateTypes(db.cluster);
  const before = await Deno.readTextFile(TYPES_FILE).catch(() => '');
  await Deno.writeTextFile(TYPES_FILE, types);
  console.log(before === types ? 'types unchanged' : `wrote ${TYPES_FILE}`);
} finally {
  await db.dispose();
}
