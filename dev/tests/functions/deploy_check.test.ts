// `deno task deploy:check` fails, naming what is wrong, on a copy of this project mutated the ways
// a deploy breaks: a function importing a package its import map lacks, a pin that disagrees with
// the root deno.json, a variable read but not documented, SMTP on port 587.
import assert from 'node:assert/strict';
import { ROOT } from '../../stack/database.ts';

async function copyTree(from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function mutatedCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: 'switchboard-deploy-mutant-' });
  await copyTree(`${ROOT}/functions`, `${dir}/functions`);
  await copyTree(`${ROOT}/common`, `${dir}/common`);
  await Deno.mkdir(`${dir}/supabase/functions`, { recursive: true });
  await Deno.copyFile(`${ROOT}/supabase/config.toml`, `${dir}/supabase/config.toml`);
  for (const f of ['.env.example']) {
    await Deno.copyFile(`${ROOT}/supabase/functions/${f}`, `${dir}/supabase/functions/${f}`);
  }
  const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  denoJson.imports.jose = 'npm:jose@6.2.16';
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify(denoJson));
  const index = `${dir}/functions/contact-form/index.ts`;
  await Deno.writeTextFile(index, `import 'smol-toml';\n${await Deno.readTextFile(index)}`);
  const handler = `${dir}/functions/email-inbound/handler.ts`;
  await Deno.writeTextFile(
    handler,
    `${await Deno.readTextFile(
      handler,
    )}\nexport const extra = Deno.env.get('UNDOCUMENTED_SETTING');\n`,
  );
  const email = `${dir}/functions/_shared/email.ts`;
  await Deno.writeTextFile(
    email,
    `${await Deno.readTextFile(email)}\nexport const relay = 'smtp://relay.example.com:587';\n`,
  );
  return dir;
}

Deno.test({
  name: 'deploy:check fails with clear messages on a mutated copy of the project',
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await mutatedCopy();
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          'run',
          '-A',
          `${ROOT}/dev/tasks/deploy_check.ts`,
          '--root',
          dir,
          '--skip-migrations',
        ],
        cwd: ROOT,
        env: { NO_COLOR: '1' },
        stdout: 'piped',
        stderr: 'piped',
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, text);
      assert.match(text, /FAIL type-check in an empty folder/);
      assert.match(text, /contact-form: FAILED/);
      assert.match(text, /Import "smol-toml" not a dependency/);
      assert.match(text, /FAIL each entrypoint evaluates/);
      assert.match(text, /pins jose to npm:jose@6\.2\.17, deno\.json to npm:jose@6\.2\.16/);
      assert.match(text, /UNDOCUMENTED_SETTING \(read in functions\/email-inbound\/handler\.ts\)/);
      assert.match(text, /smtp:\/\/relay\.example\.com:587 uses port 587/);
      // What was not mutated still passes.
      assert.match(text, /ok {3}Postgres pool sized for hosted limits/);
      assert.match(text, /twilio-inbound: ok/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
