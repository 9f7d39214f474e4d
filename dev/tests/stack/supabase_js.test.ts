// The real @supabase/supabase-js against the local stack: the query surface the dashboard uses,
// on the app's tables, and tenant isolation through every one of those calls.
import assert from 'node:assert/strict';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Database } from '../../../common/database.types.ts';
import { stackEnv } from './_env.ts';

const env = stackEnv();
const run = crypto.randomUUID().slice(0, 8);
const opts = { auth: { persistSession: false, autoRefreshToken: false } };

type Client = SupabaseClient<Database>;

async function signedInOwner(label: string): Promise<{ client: Client; tenantId: string }> {
  const admin = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, opts);
  const email = `${label}-${run}@example.test`;
  const created = await admin.auth.admin.createUser({
    email,
    password: 'correct horse battery',
    email_confirm: true,
  });
  assert.equal(created.error, null);
  const client = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, opts);
  const signed = await client.auth.signInWithPassword({ email, password: 'correct horse battery' });
  assert.equal(signed.error, null);
  const tenant = await client.rpc('create_tenant', { p_name: `${label} ${run}` });
  assert.equal(tenant.error, null, tenant.error?.message ?? '');
  return { client, tenantId: (tenant.data as { id: string }).id };
}

const a = await signedInOwner('alpha');
const b = await signedInOwner('bravo');

Deno.test('supabase-js: insert with select().single() returns the row', async () => {
  const { data, error } = await a.client.from('contacts')
    .insert({ tenant_id: a.tenantId, name: 'Ada', phone: '+14155550101', tags: ['vip'] })
    .select()
    .single();
  assert.equal(error, null);
  assert.equal(data!.name, 'Ada');
  assert.equal(data!.phone, '+14155550101');
});

Deno.test('supabase-js: filters, order, range and exact count', async () => {
  const rows = Array.from({ length: 12 }, (_, i) => ({
    tenant_id: a.tenantId,
    name: `Range ${String(i).padStart(2, '0')}`,
    email: `range${i}-${run}@example.test`,
    tags: i % 2 ? ['odd'] : ['even'],
  }));
  const ins = await a.client.from('contacts').insert(rows);
  assert.equal(ins.error, null);
  const page = await a.client.from('contacts')
    .select('name', { count: 'exact' })
    .eq('tenant_id', a.tenantId)
    .like('name', 'Range %')
    .contains('tags', ['odd'])
    .order('name', { ascending: false })
    .range(0, 2);
  assert.equal(page.error, null);
  assert.equal(page.count, 6);
  assert.deepEqual(page.data!.map((r) => r.name), ['Range 11', 'Range 09', 'Range 07']);
});

Deno.test('supabase-js: update and delete with filters', async () => {
  const ins = await a.client.from('contacts')
    .insert({ tenant_id: a.tenantId, name: 'Temp', email: `temp-${run}@example.test` })
    .select('id')
    .single();
  assert.equal(ins.error, null);
  const upd = await a.client.from('contacts').update({ name: 'Temp 2' }).eq('id', ins.data!.id)
    .select('name').single();
  assert.equal(upd.error, null);
  assert.equal(upd.data!.name, 'Temp 2');
  const del = await a.client.from('contacts').delete().eq('id', ins.data!.id).select('id');
  assert.equal(del.error, null);
  assert.equal(del.data!.length, 1);
});

Deno.test('supabase-js: upsert on a unique key updates in place', async () => {
  const first = await a.client.from('templates')
    .upsert({ tenant_id: a.tenantId, name: `Welcome ${run}`, body: 'Hi {first_name}' }, {
      onConflict: 'tenant_id,name',
    })
    .select('id, body')
    .single();
  assert.equal(first.error, null);
  const second = await a.client.from('templates')
    .upsert({ tenant_id: a.tenantId, name: `Welcome ${run}`, body: 'Hello {first_name}' }, {
      onConflict: 'tenant_id,name',
    })
    .select('id, body')
    .single();
  assert.equal(second.error, null);
  assert.equal(second.data!.id, first.data!.id);
  assert.equal(second.data!.body, 'Hello {first_name}');
});

Deno.test('supabase-js: rpc errors come back as PostgREST errors', async () => {
  const res = await a.client.rpc('create_tenant', { p_name: '' });
  assert.ok(res.error, 'an empty name is refused');
  assert.ok(res.error.message.length > 0);
});

