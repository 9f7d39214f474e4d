/** @jsxImportSource preact */
// The inbox: conversation list with filters and search, the open thread with statuses, and the
// reply box. All state is in InboxModel (models/inbox.ts); this file only draws it.
import { useComputed, useSignal } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import {
  type Channel,
  type Conversation,
  type Filter,
  type InboxModel,
  type Message,
} from '../models/inbox.ts';
import { CHANNEL_WORDS, dateTime, errorInWords, timeAgo } from '../lib/format.ts';
import { smsInfo } from '../../../common/sms_segments.ts';
import { rpc } from '../supabase.ts';
import { Empty, ErrorText, StatusBadge, TestModeNotice, useApp } from '../components/ui.tsx';

const FILTERS: [Filter, string][] = [
  ['open', 'Open'],
  ['unread', 'Unread'],
  ['needs_human', 'Needs human'],
  ['archived', 'Archived'],
  ['spam', 'Spam'],
  ['all', 'All'],
];

export function InboxPage() {
  const { inbox } = useApp();
  const selected = inbox.selected.value;
  return (
    <section class={`inbox ${selected ? 'has-thread' : ''}`} aria-label='Inbox'>
      <div class='inbox-list'>
        <h1 class='sr-only'>Inbox</h1>
        <Filters inbox={inbox} />
        <ErrorText>{inbox.error.value}</ErrorText>
        <ConversationList inbox={inbox} />
      </div>
      <div class='inbox-thread'>
        {selected
          ? <Thread inbox={inbox} conv={selected} />
          : (
            <Empty title='No conversation selected'>
              Pick a conversation on the left. New messages appear here as they arrive.
            </Empty>
          )}
      </div>
    </section>
  );
}

function Filters({ inbox }: { inbox: InboxModel }) {
  return (
    <div class='filters'>
      <div role='group' aria-label='Show' class='chips'>
        {FILTERS.map(([f, label]) => (
          <button
            key={f}
            type='button'
            class='chip'
            aria-pressed={inbox.filter.value === f}
            onClick={() => (inbox.filter.value = f)}
          >
            {label}
          </button>
        ))}
      </div>
      <div class='row'>
        <label class='grow'>
          <span class='sr-only'>Search conversations</span>
          <input
            type='search'
            placeholder='Search name, phone, email or text'
            value={inbox.search.value}
            onInput={(e) => (inbox.search.value = e.currentTarget.value)}
          />
        </label>
        <label>
          <span class='sr-only'>Channel</span>
          <select
            value={inbox.channel.value}
            onChange={(e) => (inbox.channel.value = e.currentTarget.value as Channel | 'all')}
          >
            <option value='all'>All channels</option>
            <option value='sms'>SMS</option>
            <option value='whatsapp'>WhatsApp</option>
            <option value='email'>Email</option>
          </select>
        </label>
      </div>
      <p class='live' data-live={inbox.live.value}>
        {inbox.live.value === 'live'
          ? '● Live'
          : inbox.live.value === 'offline'
          ? '○ Offline: reload to reconnect'
          : '○ Connecting…'}
      </p>
    </div>
  );
}

function ConversationList({ inbox }: { inbox: InboxModel }) {
  const list = inbox.conversations.value;
  if (!list.length) {
    if (inbox.loading.value) return <p role='status'>Loading conversations…</p>;
    return (
      <Empty title={inbox.search.value ? 'Nothing matches your search' : 'No conversations here'}>
        {inbox.search.value
          ? 'Try a name, a phone number or words from a message.'
          : 'When customers text, WhatsApp or email you, their conversations show up here.'}
      </Empty>
    );
  }
  return (
    <>
      <ul class='conversations' aria-label='Conversations'>
        {list.map((c) => <ConversationRow key={c.id} c={c} inbox={inbox} />)}
      </ul>
      {inbox.hasMore.value && (
        <button
          type='button'
          class='secondary'
          onClick={() => inbox.loadMore()}
        >
          Show more
        </button>
      )}
    </>
  );
}

function ConversationRow({ c, inbox }: { c: Conversation; inbox: InboxModel }) {
  const who = c.contact?.name || c.contact?.phone || c.contact?.email || 'Unknown contact';
  const active = inbox.selectedId.value === c.id;
  return (
    <li>
      <button
        type='button'
        class={`conversation ${active ? 'active' : ''} ${c.unread_count ? 'unread' : ''}`}
        aria-current={active ? 'true' : undefined}
        data-conversation-id={c.id}
        onClick={() => inbox.open(c.id)}
      >
        <span class='conv-top'>
          <span class='conv-name'>{who}</span>
          <time dateTime={c.last_message_at ?? undefined}>{timeAgo(c.last_message_at)}</time>
        </span>
        <span class='conv-bottom'>
          <span class={`channel channel-${c.channel}`}>{CHANNEL_WORDS[c.channel]}</span>
          <span class='preview'>{c.last_message_preview ?? ''}</span>
          {c.needs_human && <span class='flag' title='Needs a person'>Needs human</span>}
          {c.unread_count > 0 && (
            <span class='badge' aria-label={`${c.unread_count} unread`}>{c.unread_count}</span>
          )}
        </span>
      </button>
    </li>
  );
}

