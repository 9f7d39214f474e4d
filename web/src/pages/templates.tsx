/** @jsxImportSource preact */
// Templates: list with usage counts, editor with live preview and unknown variables flagged inline.
import { useComputed, useModel, useSignal, useSignalEffect } from '@preact/signals';
import {
  checkTemplate,
  type Template,
  type TemplateDraft,
  TemplatesModel,
} from '../models/templates.ts';
import { markVariables, type TemplateCheck } from '../lib/template.ts';
import { CHANNEL_WORDS } from '../lib/format.ts';
import { Empty, ErrorText, PageHeader, useApp } from '../components/ui.tsx';

const CATEGORIES = ['general', 'appointment', 'order', 'marketing', 'support'];

export default function TemplatesPage() {
  const { tenantId } = useApp();
  const m = useModel(() => new TemplatesModel(tenantId));
  const editing = useSignal<Template | 'new' | null>(null);
  return (
    <section class='page'>
      <PageHeader title='Templates'>
        <button type='button' onClick={() => (editing.value = 'new')}>New template</button>
      </PageHeader>
      <ErrorText>{m.error.value}</ErrorText>
      {editing.value && (
        <TemplateEditor
          key={editing.value === 'new' ? 'new' : editing.value.id}
          m={m}
          t={editing.value === 'new' ? null : editing.value}
          onDone={() => (editing.value = null)}
        />
      )}
      {m.templates.value.length === 0
        ? (m.loading.value ? <p role='status'>Loading…</p> : (
          <Empty title='No templates yet'>
            Templates keep replies and campaigns consistent.
          </Empty>
        ))
        : (
          <ul class='cards' aria-label='Templates'>
            {m.templates.value.map((t) => (
              <li key={t.id} class='card' data-template={t.name}>
                <h2>{t.name}</h2>
                <p class='muted'>
                  {t.category} · {CHANNEL_WORDS[t.channel]} · used{' '}
                  <span data-testid='usage'>{t.usage_count}</span>{' '}
                  time{t.usage_count === 1 ? '' : 's'}
                </p>
                <p class='body'>{t.body}</p>
                <div class='row'>
                  <button type='button' class='secondary' onClick={() => (editing.value = t)}>
                    Edit <span class='sr-only'>{t.name}</span>
                  </button>
                  <button type='button' class='secondary' onClick={() => m.duplicate(t)}>
                    Duplicate <span class='sr-only'>{t.name}</span>
                  </button>
                  <button
                    type='button'
                    class='danger'
                    onClick={() => confirm(`Delete “${t.name}”?`) && m.remove(t.id)}
                  >
                    Delete <span class='sr-only'>{t.name}</span>
                  </button>
                </div>
              </li>
            ))}
          </ul>
        )}
    </section>
  );
}

