// The local auth server through the real @supabase/supabase-js (and raw fetch where the client
// hides the wire): sessions, rotation, logout, user updates, the admin API, GoTrue's error shapes,
// and the tables it writes, read back with postgres.js.
import assert from 'node:assert/strict';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import postgres from 'postgres';
import { stackEnv } from './_env.ts';
import { followLink, linkIn, mailsTo, waitForMail } from '../_mail.ts';

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const opts = { auth: { persistSession: false, autoRefreshToken: false } };
const AUTH = `${env.SUPABASE_URL}/auth/v1`;
const secret = new TextEncoder().encode(env.SUPABASE_JWT_SECRET);
/** Access tokens are signed with the stack's ES256 key (dev/stack/keys.ts), as `supabase start` does. */
const jwks = createLocalJWKSet(JSON.parse(env.SUPABASE_JWKS));
const PASSWORD = 'correct horse battery';

let seq = 0;
const uniqueEmail = (label: string) => `${label}-${run}-${++seq}@example.test`;
const anon = (): SupabaseClient => createClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, opts);
const service = (): SupabaseClient =>
  createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, opts);

/** A short-lived postgres.js connection, closed before the test ends (resource sanitizer). */
async function withDb<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

async function signUp(label: string, data?: Record<string, unknown>) {
  const client = anon();
  const email = uniqueEmail(label);
  const res = await client.auth.signUp({ email, password: PASSWORD, options: { data } });
  assert.equal(res.error, null, res.error?.message ?? '');
  // Confirmations are on: no session until the mailed link is followed.
  assert.equal(res.data.session, null, 'a sign-up needing confirmation has no session');
  const { params } = await followLink(linkIn(await waitForMail(email)));
  const set = await client.auth.setSession({
    access_token: params.get('access_token')!,
    refresh_token: params.get('refresh_token')!,
  });
  assert.equal(set.error, null, set.error?.message ?? '');
  return { client, email, session: set.data.session!, user: set.data.user! };
}

/** Raw call to the auth API as auth-js makes it (apikey + API version header). */
function authFetch(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  headers.set('apikey', env.SUPABASE_ANON_KEY);
  if (!headers.has('x-supabase-api-version')) headers.set('x-supabase-api-version', '2024-01-01');
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  if (init.body) headers.set('content-type', 'application/json');
  return fetch(`${AUTH}${path}`, { ...init, headers });
}

Deno.test('auth: signUp answers a GoTrue session with the user, identity and claims', async () => {
  const { email, session, user } = await signUp('signup', { full_name: 'Ada Lovelace' });
  assert.equal(session.token_type, 'bearer');
  assert.ok(Math.abs(session.expires_in! - 3600) < 5, `expires_in ${session.expires_in}`);
  assert.match(session.refresh_token, /^[a-z0-9]{12}$/);
  assert.ok(Math.abs(session.expires_at! - (Date.now() / 1000 + 3600)) < 30);
  assert.equal(user.email, email);
  assert.equal(user.aud, 'authenticated');
  assert.equal(user.role, 'authenticated');
  assert.equal(user.phone, '');
  assert.ok(user.email_confirmed_at && user.confirmed_at && user.last_sign_in_at);
  assert.deepEqual(user.app_metadata, { provider: 'email', providers: ['email'] });
  assert.equal(user.user_metadata.full_name, 'Ada Lovelace');
  assert.equal(user.user_metadata.email_verified, true);
  assert.equal(user.user_metadata.sub, user.id);
  assert.equal(user.is_anonymous, false);
  assert.equal(user.identities?.length, 1);
  const identity = user.identities![0];
  assert.equal(identity.provider, 'email');
  assert.equal(identity.id, user.id);
  assert.equal(identity.identity_data?.email, email);
  assert.match(user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

  const { payload } = await jwtVerify(session.access_token, jwks, { algorithms: ['ES256'] });
  assert.equal(payload.iss, `${env.SUPABASE_URL}/auth/v1`);
  assert.equal(payload.sub, user.id);
  assert.equal(payload.aud, 'authenticated');
  assert.equal(payload.role, 'authenticated');
  assert.equal(payload.email, email);
  assert.equal(payload.phone, '');
  assert.equal(payload.exp! - payload.iat!, 3600);
  assert.equal(payload.aal, 'aal1');
  assert.equal(payload.is_anonymous, false);
  const amr = payload.amr as { method: string; timestamp: number }[];
  assert.equal(amr[0].method, 'password');
  assert.deepEqual(payload.app_metadata, { provider: 'email', providers: ['email'] });
  assert.equal((payload.user_metadata as Record<string, unknown>).full_name, 'Ada Lovelace');

  await withDb(async (sql) => {
    const [s] = await sql`select user_id, aal from auth.sessions where id = ${payload
      .session_id as string}`;
    assert.equal(s.user_id, user.id);
    assert.equal(s.aal, 'aal1');
    const tokens = await sql`
      select token, revoked, parent, user_id from auth.refresh_tokens
      where session_id = ${payload.session_id as string}`;
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0].token, session.refresh_token);
    assert.equal(tokens[0].revoked, false);
    assert.equal(tokens[0].parent, null);
    const [u] = await sql`
      select encrypted_password, jsonb_typeof(raw_app_meta_data) as app,
        raw_user_meta_data ->> 'full_name' as full_name
      from auth.users where id = ${user.id}`;
    assert.match(u.encrypted_password, /^\$2a\$10\$/);
    // Stored as JSON objects (not JSON strings), so SQL that reads them works as on Supabase.
    assert.equal(u.app, 'object');
    assert.equal(u.full_name, 'Ada Lovelace');
  });
});

