/** @jsxImportSource preact */
// Campaigns: bulk send to an audience with a skip preview, progress bars, results per campaign,
// and the scheduled messages with cancel.
import { useModel, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { CampaignsModel } from '../models/campaigns.ts';
import { type Row, supabase } from '../supabase.ts';
import { CHANNEL_WORDS, dateTime, SKIP_WORDS } from '../lib/format.ts';
import { Empty, ErrorText, PageHeader, useApp } from '../components/ui.tsx';

export default function CampaignsPage() {
  const { tenantId } = useApp();
  const m = useModel(() => new CampaignsModel(tenantId));
  return (
    <section class='page'>
      <PageHeader title='Campaigns' />
      <ErrorText>{m.error.value}</ErrorText>
      <NewCampaign m={m} tenantId={tenantId} />
      <CampaignList m={m} />
      <ScheduledList m={m} />
    </section>
  );
}

function NewCampaign({ m, tenantId }: { m: CampaignsModel; tenantId: string }) {
  const name = useSignal('');
  const body = useSignal('');
  const templateId = useSignal('');
  const when = useSignal('');
  const templates = useSignal<Row<'templates'>[]>([]);
  useEffect(() => {
    supabase.from('templates').select('*').eq('tenant_id', tenantId).order('name').then(
      ({ data }) => (templates.value = data ?? []),
    );
  }, [tenantId]);
  const a = m.audience.value;
  const p = m.preview.value;
  return (
    <form
      class='card'
      aria-label='New campaign'
      onSubmit={(e) => {
        e.preventDefault();
        m.send({
          name: name.value,
          body: templateId.value ? null : body.value,
          templateId: templateId.value || null,
          scheduledFor: when.value ? new Date(when.value).toISOString() : null,
        });
      }}
    >
      <h2>New campaign</h2>
      <div class='grid2'>
        <label>
          Name
          <input
            name='campaign_name'
            required
            value={name.value}
            onInput={(e) => (name.value = e.currentTarget.value)}
          />
        </label>
        <label>
          Channel
          <select
            name='campaign_channel'
            value={a.channel}
            onChange={(
              e,
            ) => (m.audience.value = { ...a, channel: e.currentTarget.value as typeof a.channel })}
          >
            {['sms', 'whatsapp', 'email'].map((c) => (
              <option key={c} value={c}>{CHANNEL_WORDS[c]}</option>
            ))}
          </select>
        </label>
      </div>
      <fieldset>
        <legend>Audience: contacts with all of these tags (none = everyone)</legend>
        {m.tags.value.length === 0 && (
          <p class='muted'>No tags yet: the campaign goes to every contact.</p>
        )}
        {m.tags.value.map((t) => (
          <label key={t} class='check'>
            <input
              type='checkbox'
              name={`tag_${t}`}
              checked={a.tags.includes(t)}
              onChange={(e) => (m.audience.value = {
                ...a,
                tags: e.currentTarget.checked ? [...a.tags, t] : a.tags.filter((x) => x !== t),
              })}
            />
            {t}
          </label>
        ))}
      </fieldset>
      <label>
        Template
        <select
          name='campaign_template'
          value={templateId.value}
          onChange={(e) => (templateId.value = e.currentTarget.value)}
        >
          <option value=''>(write a message)</option>
          {templates.value.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
        </select>
      </label>
      {!templateId.value && (
        <label>
          Message
          <textarea
            name='campaign_body'
            rows={3}
            required
            value={body.value}
            onInput={(e) => (body.value = e.currentTarget.value)}
          />
        </label>
      )}
      <label>
        Send at (leave empty to send now)
        <input
          type='datetime-local'
          name='campaign_when'
          value={when.value}
          onInput={(e) => (when.value = e.currentTarget.value)}
        />
      </label>
      <div class='preview-box' role='status' data-testid='skip-preview'>
        <p>
          <strong>{p.eligible}</strong> of {p.targeted} contacts will get this message.
        </p>
        {Object.entries(p.skipped).length > 0 && (
          <ul>
            {Object.entries(p.skipped).map(([k, n]) => (
              <li key={k}>{n} skipped: {SKIP_WORDS[k] ?? k}</li>
            ))}
          </ul>
        )}
      </div>
      <button type='submit' disabled={m.sending.value}>
        {m.sending.value ? 'Sending…' : 'Send campaign'}
      </button>
      {m.lastResult.value && (
        <p class='notice' role='status' data-testid='bulk-result'>
          Queued {m.lastResult.value.queued} of {m.lastResult.value.targeted}.
          {Object.entries(m.lastResult.value.skipped ?? {}).map(([k, n]) =>
            ` ${n} skipped (${SKIP_WORDS[k] ?? k}).`
          )}
        </p>
      )}
    </form>
  );
}

function CampaignList({ m }: { m: CampaignsModel }) {
  const list = m.campaigns.value;
  return (
    <section aria-labelledby='camp-h'>
      <h2 id='camp-h'>Campaigns</h2>
      {list.length === 0 ? <Empty title='No campaigns yet' /> : (
        <ul class='cards'>
          {list.map((c) => {
            const p = m.progress.value[c.id];
            const total = p?.total || c.queued || 0;
            const done = p?.done ?? 0;
            return (
              <li key={c.id} class='card' data-campaign={c.name}>
                <h3>{c.name || 'Untitled campaign'}</h3>
                <p class='muted'>
                  {CHANNEL_WORDS[c.channel]} · {dateTime(c.created_at)}
                  {c.scheduled_for ? ` · scheduled for ${dateTime(c.scheduled_for)}` : ''}
                </p>
                <p>
                  {c.targeted} targeted, {c.queued} queued
                  {Object.entries(c.skipped as Record<string, number>).map(([k, n]) =>
                    `, ${n} skipped (${SKIP_WORDS[k] ?? k})`
                  )}
                </p>
                <label>
                  Progress: {done} of {total} processed{p?.failed ? `, ${p.failed} failed` : ''}
                  <progress max={total || 1} value={done} data-done={done} data-total={total} />
                </label>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

function ScheduledList({ m }: { m: CampaignsModel }) {
  return (
    <section aria-labelledby='sched-h'>
      <h2 id='sched-h'>Scheduled messages</h2>
      {m.scheduled.value.length === 0
        ? <Empty title='Nothing scheduled' />
        : (
          <ul class='list' aria-label='Scheduled messages'>
            {m.scheduled.value.map((s) => (
              <li key={s.id} data-message-id={s.id}>
                <span>
                  <strong>{dateTime(s.scheduled_for)}</strong> to{' '}
                  {s.contact?.name || s.contact?.phone || 'contact'} ({CHANNEL_WORDS[s.channel]}):
                  {' '}
                  {s.body.slice(0, 80)}
                </span>
                <button type='button' class='secondary' onClick={() => m.cancelScheduled(s.id)}>
                  Cancel <span class='sr-only'>message for {dateTime(s.scheduled_for)}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
    </section>
  );
}
