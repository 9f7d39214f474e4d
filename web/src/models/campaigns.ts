// Campaigns (bulk sends through the bulk_send RPC) with a skip preview and live progress, and the
// business's scheduled messages with cancel. The preview is the database's (bulk_send_preview runs
// bulk_send's own audience query), so what it promises is what the send does.
import { action, computed, createModel, effect, signal } from '@preact/signals';
import { must, type Row, rpc, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

export type BulkSend = Row<'bulk_sends'>;
export type Progress = { total: number; done: number; failed: number };
export type Scheduled = Row<'messages'> & {
  contact: { name: string; phone: string | null } | null;
};
export interface Audience {
  channel: 'sms' | 'whatsapp' | 'email';
  tags: string[];
}
export interface Preview {
  targeted: number;
  eligible: number;
  skipped: Record<string, number>;
}
export interface BulkResult {
  bulk_send_id: string;
  targeted: number;
  queued: number;
  skipped: Record<string, number>;
}

const DONE = ['sent', 'delivered', 'read', 'failed', 'undelivered', 'canceled'];

export const CampaignsModel = createModel((tenantId: string) => {
  const campaigns = signal<BulkSend[]>([]);
  const progress = signal<Record<string, Progress>>({});
  const scheduled = signal<Scheduled[]>([]);
  const error = signal('');
  const audience = signal<Audience>({ channel: 'sms', tags: [] });
  const preview = signal<Preview>({ targeted: 0, eligible: 0, skipped: {} });
  const tags = signal<string[]>([]);
  const sending = signal(false);
  const lastResult = signal<BulkResult | null>(null);

  const active = computed(() =>
    campaigns.value.filter((c) => {
      const p = progress.value[c.id];
      return c.status !== 'canceled' && (!p || p.done < p.total);
    })
  );

  const loadCampaigns = async () => {
    campaigns.value = must(
      await supabase.from('bulk_sends').select('*').eq('tenant_id', tenantId)
        .order('created_at', { ascending: false }).limit(50),
    );
  };
  const loadProgress = async (ids: string[]) => {
    const next = { ...progress.peek() };
    await Promise.all(ids.map(async (id) => {
      const count = async (statuses?: string[]) => {
        let q = supabase.from('messages').select('id', { count: 'exact', head: true })
          .eq('bulk_send_id', id);
        if (statuses) q = q.in('status', statuses);
        return (await q).count ?? 0;
      };
      const [total, done, failed] = await Promise.all([
        count(),
        count(DONE),
        count(['failed', 'undelivered']),
      ]);
      next[id] = { total, done, failed };
    }));
    progress.value = next;
  };
  const loadScheduled = async () => {
    scheduled.value = must(
      await supabase.from('messages').select('*, contact:contacts(name, phone)')
        .eq('tenant_id', tenantId).eq('status', 'scheduled').order('scheduled_for').limit(200),
    ) as unknown as Scheduled[];
  };
  const loadAll = action(async () => {
    try {
      await Promise.all([loadCampaigns(), loadScheduled()]);
      await loadProgress(campaigns.peek().slice(0, 10).map((c) => c.id));
    } catch (e) {
      error.value = humanError(e);
    }
  });

  effect(() => void loadAll());
  effect(() => {
    supabase.from('contacts').select('tags').eq('tenant_id', tenantId).limit(5000).then(
      ({ data }) => (tags.value = [...new Set((data ?? []).flatMap((c) => c.tags))].sort()),
    );
  });
  // The preview follows the chosen channel and tags; an answer for an older choice is dropped.
  effect(() => {
    const { channel, tags: t } = audience.value;
    let current = true;
    rpc<Preview>('bulk_send_preview', { p_tenant_id: tenantId, p_channel: channel, p_tags: t })
      .then((p) => current && (preview.value = p))
      .catch((e) => current && (error.value = `No preview: ${humanError(e)}`));
    return () => (current = false);
  });
  // Progress bars refresh every second while a campaign is still sending.
  effect(() => {
    const ids = active.value.map((c) => c.id);
    if (!ids.length) return;
    const timer = setInterval(() => void loadProgress(ids), 1000);
    return () => clearInterval(timer);
  });

  return {
    campaigns,
    progress,
    scheduled,
    error,
    audience,
    tags,
    preview,
    sending,
    lastResult,
    reload: loadAll,
    send: action(
      async (
        opts: {
          name: string;
          body: string | null;
          templateId: string | null;
          scheduledFor: string | null;
        },
      ) => {
        sending.value = true;
        error.value = '';
        try {
          const res = await rpc<BulkResult>('bulk_send', {
            p_tenant_id: tenantId,
            p_channel: audience.peek().channel,
            p_body: opts.body,
            p_template_id: opts.templateId,
            p_tags: audience.peek().tags,
            p_name: opts.name,
            p_scheduled_for: opts.scheduledFor,
          });
          lastResult.value = res;
          await loadCampaigns();
          await loadProgress([res.bulk_send_id]);
          await loadScheduled();
        } catch (e) {
          error.value = `The campaign was not sent: ${humanError(e)}`;
        } finally {
          sending.value = false;
        }
      },
    ),
    cancelScheduled: action(async (id: string) => {
      const before = scheduled.peek();
      scheduled.value = before.filter((m) => m.id !== id);
      const { data, error: e } = await supabase.from('messages').update({ status: 'canceled' })
        .eq('id', id).eq('status', 'scheduled').select('id');
      if (e || !data?.length) {
        scheduled.value = before;
        error.value = e ? `Could not cancel: ${humanError(e)}` : 'It was already sent.';
      }
    }),
  };
});
export type CampaignsModel = InstanceType<typeof CampaignsModel>;