Deno.test('auth: a sign-up for a taken email looks like a fresh one and mails nobody', async () => {
  // An attacker probing which addresses have accounts: the answer for a registered address must
  // match the answer for a new one (GoTrue's sanitizeUser with confirmations on).
  const { email, user } = await signUp('dup');
  const probe = await authFetch('/signup', {
    method: 'POST',
    body: JSON.stringify({ email: email.toUpperCase(), password: 'attacker-password' }),
  });
  const fresh = await authFetch('/signup', {
    method: 'POST',
    body: JSON.stringify({ email: uniqueEmail('fresh'), password: 'attacker-password' }),
  });
  assert.equal(probe.status, 200);
  assert.equal(fresh.status, 200);
  const [p, f] = [await probe.json(), await fresh.json()];
  assert.deepEqual(Object.keys(p), Object.keys(f));
  assert.notEqual(p.id, user.id, 'the real user id is not revealed');
  assert.equal(p.access_token, undefined);
  assert.deepEqual(p.identities, []);
  assert.equal(p.email_confirmed_at, undefined);
  // Still one mail (the first confirmation) and the password unchanged.
  assert.equal((await mailsTo(email)).length, 1);
  const signIn = await anon().auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(signIn.error, null);
});

Deno.test('auth: signUp rejects a short password as weak_password with its reasons', async () => {
  const res = await anon().auth.signUp({ email: uniqueEmail('weak'), password: '123' });
  assert.equal(res.error?.status, 422);
  assert.equal(res.error?.code, 'weak_password');
  assert.deepEqual((res.error as unknown as { reasons: string[] }).reasons, ['length']);
  assert.equal(res.error?.message, 'Password should be at least 6 characters.');
});

Deno.test('auth: signInWithPassword works and a wrong password is invalid_credentials', async () => {
  const { email, user } = await signUp('signin');
  const ok = await anon().auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(ok.error, null);
  assert.equal(ok.data.user?.id, user.id);
  assert.notEqual(ok.data.session?.refresh_token, undefined);

  const bad = await anon().auth.signInWithPassword({ email, password: 'wrong password' });
  assert.equal(bad.error?.status, 400);
  assert.equal(bad.error?.code, 'invalid_credentials');
  assert.equal(bad.error?.message, 'Invalid login credentials');

  const nobody = await anon().auth.signInWithPassword({
    email: uniqueEmail('nobody'),
    password: PASSWORD,
  });
  assert.equal(nobody.error?.code, 'invalid_credentials');
});

Deno.test('auth: a user seeded with pgcrypto crypt() can sign in', async () => {
  const email = uniqueEmail('seeded');
  await withDb((sql) =>
    sql`
    insert into auth.users (instance_id, id, aud, role, email, encrypted_password,
      email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
    values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated',
      'authenticated', ${email}, extensions.crypt(${PASSWORD}, extensions.gen_salt('bf')),
      now(), '{"provider":"email","providers":["email"]}', '{}', now(), now())`
  );
  const res = await anon().auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(res.error, null, res.error?.message ?? '');
  assert.equal(res.data.user?.email, email);
  assert.deepEqual(res.data.user?.identities, []);
});

