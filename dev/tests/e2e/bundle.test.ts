// The built dashboard must hold only public values: the URL and the publishable key, never a secret
// key (`sb_secret_…`), the service-role key, the JWT secret, the JWKS or the word service_role
// (issue 7, "no service key or provider secret in the bundle").
import assert from 'node:assert/strict';
import { buildWeb } from '../../stack/web.ts';
import { env } from './_harness.ts';

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await files(p));
    else out.push(p);
  }
  return out;
}

Deno.test('bundle: built with the stack env, it holds the publishable key and no secret', async () => {
  const outDir = await Deno.makeTempDir({ prefix: 'switchboard-bundle-' });
  try {
    // The full stack environment, secrets included, is offered to the build on purpose.
    await buildWeb({ env: { ...env }, outDir });
    const all = await files(outDir);
    const js = all.filter((f) => f.endsWith('.js'));
    assert.ok(js.length > 0, 'the build produced JavaScript');
    let text = '';
    for (const f of all) text += await Deno.readTextFile(f);
    assert.ok(text.includes(env.SUPABASE_PUBLISHABLE_KEY), 'the publishable key is compiled in');
    assert.ok(!text.includes(env.SUPABASE_ANON_KEY), 'the legacy anon key is not needed');
    // Any secret key, not only this stack's (supabase-js itself holds the bare prefix, to tell
    // key kinds apart, so the pattern needs key characters after it).
    const secretKey = text.match(/sb_secret_[A-Za-z0-9_-]{8,}/);
    assert.equal(secretKey, null, `a secret key leaked into the bundle: ${secretKey?.[0]}`);
    assert.ok(!text.includes(env.SUPABASE_SECRET_KEY), 'the secret key leaked into the bundle');
    const oct = JSON.parse(env.SUPABASE_JWKS).keys.find((k: { kty: string }) => k.kty === 'oct');
    assert.ok(!text.includes(oct.k), 'the JWKS symmetric key leaked into the bundle');
    assert.ok(text.includes(env.SUPABASE_URL), 'the stack URL is compiled in');
    assert.ok(!text.includes(env.SUPABASE_SERVICE_ROLE_KEY), 'service-role key leaked into bundle');
    assert.ok(!text.includes(env.SUPABASE_JWT_SECRET), 'JWT secret leaked into the bundle');
    assert.ok(!text.includes('service_role'), '"service_role" appears in the bundle');
    assert.ok(!text.includes(env.SUPABASE_DB_URL), 'database URL leaked into the bundle');
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