function TemplateEditor(
  { m, t, onDone }: { m: TemplatesModel; t: Template | null; onDone: () => void },
) {
  const d = useSignal<TemplateDraft>({
    name: t?.name ?? '',
    category: t?.category ?? 'general',
    channel: t?.channel ?? 'any',
    body: t?.body ?? '',
    subject: t?.subject ?? null,
    whatsapp_content_sid: t?.whatsapp_content_sid ?? null,
    whatsapp_approved: t?.whatsapp_approved ?? false,
  });
  const err = useSignal('');
  // The database checks the text as it is typed (public.template_check), a moment after the last
  // keystroke; an answer for an older text is dropped.
  const check = useSignal<TemplateCheck>({ variables: [], unknown: [], preview: '' });
  const checked = useSignal('');
  useSignalEffect(() => {
    const body = d.value.body;
    let current = true;
    const timer = setTimeout(() => {
      checkTemplate(body).then((c) => {
        if (current) [check.value, checked.value] = [c, body];
      }).catch((e) => current && (err.value = `Could not check the text: ${e.message}`));
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  });
  const unknown = useComputed(() => check.value.unknown);
  const preview = useComputed(() => check.value.preview);
  const set = (
    k: keyof TemplateDraft,
    v: string | boolean | null,
  ) => (d.value = { ...d.value, [k]: v });
  const ch = d.value.channel;
  // The checked body with its variables marked (unknown ones flagged), drawn under the textarea.
  const marked = () =>
    markVariables(checked.value, check.value.variables).map((p) =>
      typeof p === 'string'
        ? p
        : <mark key={p.at} class={p.known ? 'var' : 'var unknown'}>{p.text}</mark>
    );
  return (
    <form
      class='card'
      aria-label={t ? 'Edit template' : 'New template'}
      onSubmit={async (e) => {
        e.preventDefault();
        if (unknown.value.length) {
          err.value = `Unknown variables: ${unknown.value.map((u) => `{${u}}`).join(', ')}`;
          return;
        }
        err.value = (await m.save(t?.id ?? null, d.value)) ?? '';
        if (!err.value) onDone();
      }}
    >
      <h2>{t ? `Edit ${t.name}` : 'New template'}</h2>
      <div class='grid2'>
        <label>
          Name
          <input
            name='name'
            required
            value={d.value.name}
            onInput={(e) => set('name', e.currentTarget.value)}
          />
        </label>
        <label>
          Category
          <select
            name='category'
            value={d.value.category}
            onChange={(e) => set('category', e.currentTarget.value)}
          >
            {CATEGORIES.map((c) => <option key={c}>{c}</option>)}
          </select>
        </label>
        <label>
          Channel
          <select
            name='channel'
            value={d.value.channel}
            onChange={(e) => set('channel', e.currentTarget.value)}
          >
            {['any', 'sms', 'whatsapp', 'email'].map((c) => (
              <option key={c} value={c}>{CHANNEL_WORDS[c]}</option>
            ))}
          </select>
        </label>
      </div>
      {(ch === 'email' || ch === 'any') && (
        <label>
          Email subject
          <input
            name='subject'
            value={d.value.subject ?? ''}
            onInput={(e) => set('subject', e.currentTarget.value || null)}
          />
        </label>
      )}
      {(ch === 'whatsapp' || ch === 'any') && (
        <div class='grid2'>
          <label>
            WhatsApp Content SID (approved template)
            <input
              name='whatsapp_content_sid'
              pattern='HX[0-9a-fA-F]{32}'
              value={d.value.whatsapp_content_sid ?? ''}
              onInput={(e) => set('whatsapp_content_sid', e.currentTarget.value.trim() || null)}
            />
          </label>
          <label class='check'>
            <input
              type='checkbox'
              checked={d.value.whatsapp_approved}
              onChange={(e) => set('whatsapp_approved', e.currentTarget.checked)}
            />
            Approved by WhatsApp: may be sent outside the 24-hour window
          </label>
        </div>
      )}
      <label>
        Body
        <textarea
          name='body'
          rows={4}
          required
          aria-describedby='tpl-vars tpl-unknown'
          value={d.value.body}
          onInput={(e) => set('body', e.currentTarget.value)}
        />
      </label>
      <p class='marked' aria-hidden='true'>{marked()}</p>
      {unknown.value.length > 0 && (
        <p id='tpl-unknown' class='error' role='alert'>
          Unknown variable{unknown.value.length > 1 ? 's' : ''}:{' '}
          {unknown.value.map((u) => `{${u}}`).join(', ')}. Use one of the variables below.
        </p>
      )}
      <p id='tpl-vars' class='muted'>
        Variables: {m.variables.value.map((v) => (
          <button
            key={v.name}
            type='button'
            class='chip'
            title={`${v.description} (${v.source})`}
            onClick={() => set('body', `${d.value.body}{${v.name}}`)}
          >
            {`{${v.name}}`}
          </button>
        ))}
      </p>
      <div
        class='preview-box'
        aria-label='Preview with sample values'
        data-testid='template-preview'
      >
        <p class='muted'>Preview</p>
        <p>
          {preview.value === null
            ? 'Fix the unknown variables to see the preview.'
            : preview.value || '…'}
        </p>
      </div>
      <ErrorText>{err.value}</ErrorText>
      <div class='row'>
        <button type='submit'>Save template</button>
        <button type='button' class='secondary' onClick={onDone}>Cancel</button>
      </div>
    </form>
  );
}