Deno.test('isolation: tenant B sees none of tenant A by select, filter, count or single', async () => {
  const all = await b.client.from('contacts').select('id, tenant_id', { count: 'exact' });
  assert.equal(all.error, null);
  assert.ok(all.data!.every((r) => r.tenant_id === b.tenantId));
  const filtered = await b.client.from('contacts').select('id').eq('tenant_id', a.tenantId);
  assert.deepEqual(filtered.data, []);
  const single = await b.client.from('tenants').select('id').eq('id', a.tenantId).single();
  assert.ok(single.error, 'single() on an invisible row is an error');
  assert.equal(single.error.code, 'PGRST116');
});

Deno.test('isolation: tenant B can neither change nor delete nor insert into tenant A', async () => {
  const target = await a.client.from('contacts')
    .insert({ tenant_id: a.tenantId, name: 'Protected', email: `protected-${run}@example.test` })
    .select('id')
    .single();
  assert.equal(target.error, null);
  const id = target.data!.id;

  const upd = await b.client.from('contacts').update({ name: 'pwned' }).eq('id', id).select();
  assert.deepEqual(upd.data ?? [], []);
  const del = await b.client.from('contacts').delete().eq('id', id).select();
  assert.deepEqual(del.data ?? [], []);
  const ins = await b.client.from('contacts').insert({ tenant_id: a.tenantId, name: 'intruder' });
  assert.ok(ins.error, 'insert into another tenant is refused');
  assert.equal(ins.error.code, '42501');
  const ups = await b.client.from('contacts')
    .upsert({ id, tenant_id: b.tenantId, name: 'moved' });
  assert.ok(ups.error, "an upsert cannot take over another tenant's row");

  const still = await a.client.from('contacts').select('name, tenant_id').eq('id', id).single();
  assert.equal(still.data!.name, 'Protected');
  assert.equal(still.data!.tenant_id, a.tenantId);
});

Deno.test("isolation: moving one's own row into another tenant is refused (WITH CHECK)", async () => {
  const own = await b.client.from('contacts')
    .insert({ tenant_id: b.tenantId, name: 'Mine', email: `mine-${run}@example.test` })
    .select('id')
    .single();
  assert.equal(own.error, null);
  const moved = await b.client.from('contacts').update({ tenant_id: a.tenantId })
    .eq('id', own.data!.id);
  assert.ok(moved.error);
  assert.equal(moved.error.code, '42501');
});

Deno.test('anon sees no tenant data', async () => {
  const anon = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, opts);
  const res = await anon.from('contacts').select('id');
  assert.ok(res.error || res.data!.length === 0);
});

Deno.test({
  name: 'realtime through supabase-js: refreshSession keeps the subscription delivering',
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const contact = await a.client.from('contacts')
      .insert({ tenant_id: a.tenantId, name: 'Live', phone: '+14155550177' })
      .select('id')
      .single();
    assert.equal(contact.error, null, contact.error?.message ?? '');
    const conv = await a.client.from('conversations')
      .insert({ tenant_id: a.tenantId, contact_id: contact.data!.id, channel: 'sms' })
      .select('id')
      .single();
    assert.equal(conv.error, null, conv.error?.message ?? '');
    const { data: { user } } = await a.client.auth.getUser();

    const seen: string[] = [];
    const subscribed = Promise.withResolvers<void>();
    const channel = a.client.channel(`refresh-${run}`)
      .on('postgres_changes', {
        event: 'INSERT',
        schema: 'public',
        table: 'messages',
        filter: `conversation_id=eq.${conv.data!.id}`,
      }, (p) => seen.push((p.new as { body: string }).body))
      .subscribe((status) => {
        if (status === 'SUBSCRIBED') subscribed.resolve();
      });
    const waitFor = async (body: string) => {
      const deadline = Date.now() + 3000;
      while (!seen.includes(body)) {
        if (Date.now() > deadline) throw new Error(`"${body}" not delivered; saw ${seen}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const send = async (body: string) => {
      const r = await a.client.from('messages').insert({
        tenant_id: a.tenantId,
        conversation_id: conv.data!.id,
        contact_id: contact.data!.id,
        direction: 'outbound',
        channel: 'sms',
        kind: 'manual',
        body,
        status: 'queued',
        sent_by: user!.id,
      });
      assert.equal(r.error, null, r.error?.message ?? '');
    };
    try {
      await subscribed.promise;
      await send(`before refresh ${run}`);
      await waitFor(`before refresh ${run}`);
      // The real auth server rotates the session; supabase-js hands the new token to realtime.
      const refreshed = await a.client.auth.refreshSession();
      assert.equal(refreshed.error, null, refreshed.error?.message ?? '');
      await send(`after refresh ${run}`);
      await waitFor(`after refresh ${run}`);
    } finally {
      await a.client.removeChannel(channel);
    }
  },
});
