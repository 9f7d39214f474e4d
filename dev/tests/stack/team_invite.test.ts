// Team invitations end to end, driven by the people involved and by intruders: an owner invites
// through the team-invite function, the mail lands in the mail catcher, and only the person who
// reads that address (signed in with it, confirmed) can join. Nothing tells the owner whether the
// address has an account.
import assert from 'node:assert/strict';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { stackEnv } from './_env.ts';
import { mailsTo, waitForMail } from '../_mail.ts';

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const opts = { auth: { persistSession: false, autoRefreshToken: false } };
const admin = createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, opts);

async function user(label: string) {
  const email = `${label}-${run}@example.test`;
  const password = 'team invite pw';
  const { error } = await admin.auth.admin.createUser({ email, password, email_confirm: true });
  assert.equal(error, null, error?.message ?? '');
  const client = createClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, opts);
  const s = await client.auth.signInWithPassword({ email, password });
  assert.equal(s.error, null, s.error?.message ?? '');
  return { email, client, token: s.data.session!.access_token, id: s.data.user!.id };
}

async function business(c: SupabaseClient, name: string): Promise<string> {
  const { data, error } = await c.rpc('create_tenant', { p_name: name });
  assert.equal(error, null, error?.message ?? '');
  return (data as { id: string }).id;
}

function invite(token: string, body: Record<string, unknown>) {
  return fetch(`${env.SUPABASE_URL}/functions/v1/team-invite`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

Deno.test('team invite: the invitee joins only by accepting; intruders are refused', async () => {
  const owner = await user('owner');
  const invitee = await user('invitee');
  const stranger = await user('stranger');
  const tenant = await business(owner.client, `Invites ${run}`);
  const other = await business(stranger.client, `Other ${run}`);

  // An address with an account and one without get the same answer.
  const a = await invite(owner.token, { tenant_id: tenant, email: invitee.email, role: 'agent' });
  const nobody = `nobody-${run}@example.test`;
  const b = await invite(owner.token, { tenant_id: tenant, email: nobody, role: 'agent' });
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const [ja, jb] = [await a.json(), await b.json()];
  assert.deepEqual(Object.keys(ja).sort(), Object.keys(jb).sort());
  assert.deepEqual(Object.keys(ja).sort(), ['email', 'expires_at', 'id', 'role']);

  // Not a member yet: an invitation adds nobody.
  const before = await admin.from('tenant_members').select('user_id').eq('tenant_id', tenant)
    .eq('user_id', invitee.id);
  assert.equal(before.data?.length, 0);

  const mail = await waitForMail(invitee.email);
  assert.match(mail.Subject, new RegExp(`join Invites ${run}`));
  assert.ok(mail.HTML.includes(`/team?invitation=${ja.id}`), mail.HTML);
  await waitForMail(nobody);

  // Intruders: another business's owner, the anon key, a malformed body.
  const cross = await invite(stranger.token, {
    tenant_id: tenant,
    email: 'x@example.test',
    role: 'owner',
  });
  assert.equal(cross.status, 403);
  assert.equal((await cross.json()).error.code, 'forbidden');
  const anon = await invite(env.SUPABASE_ANON_KEY, {
    tenant_id: tenant,
    email: 'y@example.test',
    role: 'agent',
  });
  assert.equal(anon.status, 403);
  await anon.body?.cancel();
  const bad = await invite(owner.token, { tenant_id: tenant, email: 'xx:;x@x.x', role: 'agent' });
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  const again = await invite(owner.token, {
    tenant_id: tenant,
    email: invitee.email,
    role: 'owner',
  });
  assert.equal(again.status, 429, 'the same address is not mailed twice within a minute');
  await again.body?.cancel();
  assert.equal((await mailsTo('x@example.test')).length, 0, 'refused invitations mail nobody');

  // The stranger holding the invitation id cannot use it; the invitee can, once.
  const steal = await stranger.client.rpc('accept_invitation', { p_invitation_id: ja.id });
  assert.equal(steal.error?.code, 'P0002');
  const mine = await invitee.client.rpc('my_invitations');
  assert.deepEqual(mine.data?.map((i: { id: string }) => i.id), [ja.id]);
  const ok = await invitee.client.rpc('accept_invitation', { p_invitation_id: ja.id });
  assert.equal(ok.error, null, ok.error?.message ?? '');
  assert.equal((ok.data as { role: string }).role, 'agent');
  const twice = await invitee.client.rpc('accept_invitation', { p_invitation_id: ja.id });
  assert.equal(twice.error?.code, 'P0002');

  // The invitee, now an agent, cannot invite; the owner revokes the other invitation.
  const agentInvite = await invite(invitee.token, {
    tenant_id: tenant,
    email: 'z@example.test',
    role: 'owner',
  });
  assert.equal(agentInvite.status, 403);
  await agentInvite.body?.cancel();
  const rev = await owner.client.rpc('revoke_invitation', { p_invitation_id: jb.id });
  assert.equal(rev.error, null, rev.error?.message ?? '');
  assert.ok(other);
});