function Thread({ inbox, conv }: { inbox: InboxModel; conv: Conversation }) {
  const list = useRef<HTMLOListElement>(null);
  const msgs = inbox.messages.value;
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'end' });
  }, [msgs.length, conv.id]);
  const c = conv.contact;
  const optedOut = c?.opted_out_channels?.length
    ? `Opted out of ${c.opted_out_channels.map((x) => CHANNEL_WORDS[x]).join(', ')} on ${
      dateTime(c.opted_out_at)
    }`
    : '';
  return (
    <article class='thread' aria-label={`Conversation with ${c?.name || c?.phone || 'contact'}`}>
      <header class='thread-header'>
        <button
          type='button'
          class='link back'
          onClick={() =>
            inbox.open(null)}
        >
          ← Back
        </button>
        <div>
          <h2>{c?.name || c?.phone || c?.email || 'Unknown contact'}</h2>
          <p class='muted'>
            {[c?.phone, c?.email].filter(Boolean).join(' · ')} · {CHANNEL_WORDS[conv.channel]} ·
            {' '}
            {conv.status}
          </p>
          {optedOut && <p class='warning'>{optedOut}</p>}
          {conv.needs_human && (
            <p class='warning'>
              Needs a person{conv.needs_human_reason ? `: ${conv.needs_human_reason}` : ''}
            </p>
          )}
        </div>
        <div class='thread-actions' role='toolbar' aria-label='Conversation actions'>
          {conv.unread_count > 0
            ? (
              <button
                type='button'
                class='secondary'
                onClick={() => inbox.markRead(conv.id)}
              >
                Mark read
              </button>
            )
            : (
              <button
                type='button'
                class='secondary'
                onClick={() => inbox.markUnread(conv.id)}
              >
                Mark unread
              </button>
            )}
          {conv.status === 'archived' || conv.status === 'spam'
            ? (
              <button
                type='button'
                class='secondary'
                onClick={() => inbox.reopen(conv.id)}
              >
                Move to inbox
              </button>
            )
            : (
              <>
                <button
                  type='button'
                  class='secondary'
                  onClick={() => inbox.archive(conv.id)}
                >
                  Archive
                </button>
                <button type='button' class='secondary' onClick={() => inbox.spam(conv.id)}>
                  Spam
                </button>
              </>
            )}
          <button
            type='button'
            class='secondary'
            aria-pressed={conv.ai_paused}
            onClick={() => inbox.setAiPaused(conv.id, !conv.ai_paused)}
          >
            {conv.ai_paused ? 'Resume AI' : 'Pause AI'}
          </button>
        </div>
      </header>
      {inbox.threadLoading.value && !msgs.length && <p role='status'>Loading messages…</p>}
      {!inbox.threadLoading.value && !msgs.length && <Empty title='No messages yet' />}
      <ol class='messages' ref={list} aria-label='Messages' aria-live='polite'>
        {msgs.map((m) => <MessageItem key={m.id} m={m} inbox={inbox} />)}
      </ol>
      <ReplyBox inbox={inbox} conv={conv} />
    </article>
  );
}

function MessageItem({ m, inbox }: { m: Message; inbox: InboxModel }) {
  const err = errorInWords(m.error_code, m.error_message);
  return (
    <li class={`message ${m.direction}`} data-message-id={m.id} data-status={m.status}>
      {m.subject && <p class='subject'>{m.subject}</p>}
      <p class='body'>{m.body}</p>
      <p class='meta'>
        {m.kind !== 'manual' && m.kind !== 'inbound' && (
          <span class='kind'>{m.kind.replace('_', ' ')}</span>
        )}
        <span>{CHANNEL_WORDS[m.channel]}</span>
        <time dateTime={m.created_at}>{timeAgo(m.created_at)}</time>
        {m.direction === 'outbound' && <StatusBadge status={m.status} />}
        {m.status === 'scheduled' && m.scheduled_for && <span>for {dateTime(m.scheduled_for)}
        </span>}
        {m.segments ? <span>{m.segments} segment{m.segments > 1 ? 's' : ''}</span> : null}
      </p>
      {err && <p class='error-in-words' role='note'>{err}</p>}
      {m.status === 'scheduled' && !m.id.startsWith('temp-') && (
        <button
          type='button'
          class='link'
          onClick={() => inbox.cancelScheduled(m.id)}
        >
          Cancel scheduled message
        </button>
      )}
    </li>
  );
}

