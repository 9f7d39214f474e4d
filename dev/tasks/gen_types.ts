// `deno task types`: regenerate common/database.types.ts and the schema map
// docs/schema.sql from a freshly migrated throwaway cluster (the test run fails while either
// committed file is stale).
import { throwawayCluster } from '../stack/cluster.ts';
import { generateTypes, TYPES_FILE } from '../stack/database.ts';
import { generateSchemaMap, SCHEMA_FILE } from './schema_map.ts';

async function write(file: string, text: string) {
  const before = await Deno.readTextFile(file).catch(() => '');
  await Deno.mkdir(file.slice(0, file.lastIndexOf('/')), { recursive: true });
  await Deno.writeTextFile(file, text);
  console.log(before === text ? `${file} unchanged` : `wrote ${file}`);
}

const db = await throwawayCluster({ seed: false });
try {
  await write(TYPES_FILE, await generateTypes(db.cluster));
  await write(SCHEMA_FILE, await generateSchemaMap(db.cluster));
} finally {
  await db.dispose();
}
