// The inbox of one business: conversation list with filters and search, the open thread, replies,
// and a realtime channel (postgres_changes on conversations and messages of this tenant) opened in
// a model effect and removed in its cleanup. RLS on the server decides what this user may see.
import { action, batch, computed, createModel, effect, signal } from '@preact/signals';
import type { RealtimePostgresChangesPayload } from '@supabase/supabase-js';
import { affected, must, type Row, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

export type Contact = Pick<
  Row<'contacts'>,
  | 'id'
  | 'name'
  | 'phone'
  | 'email'
  | 'whatsapp'
  | 'opted_out_at'
  | 'opted_out_channels'
  | 'reminder_consent'
  | 'promotional_consent'
>;
export type Conversation = Row<'conversations'> & { contact: Contact | null };
export type Message = Row<'messages'>;
export type Filter = 'open' | 'unread' | 'needs_human' | 'archived' | 'spam' | 'all';
export type Channel = 'sms' | 'whatsapp' | 'email';

const CONTACT_COLS =
  'id, name, phone, email, whatsapp, opted_out_at, opted_out_channels, reminder_consent, promotional_consent';
const SELECT = `*, contact:contacts(${CONTACT_COLS})`;
const PAGE = 100;
const WINDOW_MS = 24 * 3600 * 1000;

function byRecent(a: Conversation, b: Conversation) {
  return (b.last_message_at ?? b.created_at).localeCompare(a.last_message_at ?? a.created_at);
}

export function matchesFilter(c: Row<'conversations'>, f: Filter, channel: Channel | 'all') {
  if (channel !== 'all' && c.channel !== channel) return false;
  switch (f) {
    case 'open':
      return c.status === 'open' || c.status === 'dormant';
    case 'unread':
      return c.unread_count > 0 && c.status !== 'spam';
    case 'needs_human':
      return c.needs_human && c.status !== 'spam';
    case 'archived':
      return c.status === 'archived';
    case 'spam':
      return c.status === 'spam';
    default:
      return true;
  }
}

export const InboxModel = createModel((tenantId: string, userId: string) => {
  const conversations = signal<Conversation[]>([]);
  const loading = signal(true);
  const error = signal('');
  const filter = signal<Filter>('open');
  const channel = signal<Channel | 'all'>('all');
  const search = signal('');
  const limit = signal(PAGE);
  const hasMore = signal(false);
  const selectedId = signal<string | null>(null);
  const messages = signal<Message[]>([]);
  const threadLoading = signal(false);
  const siblings = signal<Row<'conversations'>[]>([]);
  const templates = signal<Row<'templates'>[]>([]);
  const live = signal<'connecting' | 'live' | 'offline'>('connecting');
  // Unread counts of every conversation with unread messages, kept current by realtime: the
  // sidebar badge does not depend on the list's filter.
  const unreadById = signal<Record<string, number>>({});

  const selected = computed(() =>
    conversations.value.find((c) => c.id === selectedId.value) ?? null
  );
  const unreadTotal = computed(() => Object.values(unreadById.value).reduce((a, n) => a + n, 0));
  const whatsappWindowClosesAt = computed(() => {
    const wa = siblings.value.find((s) => s.channel === 'whatsapp');
    const at = wa?.last_inbound_at;
    return at ? new Date(new Date(at).getTime() + WINDOW_MS) : null;
  });

  const setUnread = (id: string, n: number, status: string) => {
    const next = { ...unreadById.peek() };
    if (n > 0 && status !== 'spam') next[id] = n;
    else delete next[id];
    unreadById.value = next;
  };

  async function searchIds(q: string): Promise<{ contactIds: string[]; convIds: string[] }> {
    const like = `%${q.replace(/[%_,()]/g, ' ')}%`;
    const [contacts, msgs] = await Promise.all([
      supabase.from('contacts').select('id').eq('tenant_id', tenantId)
        .or(`name.ilike.${like},phone.ilike.${like},email.ilike.${like},whatsapp.ilike.${like}`)
        .limit(500),
      supabase.from('messages').select('conversation_id').eq('tenant_id', tenantId)
        .ilike('body', like).limit(500),
    ]);
    return {
      contactIds: (must(contacts) ?? []).map((c) => c.id),
      convIds: [...new Set((must(msgs) ?? []).map((m) => m.conversation_id))],
    };
  }

  const load = action(async () => {
    const f = filter.value, ch = channel.value, q = search.value.trim(), n = limit.value;
    loading.value = true;
    try {
      let query = supabase.from('conversations').select(SELECT).eq('tenant_id', tenantId);
      if (ch !== 'all') query = query.eq('channel', ch);
      if (f === 'open') query = query.in('status', ['open', 'dormant']);
      if (f === 'unread') query = query.gt('unread_count', 0).neq('status', 'spam');
      if (f === 'needs_human') query = query.eq('needs_human', true).neq('status', 'spam');
      if (f === 'archived') query = query.eq('status', 'archived');
      if (f === 'spam') query = query.eq('status', 'spam');
      if (q) {
        const { contactIds, convIds } = await searchIds(q);
        if (!contactIds.length && !convIds.length) {
          conversations.value = [];
          hasMore.value = false;
          return;
        }
        const parts = [];
        if (contactIds.length) parts.push(`contact_id.in.(${contactIds.join(',')})`);
        if (convIds.length) parts.push(`id.in.(${convIds.join(',')})`);
        query = query.or(parts.join(','));
      }
      const rows = must(
        await query.order('last_message_at', { ascending: false, nullsFirst: false }).limit(n + 1),
      ) as unknown as Conversation[];
      // Only the newest answer counts if the filter changed meanwhile.
      if (f !== filter.peek() || ch !== channel.peek() || q !== search.peek().trim()) return;
      batch(() => {
        hasMore.value = rows.length > n;
        conversations.value = rows.slice(0, n);
        error.value = '';
      });
    } catch (e) {
      error.value = humanError(e);
    } finally {
      loading.value = false;
    }
  });

  const loadUnread = async () => {
    const { data } = await supabase.from('conversations').select('id, unread_count, status')
      .eq('tenant_id', tenantId).gt('unread_count', 0).neq('status', 'spam').limit(1000);
    const next: Record<string, number> = {};
    for (const r of data ?? []) next[r.id] = r.unread_count;
    unreadById.value = next;
  };

  const loadThread = async (id: string) => {
    threadLoading.value = true;
    try {
      const rows = must(
        await supabase.from('messages').select('*').eq('conversation_id', id)
          .order('created_at', { ascending: false }).limit(200),
      );
      if (selectedId.peek() !== id) return;
      messages.value = rows.reverse();
      const conv = conversations.peek().find((c) => c.id === id);
      const contactId = conv?.contact_id ??
        must(await supabase.from('conversations').select('contact_id').eq('id', id).single())
          .contact_id;
      siblings.value = must(
        await supabase.from('conversations').select('*').eq('contact_id', contactId),
      );
    } catch (e) {
      error.value = humanError(e);
    } finally {
      threadLoading.value = false;
    }
  };

  // Reload the list whenever a filter, the search or the page size changes.
  effect(() => {
    const typing = search.value.trim() !== '';
    void filter.value, channel.value, limit.value;
    // Wait for a pause in typing before searching; filters apply at once.
    const timer = setTimeout(() => void load(), typing ? 250 : 0);
    return () => clearTimeout(timer);
  });
  effect(() => void loadUnread());
  effect(() => {
    const id = selectedId.value;
    messages.value = [];
    siblings.value = [];
    if (id) void loadThread(id);
  });
  // Templates for the reply box, fetched again whenever a thread opens (they change elsewhere).
  effect(() => {
    void selectedId.value;
    supabase.from('templates').select('*').eq('tenant_id', tenantId).order('name').then(
      ({ data }) => (templates.value = data ?? []),
    );
  });

  const onConversation = async (p: RealtimePostgresChangesPayload<Row<'conversations'>>) => {
    if (p.eventType === 'DELETE') {
      const id = (p.old as { id?: string }).id;
      conversations.value = conversations.peek().filter((c) => c.id !== id);
      return;
    }
    const row = p.new;
    setUnread(row.id, row.unread_count, row.status);
    // A message arriving in the thread being read is read.
    const autoRead = row.id === selectedId.peek() && row.unread_count > 0 &&
      globalThis.document?.visibilityState === 'visible';
    if (autoRead) void patch(row.id, { unread_count: 0 });
    const list = conversations.peek();
    const existing = list.find((c) => c.id === row.id);
    const fits = matchesFilter(row, filter.peek(), channel.peek()) && !search.peek().trim();
    if (!fits) {
      if (existing && !search.peek().trim()) {
        conversations.value = list.filter((c) => c.id !== row.id);
      } else if (existing) {
        conversations.value = list.map((c) => (c.id === row.id ? { ...c, ...row } : c));
      }
      return;
    }
    let contact = existing?.contact ?? null;
    if (!contact) {
      const { data } = await supabase.from('contacts').select(CONTACT_COLS).eq('id', row.contact_id)
        .maybeSingle();
      contact = data as Contact | null;
    }
    const merged: Conversation = { ...row, contact, unread_count: autoRead ? 0 : row.unread_count };
    const rest = conversations.peek().filter((c) => c.id !== row.id);
    conversations.value = [merged, ...rest].sort(byRecent);
  };

  const onMessage = (p: RealtimePostgresChangesPayload<Message>) => {
    if (p.eventType === 'DELETE') return;
    const m = p.new;
    if (m.conversation_id !== selectedId.peek()) return;
    const list = messages.peek();
    const i = list.findIndex((x) => x.id === m.id);
    if (i >= 0) {
      // Realtime can deliver an older state after a newer one we fetched: keep the furthest.
      const next = [...list];
      next[i] = { ...list[i], ...m };
      messages.value = next;
    } else {
      messages.value = [...list, m].sort((a, b) => a.created_at.localeCompare(b.created_at));
    }
  };

  let conversationEvents: Promise<void> = Promise.resolve();

  // The realtime subscription: opened with the model, removed in the effect's cleanup.
  effect(() => {
    const ch = supabase.channel(`inbox:${tenantId}`)
      .on<Row<'conversations'>>(
        'postgres_changes',
        {
          event: '*',
          schema: 'public',
          table: 'conversations',
          filter: `tenant_id=eq.${tenantId}`,
        },
        // One at a time, in the order they came: a new conversation's first event waits for its
        // contact, and a later event (the preview of the message that created it) must not be
        // overwritten by it when that wait ends.
        (p) => {
          conversationEvents = conversationEvents.then(() => onConversation(p)).catch(() => {});
        },
      )
      .on<Message>(
        'postgres_changes',
        { event: '*', schema: 'public', table: 'messages', filter: `tenant_id=eq.${tenantId}` },
        onMessage,
      )
      .subscribe((status) => {
        live.value = status === 'SUBSCRIBED'
          ? 'live'
          : status === 'CLOSED' || status === 'CHANNEL_ERROR' || status === 'TIMED_OUT'
          ? 'offline'
          : 'connecting';
      });
    return () => void supabase.removeChannel(ch);
  });

  /** Optimistic change to a conversation, rolled back when the update fails. */
  const patch = async (id: string, change: Partial<Row<'conversations'>>) => {
    const before = conversations.peek();
    const old = before.find((c) => c.id === id);
    conversations.value = before.map((c) => (c.id === id ? { ...c, ...change } : c));
    if (old) setUnread(id, change.unread_count ?? old.unread_count, change.status ?? old.status);
    const e = affected(
      await supabase.from('conversations').update(change).eq('id', id).select('id'),
    );
    if (e) {
      conversations.value = before;
      if (old) setUnread(id, old.unread_count, old.status);
      error.value = `Could not update the conversation: ${humanError(e)}`;
    } else if (
      change.status && !matchesFilter({ ...old!, ...change }, filter.peek(), channel.peek())
    ) {
      conversations.value = conversations.peek().filter((c) => c.id !== id);
      if (selectedId.peek() === id) selectedId.value = null;
    }
  };

  const conversationFor = async (conv: Conversation, ch: Channel): Promise<string> => {
    if (ch === conv.channel) return conv.id;
    const found = siblings.peek().find((s) => s.channel === ch);
    if (found) return found.id;
    const row = must(
      await supabase.from('conversations').insert({
        tenant_id: tenantId,
        contact_id: conv.contact_id,
        channel: ch,
      }).select('*').single(),
    );
    siblings.value = [...siblings.peek(), row];
    return row.id;
  };

  return {
    conversations,
    loading,
    error,
    filter,
    channel,
    search,
    hasMore,
    selectedId,
    selected,
    messages,
    threadLoading,
    siblings,
    templates,
    live,
    unreadTotal,
    whatsappWindowClosesAt,
    reload: load,
    loadMore: action(() => void (limit.value += PAGE)),
    open: action((id: string | null) => {
      selectedId.value = id;
      const c = conversations.peek().find((x) => x.id === id);
      if (c && c.unread_count > 0) void patch(c.id, { unread_count: 0 });
    }),
    markRead: action((id: string) => patch(id, { unread_count: 0 })),
    markUnread: action((id: string) => patch(id, { unread_count: 1 })),
    archive: action((id: string) => patch(id, { status: 'archived' })),
    reopen: action((id: string) => patch(id, { status: 'open' })),
    spam: action((id: string) => patch(id, { status: 'spam', unread_count: 0 })),
    setAiPaused: action((id: string, paused: boolean) =>
      patch(id, { ai_paused: paused, ai_paused_until: null })
    ),
    /** Sends (or schedules) a reply; shows it at once as queued and removes it if refused. */
    send: action(async (opts: {
      body: string;
      channel: Channel;
      subject?: string;
      scheduledFor?: string | null;
      templateId?: string | null;
    }): Promise<boolean> => {
      const conv = selected.peek();
      if (!conv) return false;
      error.value = '';
      const tempId = `temp-${crypto.randomUUID()}`;
      const now = new Date().toISOString();
      const status = opts.scheduledFor ? 'scheduled' : 'queued';
      let convId = conv.id;
      try {
        convId = await conversationFor(conv, opts.channel);
      } catch (e) {
        error.value = `Could not open a ${opts.channel} conversation: ${humanError(e)}`;
        return false;
      }
      const row = {
        tenant_id: tenantId,
        conversation_id: convId,
        contact_id: conv.contact_id,
        direction: 'outbound',
        channel: opts.channel,
        kind: 'manual',
        body: opts.body,
        subject: opts.subject || null,
        status,
        scheduled_for: opts.scheduledFor ?? null,
        template_id: opts.templateId ?? null,
        sent_by: userId,
      };
      const optimistic = convId === conv.id;
      if (optimistic) {
        messages.value = [...messages.peek(), { ...row, id: tempId, created_at: now } as Message];
      }
      const { data, error: e } = await supabase.from('messages').insert(row).select('*').single();
      if (e || !data) {
        messages.value = messages.peek().filter((m) => m.id !== tempId);
        error.value = `Not sent: ${humanError(e)}`;
        return false;
      }
      if (optimistic) {
        // Realtime may already have added the row: keep one copy.
        const list = messages.peek().filter((m) => m.id !== tempId);
        messages.value = list.some((m) => m.id === data.id) ? list : [...list, data];
      }
      return true;
    }),
    cancelScheduled: action(async (id: string) => {
      const before = messages.peek();
      messages.value = before.map((m) => (m.id === id ? { ...m, status: 'canceled' } : m));
      const e = affected(
        await supabase.from('messages').update({ status: 'canceled' }).eq('id', id)
          .eq('status', 'scheduled').select('id'),
      );
      if (e) {
        messages.value = before;
        error.value = `Could not cancel: ${humanError(e)}`;
      }
    }),
  };
});
export type InboxModel = InstanceType<typeof InboxModel>;
