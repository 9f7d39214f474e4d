// `deno task dev` for real, on free ports and a temporary state directory: it comes up, psql and
// pg_cron work, a second start is refused without harm, and Ctrl-C leaves no server behind.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { freePort, portIsFree } from '../../stack/ports.ts';

const ROOT = new URL('../../..', import.meta.url).pathname;

interface DevProcess {
  child: Deno.ChildProcess;
  output: () => string;
  exited: Promise<Deno.CommandStatus>;
}

function startDev(env: Record<string, string>): DevProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ['run', '-A', 'dev/tasks/dev.ts'],
    cwd: ROOT,
    env,
    stdin: 'null',
    stdout: 'piped',
    stderr: 'piped',
  }).spawn();
  let text = '';
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) text += dec.decode(c, { stream: true });
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status.then(async (s) => {
    await pumped;
    return s;
  });
  return { child, output: () => text, exited };
}

async function waitFor(what: string, cond: () => boolean, ms: number) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function postgresProcessesFor(dir: string): Promise<number> {
  const out = await new Deno.Command('pgrep', { args: ['-f', `-D ${dir}`], stdout: 'piped' })
    .output();
  return new TextDecoder().decode(out.stdout).trim().split('\n').filter(Boolean).length;
}

Deno.test({
  name: 'task dev: starts, serves psql and pg_cron, refuses a second start, Ctrl-C stops all',
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const state = await Deno.makeTempDir({ prefix: 'switchboard-devtest-' });
    await Deno.chmod(state, 0o755);
    const dbPort = freePort();
    const apiPort = freePort();
    const env = {
      SWITCHBOARD_DB_PORT: String(dbPort),
      SWITCHBOARD_API_PORT: String(apiPort),
      SWITCHBOARD_STATE_DIR: state,
      SWITCHBOARD_WEB_PORT: String(freePort()),
      SWITCHBOARD_MAIL_PORT: String(freePort()),
      SWITCHBOARD_SMTP_PORT: String(freePort()),
    };
    const dev = startDev(env);
    let done = false;
    dev.exited.then(() => (done = true));
    try {
      await waitFor('the dev stack', () => /stack is up/.test(dev.output()) || done, 120_000);
      assert.match(
        dev.output(),
        new RegExp(`postgresql://postgres:postgres@127\\.0\\.0\\.1:${dbPort}/postgres`),
      );
      assert.match(dev.output(), /anon\s+eyJ/);
      assert.match(dev.output(), /Publishable\s+sb_publishable_/);
      assert.match(dev.output(), /Secret\s+sb_secret_/);
      const written = await Deno.readTextFile(`${state}/dev.env`);
      assert.match(written, /^SUPABASE_PUBLISHABLE_KEY=sb_publishable_/m);
      assert.match(written, /^SUPABASE_SECRET_KEY=sb_secret_/m);
      assert.match(dev.output(), /Vault\s+project_url, service_key stored/);

      const sql = postgres(`postgresql://postgres:postgres@127.0.0.1:${dbPort}/postgres`, {
        max: 1,
      });
      try {
        const jobs = await sql`select count(*)::int as n from cron.job`;
        assert.equal(typeof jobs[0].n, 'number');
      } finally {
        await sql.end();
      }
      const rest = await fetch(`http://127.0.0.1:${apiPort}/rest/v1/`, {
        headers: { apikey: /Publishable\s+(\S+)/.exec(dev.output())![1] },
      });
      assert.equal(rest.status, 200);
      await rest.body?.cancel();

      // The mail catcher's URL is printed and its page answers.
      const mailUrl = `http://127.0.0.1:${env.SWITCHBOARD_MAIL_PORT}`;
      assert.match(dev.output(), new RegExp(`Mail catcher\\s+${mailUrl.replace(/\./g, '\\.')}`));
      const inbox = await fetch(`${mailUrl}/api/v1/messages`);
      assert.equal(inbox.status, 200);
      assert.equal(typeof (await inbox.json()).total, 'number');

      // Once in six runs (2026-12-02) the dashboard refused a connection here although it had
      // answered before the banner; the cause is not known yet. It must answer within 15 s, and a
      // failure shows Vite's log so the next one can be diagnosed.
      const pageUrl = `http://127.0.0.1:${env.SWITCHBOARD_WEB_PORT}/`;
      const pageBy = Date.now() + 15_000;
      let page: Response | undefined;
      while (!page) {
        page = await fetch(pageUrl).catch(async (e) => {
          if (Date.now() > pageBy) {
            const log = await Deno.readTextFile(`${state}/dev/logs/web.log`).catch(() => '');
            throw new Error(`the dashboard stopped answering (${e.message}):\n${log.slice(-2000)}`);
          }
          await new Promise((r) => setTimeout(r, 100));
          return undefined;
        });
      }
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<div id="app"|<script/);

      // A second dev on the same ports and directory is refused and leaves the first one running.
      const second = startDev(env);
      const status = await second.exited;
      assert.notEqual(status.code, 0);
      assert.match(second.output(), /already running|is taken/);
      // Another checkout (its own state dir) on the same ports: told the port is taken.
      const other = await Deno.makeTempDir({ prefix: 'switchboard-devtest-' });
      await Deno.chmod(other, 0o755);
      const third = startDev({ ...env, SWITCHBOARD_STATE_DIR: other });
      assert.notEqual((await third.exited).code, 0);
      assert.match(third.output(), new RegExp(`port ${dbPort} is taken`));
      await Deno.remove(other, { recursive: true });
      const still = await fetch(`http://127.0.0.1:${apiPort}/rest/v1/`, {
        headers: { apikey: /anon\s+(eyJ\S+)/.exec(dev.output())![1] },
      });
      assert.equal(still.status, 200);
      await still.body?.cancel();
    } finally {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
    assert.match(dev.output(), /stopped\./);
    assert.equal(await postgresProcessesFor(`${state}/dev/pgdata`), 0, 'no postgres left behind');
    // PostgREST (its config lives in the state dir), the functions server and the dashboard are
    // gone too: nothing runs from the state dir and every port is free again.
    const leftovers = await new Deno.Command('pgrep', { args: ['-f', state], stdout: 'piped' })
      .output();
    assert.equal(new TextDecoder().decode(leftovers.stdout).trim(), '', 'no process of this stack');
    for (const port of [dbPort, apiPort, Number(env.SWITCHBOARD_WEB_PORT)]) {
      assert.ok(await portIsFree(port), `port ${port} is free again`);
    }
    await Deno.remove(state, { recursive: true });
  },
});
