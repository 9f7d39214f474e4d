import { throwawayCluster } from './stack/cluster.ts';
import { startStack } from './stack/stack.ts';
const files = Deno.args;
const db = await throwawayCluster({ log: () => {} });
const stack = await startStack({ cluster: db.cluster, mode: 'test' });
try {
  const child = new Deno.Command(Deno.execPath(), {
    args: ['test', '-A', '--no-check', ...files],
    env: { ...stack.env, SWITCHBOARD_TEST_DB_URL: db.cluster.url() },
    stdout: 'inherit', stderr: 'inherit',
  }).spawn();
  await child.status;
} finally {
  await stack.stop();
  await db.dispose();
}