Deno.test('auth: getUser returns the caller; a forged token is 403 bad_jwt', async () => {
  const { client, session, user } = await signUp('getuser');
  const me = await client.auth.getUser(session.access_token);
  assert.equal(me.error, null);
  assert.equal(me.data.user?.id, user.id);

  const forged = await new SignJWT({ sub: user.id, role: 'authenticated', aud: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode('not-the-stack-secret-not-the-stack-secret'));
  const res = await authFetch('/user', { token: forged });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('x-sb-error-code'), 'bad_jwt');
  const body = await res.json();
  assert.equal(body.code, 'bad_jwt');
  assert.match(body.message, /signature is invalid/);

  const expired = await new SignJWT({ sub: user.id, role: 'authenticated', aud: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
    .sign(secret);
  const old = await authFetch('/user', { token: expired });
  assert.equal(old.status, 403);
  assert.match((await old.json()).message, /token is expired/);

  const none = await authFetch('/user');
  assert.equal(none.status, 401);
  assert.equal((await none.json()).code, 'no_authorization');
});

Deno.test('auth: updateUser merges data, changes the password and email', async () => {
  const { client, session, email, user } = await signUp('update', { plan: 'free', keep: 1 });
  await client.auth.setSession({
    access_token: session.access_token,
    refresh_token: session.refresh_token,
  });
  const other = await anon().auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(other.error, null);

  const upd = await client.auth.updateUser({ data: { plan: 'pro', keep: null, extra: true } });
  assert.equal(upd.error, null, upd.error?.message ?? '');
  assert.equal(upd.data.user?.user_metadata.plan, 'pro');
  assert.equal(upd.data.user?.user_metadata.extra, true);
  assert.equal('keep' in upd.data.user!.user_metadata, false);

  const same = await client.auth.updateUser({ password: PASSWORD });
  assert.equal(same.error?.code, 'same_password');

  const pw = await client.auth.updateUser({ password: 'a brand new passphrase' });
  assert.equal(pw.error, null, pw.error?.message ?? '');
  const oldPw = await anon().auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(oldPw.error?.code, 'invalid_credentials');
  const newPw = await anon().auth.signInWithPassword({
    email,
    password: 'a brand new passphrase',
  });
  assert.equal(newPw.error, null);
  // A password change ends every other session: the second sign-in's token is dead.
  const stale = await anon().auth.refreshSession({
    refresh_token: other.data.session!.refresh_token,
  });
  assert.equal(stale.error?.code, 'refresh_token_not_found');

  // An email change waits for both links (double_confirm_changes): until then the old address
  // stays, so a stolen session cannot move the account to an attacker's address by itself.
  const newEmail = uniqueEmail('moved');
  const moved = await client.auth.updateUser({ email: newEmail });
  assert.equal(moved.error, null, moved.error?.message ?? '');
  assert.equal(moved.data.user?.email, email);
  assert.equal(moved.data.user?.new_email, newEmail);
  const early = await anon().auth.signInWithPassword({
    email: newEmail,
    password: 'a brand new passphrase',
  });
  assert.equal(early.error?.code, 'invalid_credentials');
  const toNew = await waitForMail(newEmail);
  assert.equal(toNew.Subject, 'Confirm your new email address');
  const toOld = await waitForMail(email, 2);
  const first = await followLink(linkIn(toNew));
  assert.match(first.params.get('message') ?? '', /Confirmation link accepted/);
  const half = await withDb((sql) => sql`select email from auth.users where id = ${user.id}`);
  assert.equal(half[0].email, email);
  const second = await followLink(linkIn(toOld));
  assert.ok(second.params.get('access_token'), second.location);
  // A link works once.
  const again = await followLink(linkIn(toOld));
  assert.equal(again.params.get('error_code'), 'otp_expired');
  const signedIn = await anon().auth.signInWithPassword({
    email: newEmail,
    password: 'a brand new passphrase',
  });
  assert.equal(signedIn.data.user?.id, user.id);

  const taken = await signUp('taken');
  const clash = await client.auth.updateUser({ email: taken.email });
  assert.equal(clash.error?.status, 422);
  assert.equal(clash.error?.code, 'email_exists');
});

Deno.test('auth: refreshSession rotates; the old token is revoked with its child recorded', async () => {
  const { client, session } = await signUp('refresh');
  const r1 = await client.auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(r1.error, null, r1.error?.message ?? '');
  const t1 = r1.data.session!.refresh_token;
  assert.notEqual(t1, session.refresh_token);
  const claims0 = (await jwtVerify(session.access_token, jwks)).payload;
  const claims1 = (await jwtVerify(r1.data.session!.access_token, jwks)).payload;
  assert.equal(claims1.session_id, claims0.session_id);

  await withDb(async (sql) => {
    const rows = await sql`
      select token, revoked, parent from auth.refresh_tokens
      where session_id = ${claims0.session_id as string} order by id`;
    assert.deepEqual(rows.map((r) => [r.token, r.revoked, r.parent]), [
      [session.refresh_token, true, null],
      [t1, false, session.refresh_token],
    ]);
  });

  // Reusing the parent of the active token (a client that lost the answer) gets that token back.
  const again = await anon().auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(again.error, null);
  assert.equal(again.data.session!.refresh_token, t1);

  // Rotate once more: t0 is no longer the active token's parent. Outside the reuse interval
  // (moved there by back-dating it) it is rejected and the whole session's tokens are revoked.
  const r2 = await anon().auth.refreshSession({ refresh_token: t1 });
  assert.equal(r2.error, null);
  await withDb((sql) =>
    sql`update auth.refresh_tokens set updated_at = now() - interval '1 minute'
        where token = ${session.refresh_token}`
  );
  const reused = await anon().auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(reused.error?.status, 400);
  assert.equal(reused.error?.code, 'refresh_token_already_used');
  assert.equal(reused.error?.message, 'Invalid Refresh Token: Already Used');
  await withDb(async (sql) => {
    const live = await sql`
      select count(*)::int as n from auth.refresh_tokens
      where session_id = ${claims0.session_id as string} and not revoked`;
    assert.equal(live[0].n, 0);
  });
});

Deno.test('auth: two concurrent refreshes of one token rotate it once', async () => {
  const { session } = await signUp('race');
  const call = () =>
    authFetch('/token?grant_type=refresh_token', {
      method: 'POST',
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
  const [a, b] = await Promise.all([call(), call()]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const [ja, jb] = [await a.json(), await b.json()];
  assert.equal(ja.refresh_token, jb.refresh_token);
  await withDb(async (sql) => {
    const children = await sql`
      select token from auth.refresh_tokens where parent = ${session.refresh_token}`;
    assert.deepEqual(children.map((c) => c.token), [ja.refresh_token]);
  });
});

Deno.test('auth: unknown and malformed refresh tokens get GoTrue errors', async () => {
  const missing = await anon().auth.refreshSession({ refresh_token: 'abcdefghijkl' });
  assert.equal(missing.error?.status, 400);
  assert.equal(missing.error?.code, 'refresh_token_not_found');
  assert.equal(missing.error?.message, 'Invalid Refresh Token: Refresh Token Not Found');
  const res = await authFetch('/token?grant_type=refresh_token', {
    method: 'POST',
    body: JSON.stringify({ refresh_token: 'short' }),
  });
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), {
    code: 'validation_failed',
    message: 'Refresh token is not valid',
  });
});

Deno.test('auth: signOut revokes the session and its refresh tokens', async () => {
  const { client, session, email } = await signUp('signout');
  const elsewhere = await anon().auth.signInWithPassword({ email, password: PASSWORD });
  await client.auth.setSession({
    access_token: session.access_token,
    refresh_token: session.refresh_token,
  });
  const local = await client.auth.signOut({ scope: 'local' });
  assert.equal(local.error, null);
  const gone = await anon().auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(gone.error?.code, 'refresh_token_not_found');
  // The old access token names a session that no longer exists.
  const res = await authFetch('/user', { token: session.access_token });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).code, 'session_not_found');
  // scope=local left the other sign-in alone; a global logout ends it too.
  const still = await anon().auth.refreshSession({
    refresh_token: elsewhere.data.session!.refresh_token,
  });
  assert.equal(still.error, null);
  const out = await authFetch('/logout', {
    method: 'POST',
    token: still.data.session!.access_token,
  });
  assert.equal(out.status, 204);
  const after = await anon().auth.refreshSession({
    refresh_token: still.data.session!.refresh_token,
  });
  assert.equal(after.error?.code, 'refresh_token_not_found');
});

Deno.test('auth: admin.createUser needs the service role key', async () => {
  const email = uniqueEmail('admin');
  const created = await service().auth.admin.createUser({
    email,
    password: PASSWORD,
    email_confirm: true,
    user_metadata: { name: 'Seeded' },
    app_metadata: { tier: 'gold' },
  });
  assert.equal(created.error, null, created.error?.message ?? '');
  const u = created.data.user!;
  assert.equal(u.email, email);
  assert.ok(u.email_confirmed_at);
  assert.deepEqual(u.app_metadata, { provider: 'email', providers: ['email'], tier: 'gold' });
  assert.deepEqual(u.user_metadata, { name: 'Seeded', email_verified: true });
  const signed = await anon().auth.signInWithPassword({ email, password: PASSWORD });
  assert.equal(signed.error, null);
  assert.equal(signed.data.user?.id, u.id);

  const dup = await service().auth.admin.createUser({ email, password: PASSWORD });
  assert.equal(dup.error?.status, 422);
  assert.equal(dup.error?.code, 'email_exists');

  const refused = await anon().auth.admin.createUser({ email: uniqueEmail('x'), password: 'pw' });
  assert.equal(refused.error?.status, 403);
  assert.equal(refused.error?.code, 'not_admin');
  const asUser = await authFetch('/admin/users', {
    method: 'POST',
    token: signed.data.session!.access_token,
    body: JSON.stringify({ email: uniqueEmail('y') }),
  });
  assert.equal(asUser.status, 403);

  const unconfirmed = await service().auth.admin.createUser({
    email: uniqueEmail('unconfirmed'),
    password: PASSWORD,
  });
  const blocked = await anon().auth.signInWithPassword({
    email: unconfirmed.data.user!.email!,
    password: PASSWORD,
  });
  assert.equal(blocked.error?.code, 'email_not_confirmed');
});

Deno.test('auth: admin lists, gets and deletes users', async () => {
  const admin = service();
  const { user } = await signUp('listed');
  const got = await admin.auth.admin.getUserById(user.id);
  assert.equal(got.data.user?.email, user.email);
  const list = await admin.auth.admin.listUsers({ page: 1, perPage: 1000 });
  assert.equal(list.error, null);
  assert.ok(list.data.users.some((u) => u.id === user.id));
  assert.ok((list.data as unknown as { total: number }).total >= list.data.users.length);
  const del = await admin.auth.admin.deleteUser(user.id);
  assert.equal(del.error, null);
  const after = await admin.auth.admin.getUserById(user.id);
  assert.equal(after.error?.status, 404);
});

Deno.test('auth: admin.updateUserById changes metadata and password, and bans', async () => {
  const admin = service();
  const { email, user, session } = await signUp('adminupd', { plan: 'free' });
  const upd = await admin.auth.admin.updateUserById(user.id, {
    user_metadata: { plan: 'pro' },
    app_metadata: { tier: 'gold' },
    password: 'set by the admin',
  });
  assert.equal(upd.error, null, upd.error?.message ?? '');
  assert.equal(upd.data.user?.user_metadata.plan, 'pro');
  assert.equal(upd.data.user?.user_metadata.email, email);
  assert.deepEqual(upd.data.user?.app_metadata, {
    provider: 'email',
    providers: ['email'],
    tier: 'gold',
  });
  // An admin password change signs the user out everywhere.
  const stale = await anon().auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(stale.error?.code, 'refresh_token_not_found');
  const signed = await anon().auth.signInWithPassword({ email, password: 'set by the admin' });
  assert.equal(signed.error, null);

  const banned = await admin.auth.admin.updateUserById(user.id, { ban_duration: '24h' });
  assert.equal(banned.error, null, banned.error?.message ?? '');
  assert.ok(Date.parse(banned.data.user!.banned_until!) > Date.now() + 23 * 3600_000);
  const refused = await anon().auth.signInWithPassword({ email, password: 'set by the admin' });
  assert.equal(refused.error?.status, 400);
  assert.equal(refused.error?.code, 'user_banned');
  const me = await authFetch('/user', { token: signed.data.session!.access_token });
  assert.equal(me.status, 403);
  assert.equal((await me.json()).code, 'user_banned');

  const lifted = await admin.auth.admin.updateUserById(user.id, { ban_duration: 'none' });
  assert.equal(lifted.data.user?.banned_until, undefined);
  const back = await anon().auth.signInWithPassword({ email, password: 'set by the admin' });
  assert.equal(back.error, null);

  const badBan = await admin.auth.admin.updateUserById(user.id, { ban_duration: 'forever' });
  assert.equal(badBan.error?.status, 400);
  assert.equal(badBan.error?.code, 'validation_failed');
});

Deno.test('auth: concurrent sign-ups with one email create one user, all answered alike', async () => {
  const email = uniqueEmail('twin');
  const attempt = () =>
    authFetch('/signup', { method: 'POST', body: JSON.stringify({ email, password: PASSWORD }) });
  const responses = await Promise.all([attempt(), attempt(), attempt()]);
  const statuses = responses.map((r) => r.status).sort();
  const bodies = await Promise.all(responses.map((r) => r.json()));
  assert.deepEqual(statuses, [200, 200, 200]);
  for (const b of bodies) assert.equal(b.email, email);
  const n = await withDb((sql) =>
    sql`select count(*)::int as n from auth.users where email = ${email}`
  );
  assert.equal(n[0].n, 1);
});

Deno.test('auth: the access token works against PostgREST (auth.uid() is the user)', async () => {
  const { client, session, user } = await signUp('rest');
  await client.auth.setSession({
    access_token: session.access_token,
    refresh_token: session.refresh_token,
  });
  const tenant = await client.rpc('create_tenant', { p_name: `Auth ${run}` });
  assert.equal(tenant.error, null, tenant.error?.message ?? '');
  const tenantId = (tenant.data as { id: string }).id;
  const members = await client.from('tenant_members').select('user_id, role').eq(
    'tenant_id',
    tenantId,
  );
  assert.equal(members.error, null, members.error?.message ?? '');
  assert.deepEqual(members.data, [{ user_id: user.id, role: 'owner' }]);
});

Deno.test('auth: bad input gets GoTrue-shaped 4xx errors, never a 500', async () => {
  const badJson = await authFetch('/signup', { method: 'POST', body: '{not json' });
  assert.equal(badJson.status, 400);
  assert.equal((await badJson.json()).code, 'bad_json');

  // Without the API version header: the legacy {code: status, error_code, msg} shape.
  const legacy = await fetch(`${AUTH}/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: env.SUPABASE_ANON_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ password: 'x' }),
  });
  assert.equal(legacy.status, 400);
  assert.deepEqual(await legacy.json(), {
    code: 400,
    error_code: 'validation_failed',
    msg: 'missing email or phone',
  });

  const noPassword = await authFetch('/signup', {
    method: 'POST',
    body: JSON.stringify({ email: uniqueEmail('nopw') }),
  });
  assert.equal(noPassword.status, 400);
  assert.deepEqual(await noPassword.json(), {
    code: 'validation_failed',
    message: 'Signup requires a valid password',
  });

  const wrongType = await authFetch('/signup', {
    method: 'POST',
    body: JSON.stringify({ email: 42, password: PASSWORD }),
  });
  assert.equal(wrongType.status, 400);
  assert.equal((await wrongType.json()).code, 'bad_json');

  const badEmail = await authFetch('/signup', {
    method: 'POST',
    body: JSON.stringify({ email: 'not-an-email', password: PASSWORD }),
  });
  assert.equal(badEmail.status, 400);
  assert.equal((await badEmail.json()).code, 'validation_failed');

  const grant = await authFetch('/token?grant_type=magic', { method: 'POST', body: '{}' });
  assert.equal(grant.status, 400);
  assert.equal((await grant.json()).message, 'unsupported_grant_type');

  const scope = await signUp('scope');
  const badScope = await authFetch('/logout?scope=everyone', {
    method: 'POST',
    token: scope.session.access_token,
  });
  assert.equal(badScope.status, 400);
  assert.equal((await badScope.json()).code, 'validation_failed');
});

Deno.test('auth: /health and /settings answer like GoTrue', async () => {
  const health = await authFetch('/health');
  assert.equal(health.status, 200);
  assert.equal((await health.json()).name, 'GoTrue');
  const settings = await authFetch('/settings');
  const body = await settings.json();
  assert.equal(body.external.email, true);
  assert.equal(body.mailer_autoconfirm, false, 'enable_confirmations = true in config.toml');
  assert.equal(body.disable_signup, false);
});
