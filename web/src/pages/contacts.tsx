/** @jsxImportSource preact */
// Contacts: list, search, tags, create/edit with consent, read-only opt-out, CSV import.
import { useModel, useSignal } from '@preact/signals';
import { type Contact, ContactsModel } from '../models/contacts.ts';
import { CONTACT_FIELDS, type ContactDraft, guessMapping } from '../lib/csv.ts';
import { CHANNEL_WORDS, dateTime } from '../lib/format.ts';
import { Empty, ErrorText, PageHeader, useApp } from '../components/ui.tsx';

export default function ContactsPage() {
  const { tenantId } = useApp();
  const m = useModel(() => new ContactsModel(tenantId));
  const editing = useSignal<Contact | 'new' | null>(null);
  return (
    <section class='page' aria-labelledby='contacts-h'>
      <PageHeader title='Contacts'>
        <button type='button' onClick={() => (editing.value = 'new')}>New contact</button>
      </PageHeader>
      <h1 id='contacts-h' class='sr-only'>Contacts</h1>
      <div class='row wrap'>
        <label class='grow'>
          <span class='sr-only'>Search contacts</span>
          <input
            type='search'
            placeholder='Search name, phone or email'
            value={m.search.value}
            onInput={(e) => (m.search.value = e.currentTarget.value)}
          />
        </label>
        <label>
          Tag
          <select value={m.tag.value} onChange={(e) => (m.tag.value = e.currentTarget.value)}>
            <option value=''>All</option>
            {m.allTags.value.map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
      </div>
      <ErrorText>{m.error.value}</ErrorText>
      {editing.value && (
        <ContactForm
          m={m}
          contact={editing.value === 'new' ? null : editing.value}
          onDone={() => (editing.value = null)}
        />
      )}
      <CsvImport m={m} />
      {m.contacts.value.length === 0
        ? (m.loading.value
          ? <p role='status'>Loading…</p>
          : <Empty title='No contacts yet'>Add one, or import a CSV file of your customers.</Empty>)
        : (
          <div class='table-wrap'>
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Phone</th>
                  <th>Email</th>
                  <th>Tags</th>
                  <th>Consent</th>
                  <th>
                    <span class='sr-only'>Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {m.contacts.value.map((c) => (
                  <tr key={c.id}>
                    <td>{c.name || '—'}</td>
                    <td>{c.phone ?? ''}</td>
                    <td>{c.email ?? ''}</td>
                    <td>{c.tags.map((t) => <span key={t} class='tag'>{t}</span>)}</td>
                    <td>
                      {c.reminder_consent ? 'Reminders' : ''}
                      {c.reminder_consent && c.promotional_consent ? ', ' : ''}
                      {c.promotional_consent ? 'Promotions' : ''}
                      {c.opted_out_channels.length > 0 && (
                        <span class='warning'>
                          {` Opted out (${
                            c.opted_out_channels.map((x) => CHANNEL_WORDS[x]).join(', ')
                          })`}
                        </span>
                      )}
                    </td>
                    <td>
                      <button type='button' class='link' onClick={() => (editing.value = c)}>
                        Edit <span class='sr-only'>{c.name}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  );
}

function ContactForm(
  { m, contact, onDone }: { m: ContactsModel; contact: Contact | null; onDone: () => void },
) {
  const d = useSignal<ContactDraft>({
    name: contact?.name ?? '',
    phone: contact?.phone ?? '',
    email: contact?.email ?? '',
    whatsapp: contact?.whatsapp ?? '',
    tags: contact?.tags ?? [],
    reminder_consent: contact?.reminder_consent ?? true,
    promotional_consent: contact?.promotional_consent ?? false,
  });
  const err = useSignal('');
  const set = (k: keyof ContactDraft, v: unknown) => (d.value = { ...d.value, [k]: v });
  const text = (k: 'name' | 'phone' | 'email' | 'whatsapp', label: string, type = 'text') => (
    <label>
      {label}
      <input
        type={type}
        name={k}
        value={d.value[k] ?? ''}
        onInput={(e) => set(k, e.currentTarget.value)}
      />
    </label>
  );
  return (
    <form
      class='card'
      aria-label={contact ? 'Edit contact' : 'New contact'}
      onSubmit={async (e) => {
        e.preventDefault();
        const v = d.value;
        const clean = {
          ...v,
          phone: v.phone?.trim() || null,
          email: v.email?.trim() || null,
          whatsapp: v.whatsapp?.trim() || null,
        };
        err.value = (await m.save(contact?.id ?? null, clean)) ?? '';
        if (!err.value) onDone();
      }}
    >
      <h2>{contact ? 'Edit contact' : 'New contact'}</h2>
      <div class='grid2'>
        {text('name', 'Name')}
        {text('phone', 'Phone', 'tel')}
        {text('email', 'Email', 'email')}
        {text('whatsapp', 'WhatsApp number', 'tel')}
        <label>
          Tags (comma separated)
          <input
            name='tags'
            value={d.value.tags.join(', ')}
            onInput={(e) =>
              set('tags', e.currentTarget.value.split(',').map((t) => t.trim()).filter(Boolean))}
          />
        </label>
      </div>
      <fieldset>
        <legend>Consent</legend>
        <label class='check'>
          <input
            type='checkbox'
            checked={d.value.reminder_consent}
            onChange={(e) => set('reminder_consent', e.currentTarget.checked)}
          />
          Appointment and order reminders
        </label>
        <label class='check'>
          <input
            type='checkbox'
            checked={d.value.promotional_consent}
            onChange={(e) => set('promotional_consent', e.currentTarget.checked)}
          />
          Promotional messages
        </label>
      </fieldset>
      {contact && (
        <p class='muted' data-testid='opt-out'>
          {contact.opted_out_at && contact.opted_out_channels.length
            ? `Opted out of ${
              contact.opted_out_channels.map((x) => CHANNEL_WORDS[x]).join(', ')
            } on ${
              dateTime(contact.opted_out_at)
            }. This changes only when the customer replies START.`
            : 'Not opted out.'}
        </p>
      )}
      <ErrorText>{err.value}</ErrorText>
      <div class='row'>
        <button type='submit'>Save</button>
        <button type='button' class='secondary' onClick={onDone}>Cancel</button>
        {contact && (
          <button
            type='button'
            class='danger'
            onClick={() => {
              m.remove(contact.id);
              onDone();
            }}
          >
            Delete
          </button>
        )}
      </div>
    </form>
  );
}

function CsvImport({ m }: { m: ContactsModel }) {
  const csv = m.csv.value;
  const summary = m.reportSummary.value;
  return (
    <section class='card' aria-labelledby='csv-h'>
      <h2 id='csv-h'>Import from CSV</h2>
      <label>
        CSV file
        <input
          type='file'
          name='csv'
          accept='.csv,text/csv'
          onChange={async (e) => {
            const f = e.currentTarget.files?.[0];
            if (!f) return;
            const parsed = m.readFile(await f.text());
            m.mapping.value = guessMapping(parsed.headers);
          }}
        />
      </label>
      {csv && (
        <form
          aria-label='Column mapping'
          onSubmit={(e) => {
            e.preventDefault();
            m.runImport();
          }}
        >
          <p>{csv.rows.length} rows. Choose which column holds each field:</p>
          <div class='grid2'>
            {CONTACT_FIELDS.map((f) => (
              <label key={f}>
                {f.replace('_', ' ')}
                <select
                  name={`map_${f}`}
                  value={m.mapping.value[f] ?? ''}
                  onChange={(
                    e,
                  ) => (m.mapping.value = {
                    ...m.mapping.value,
                    [f]: e.currentTarget.value || undefined,
                  })}
                >
                  <option value=''>(not imported)</option>
                  {csv.headers.map((h) => <option key={h} value={h}>{h}</option>)}
                </select>
              </label>
            ))}
          </div>
          <button type='submit' disabled={m.importing.value}>
            {m.importing.value ? 'Importing…' : `Import ${csv.rows.length} rows`}
          </button>
        </form>
      )}
      {m.report.value.length > 0 && (
        <div class='report' role='status' aria-live='polite' data-testid='import-report'>
          <p>
            <strong>{summary.imported} imported, {summary.failed} not imported.</strong>
          </p>
          {summary.failed > 0 && (
            <ul>
              {m.report.value.filter((r) => !r.ok).map((r) => (
                <li key={r.row}>Row {r.row}: {r.message}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
