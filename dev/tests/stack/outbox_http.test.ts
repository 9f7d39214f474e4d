// Acceptance (issue 11): the outbox is driven as on a Supabase project. With no stack timers at
// all (the pg_net worker only wakes, the pg_cron jobs are switched off and run by this test the
// way pg_cron would), a queued message reaches the fake Twilio only through SQL
// (private.kick_dispatch) → pg_net (net.http_post, dev/stack/pg_net_worker.ts) → the gateway →
// the `dispatch` function. When the functions server is killed in the middle of that request,
// the failure is recorded in net._http_response, and the next cron tick sends the message, once.
// On its own stack (cluster, gateway, functions server), since it kills a part of it.
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { type Throwaway, throwawayCluster } from '../../stack/cluster.ts';
import { type RunningStack, startStack } from '../../stack/stack.ts';
import {
  FAKE_ACCOUNT_SID,
  FAKE_AUTH_TOKEN,
  type FakeTwilio,
  startFakeTwilio,
} from '../fakes/twilio.ts';

let db: Throwaway;
let stack: RunningStack;
let sql: postgres.Sql;
let fake: FakeTwilio;
let tenant: string;

function test(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

async function until<T>(
  fn: () => T | Promise<T>,
  ms: number,
  what: string,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A contact with a conversation and one queued SMS (its insert trigger kicks the dispatcher). */
async function queueSms(body: string): Promise<{ id: string; phone: string }> {
  const phone = `+1415${Math.floor(Math.random() * 9_000_000) + 1_000_000}`;
  const [c] = await sql`insert into public.contacts (tenant_id, name, phone)
                        values (${tenant}, 'Pat Test', ${phone}) returning id`;
  const [cv] = await sql`insert into public.conversations (tenant_id, contact_id, channel)
                         values (${tenant}, ${c.id}, 'sms') returning id`;
  const [m] = await sql`
    insert into public.messages (tenant_id, conversation_id, contact_id, direction, channel, kind,
      body, status)
    values (${tenant}, ${cv.id}, ${c.id}, 'outbound', 'sms', 'manual', ${body}, 'queued')
    returning id`;
  return { id: m.id, phone };
}

const createdFor = (phone: string) => fake.messages.filter((m) => m.to === phone);

/** Runs the switchboard jobs' commands from cron.job, each in its own transaction, as pg_cron. */
async function cronTick() {
  const jobs =
    await sql`select command from cron.job where jobname like 'switchboard-%' order by jobid`;
  assert.ok(jobs.length >= 5);
  for (const j of jobs) await sql.unsafe(j.command);
}

test('setup: own stack, no timers', async () => {
  fake = startFakeTwilio();
  db = await throwawayCluster({ seed: false });
  sql = postgres(db.cluster.url(), { max: 4, onnotice: () => {} });
  // This test is pg_cron: the scheduled jobs stay defined but do not fire on their own.
  await sql`update cron.job set active = false where jobname like 'switchboard-%'`;
  stack = await startStack({
    cluster: db.cluster,
    mode: 'test',
    pgNetPollMs: 0,
    functionsEnv: {
      TWILIO_API_URL: fake.url,
      TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: FAKE_AUTH_TOKEN,
      TWILIO_PHONE_NUMBER: '+15005550006',
    },
  });
  const [t] = await sql`insert into public.tenants (name, slug)
                        values ('Outbox HTTP', ${`outbox-http-${crypto.randomUUID().slice(0, 8)}`})
                        returning id`;
  tenant = t.id;
  await sql`insert into public.phone_numbers (tenant_id, e164) values (${tenant}, '+15005550006')`;
  const secrets =
    await sql`select name, decrypted_secret from vault.decrypted_secrets order by name`;
  assert.deepEqual(secrets.map((s) => s.name), ['project_url', 'service_key']);
  assert.equal(secrets[0].decrypted_secret, stack.url, 'project_url is the gateway');
});

test('a queued message goes out through pg_net, the gateway and dispatch', async () => {
  const [{ last }] = await sql`select coalesce(max(id), 0) as last from net._http_response`;
  const m = await queueSms('through pg_net');
  await until(() => createdFor(m.phone).length === 1, 15_000, 'Twilio to receive the send');
  const row = await until(
    async () => {
      const [r] = await sql`select status from public.messages where id = ${m.id}`;
      return r.status === 'sent' ? r : null;
    },
    10_000,
    'the message to be recorded as sent',
  );
  assert.equal(row.status, 'sent');
  const res = await until(
    async () => {
      const [r] =
        await sql`select * from net._http_response where id > ${last} and status_code = 200`;
      return r;
    },
    10_000,
    'pg_net to record the dispatch response',
  );
  assert.ok(JSON.parse(res.content).claimed >= 1, "the response is dispatch's stats");
});

test('functions server killed mid-request: failure recorded, the next cron tick sends once', async () => {
  const [{ last }] = await sql`select coalesce(max(id), 0) as last from net._http_response`;
  // Twilio takes the request and never answers, so dispatch is in the middle of it when killed.
  fake.inject({ hang: 'before', match: (f) => f.Body === 'killed mid-request' });
  const m = await queueSms('killed mid-request');
  await until(
    () => fake.requests.some((r) => r.form.Body === 'killed mid-request'),
    15_000,
    'the send to reach Twilio',
  );
  const functions = stack.children.find((c) => c.name === 'functions')!;
  Deno.kill(functions.pid, 'SIGKILL');
  await functions.exited;

  const failed = await until(
    async () => {
      const [r] = await sql`select * from net._http_response where id > ${last}
                          and (status_code >= 500 or error_msg is not null)`;
      return r;
    },
    10_000,
    'pg_net to record the failed dispatch call',
  );
  assert.ok(failed.status_code === 502 || failed.error_msg, JSON.stringify(failed));
  assert.equal(createdFor(m.phone).length, 0, 'Twilio created nothing');

  // The edge runtime comes back; time passes until the dead invocation's lease runs out.
  await stack.restartFunctions();
  await sql`update public.messages set lease_until = now() - interval '1 second'
            where id = ${m.id} and status = 'sending'`;
  await cronTick();
  const row = await until(
    async () => {
      const [r] = await sql`select status from public.messages where id = ${m.id}`;
      return r.status === 'sent' ? r : null;
    },
    15_000,
    'the next cron tick to send the message',
  );
  assert.equal(row.status, 'sent');
  assert.equal(createdFor(m.phone).length, 1, 'sent exactly once');
  await cronTick();
  const [again] = await sql`select status from public.messages where id = ${m.id}`;
  assert.equal(again.status, 'sent');
  assert.equal(createdFor(m.phone).length, 1, 'a further tick sends nothing more');
});

test('teardown', async () => {
  await stack?.stop();
  await sql?.end();
  await db?.dispose();
  await fake?.close();
});