function ReplyBox({ inbox, conv }: { inbox: InboxModel; conv: Conversation }) {
  const body = useSignal('');
  const subject = useSignal('');
  const channel = useSignal<Channel>(conv.channel as Channel);
  const templateId = useSignal<string | null>(null);
  const scheduling = useSignal(false);
  const when = useSignal('');
  const sending = useSignal(false);
  const info = useComputed(() => smsInfo(body.value));
  const c = conv.contact;
  const closes = inbox.whatsappWindowClosesAt.value;
  const windowOpen = closes !== null && closes.getTime() > Date.now();
  const waOutside = channel.value === 'whatsapp' && !windowOpen;
  const templates = inbox.templates.value.filter((t) =>
    (t.channel === 'any' || t.channel === channel.value) &&
    (!waOutside || (t.whatsapp_approved && !!t.whatsapp_content_sid))
  );
  // The database fills the template for this contact (public.template_fill), as a send would.
  const insertTemplate = async (id: string) => {
    const t = inbox.templates.value.find((x) => x.id === id);
    if (!t) return;
    templateId.value = t.id;
    try {
      const filled = await rpc<{ body: string; subject: string | null }>('template_fill', {
        p_template_id: t.id,
        p_contact_id: conv.contact_id,
      });
      body.value = filled.body;
      if (filled.subject) subject.value = filled.subject;
    } catch (e) {
      inbox.error.value = `Could not use the template: ${(e as Error).message}`;
    }
  };
  const canSend = body.value.trim().length > 0 && !sending.value &&
    (!scheduling.value || when.value) && (!waOutside || templateId.value);
  return (
    <form
      class='reply'
      aria-label='Reply'
      onSubmit={async (e) => {
        e.preventDefault();
        if (!canSend) return;
        sending.value = true;
        const ok = await inbox.send({
          body: body.value,
          channel: channel.value,
          subject: subject.value,
          templateId: templateId.value,
          scheduledFor: scheduling.value && when.value ? new Date(when.value).toISOString() : null,
        });
        sending.value = false;
        if (ok) {
          body.value = '';
          subject.value = '';
          templateId.value = null;
          scheduling.value = false;
          when.value = '';
        }
      }}
    >
      <div class='row wrap'>
        <label>
          Channel
          <select
            name='channel'
            value={channel.value}
            onChange={(e) => (channel.value = e.currentTarget.value as Channel)}
          >
            <option value='sms' disabled={!c?.phone}>SMS</option>
            <option value='whatsapp' disabled={!c?.whatsapp && !c?.phone}>WhatsApp</option>
            <option value='email' disabled={!c?.email}>Email</option>
          </select>
        </label>
        <label>
          Template
          <select
            name='template'
            value={templateId.value ?? ''}
            onChange={(e) => insertTemplate(e.currentTarget.value)}
          >
            <option value=''>Insert a template…</option>
            {templates.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        <label class='check'>
          <input
            type='checkbox'
            name='schedule'
            checked={scheduling.value}
            onChange={(e) => (scheduling.value = e.currentTarget.checked)}
          />
          Schedule for later
        </label>
        {scheduling.value && (
          <label>
            Send at
            <input
              type='datetime-local'
              name='send_at'
              required
              value={when.value}
              onInput={(e) => (when.value = e.currentTarget.value)}
            />
          </label>
        )}
      </div>
      {channel.value !== 'email' && <TestModeNotice />}
      {channel.value === 'whatsapp' && (
        <p class={windowOpen ? 'muted' : 'warning'} data-testid='wa-window'>
          {windowOpen
            ? `WhatsApp 24-hour window closes ${dateTime(closes!.toISOString())}.`
            : 'The WhatsApp 24-hour window is closed: choose an approved template.'}
        </p>
      )}
      {channel.value === 'email' && (
        <label>
          Subject
          <input value={subject.value} onInput={(e) => (subject.value = e.currentTarget.value)} />
        </label>
      )}
      <label>
        <span class='sr-only'>Message</span>
        <textarea
          name='body'
          rows={3}
          placeholder='Write a reply…'
          value={body.value}
          readOnly={waOutside}
          onInput={(e) => (body.value = e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
      </label>
      <div class='row'>
        {channel.value === 'sms' && (
          <span class='muted' data-testid='segments'>
            {info.value.chars} characters · {info.value.segments}{' '}
            segment{info.value.segments === 1 ? '' : 's'} ({info.value.encoding})
          </span>
        )}
        <button type='submit' disabled={!canSend}>
          {scheduling.value ? 'Schedule' : 'Send'}
        </button>
      </div>
    </form>
  );
}
