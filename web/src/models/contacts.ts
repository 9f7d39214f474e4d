// Contacts of one business: list with search and tag filter, create/edit with consent, CSV import
// with a per-row report. Opt-out is shown read-only (it changes only by STOP/START).
import { action, computed, createModel, effect, signal } from '@preact/signals';
import { affected, must, type Row, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';
import { type ContactDraft, type Mapping, mapRow, parseCsv, type ParsedCsv } from '../lib/csv.ts';

export type Contact = Row<'contacts'>;
export interface RowReport {
  row: number;
  ok: boolean;
  message: string;
}

export const ContactsModel = createModel((tenantId: string) => {
  const contacts = signal<Contact[]>([]);
  const loading = signal(true);
  const error = signal('');
  const search = signal('');
  const tag = signal('');
  const csv = signal<ParsedCsv | null>(null);
  const mapping = signal<Mapping>({});
  const importing = signal(false);
  const report = signal<RowReport[]>([]);

  const allTags = computed(() => [...new Set(contacts.value.flatMap((c) => c.tags))].sort());
  const reportSummary = computed(() => {
    const r = report.value;
    return { imported: r.filter((x) => x.ok).length, failed: r.filter((x) => !x.ok).length };
  });

  const load = action(async () => {
    const q = search.value.trim(), t = tag.value;
    loading.value = true;
    try {
      let query = supabase.from('contacts').select('*').eq('tenant_id', tenantId);
      if (q) {
        const like = `%${q.replace(/[%_,()]/g, ' ')}%`;
        query = query.or(`name.ilike.${like},phone.ilike.${like},email.ilike.${like}`);
      }
      if (t) query = query.contains('tags', [t]);
      contacts.value = must(await query.order('name').limit(500));
      error.value = '';
    } catch (e) {
      error.value = humanError(e);
    } finally {
      loading.value = false;
    }
  });
  effect(() => {
    void search.value, tag.value;
    void load();
  });

  const toRow = (d: ContactDraft) => ({ ...d, tenant_id: tenantId });

  return {
    contacts,
    loading,
    error,
    search,
    tag,
    allTags,
    csv,
    mapping,
    importing,
    report,
    reportSummary,
    reload: load,
    save: action(async (id: string | null, d: ContactDraft): Promise<string | null> => {
      try {
        if (id) {
          const before = contacts.peek();
          contacts.value = before.map((c) => (c.id === id ? { ...c, ...d } : c));
          const e = affected(await supabase.from('contacts').update(d).eq('id', id).select('id'));
          if (e) {
            contacts.value = before;
            throw e;
          }
        } else {
          const row = must(await supabase.from('contacts').insert(toRow(d)).select('*').single());
          contacts.value = [row, ...contacts.peek()];
        }
        return null;
      } catch (e) {
        return humanError(e);
      }
    }),
    remove: action(async (id: string) => {
      const before = contacts.peek();
      contacts.value = before.filter((c) => c.id !== id);
      const e = affected(await supabase.from('contacts').delete().eq('id', id).select('id'));
      if (e) {
        contacts.value = before;
        error.value = `Could not delete: ${humanError(e)}`;
      }
    }),
    readFile: action((text: string) => {
      const parsed = parseCsv(text);
      csv.value = parsed;
      report.value = [];
      return parsed;
    }),
    /** Imports every mapped row; rows the browser or the database refuse are reported in words. */
    runImport: action(async () => {
      const parsed = csv.peek();
      if (!parsed) return;
      importing.value = true;
      const out: RowReport[] = [];
      const good: { row: number; draft: ContactDraft }[] = [];
      parsed.rows.forEach((r, i) => {
        const res = mapRow(r, mapping.peek());
        // Row numbers as a spreadsheet shows them: the header is row 1.
        if ('error' in res) out.push({ row: i + 2, ok: false, message: res.error });
        else good.push({ row: i + 2, draft: res.draft });
      });
      // Batches for speed; a refused batch is retried row by row to find the culprit.
      for (let i = 0; i < good.length; i += 200) {
        const chunk = good.slice(i, i + 200);
        const { error: e } = await supabase.from('contacts').insert(
          chunk.map((g) => toRow(g.draft)),
        );
        if (!e) {
          for (const g of chunk) out.push({ row: g.row, ok: true, message: 'imported' });
          continue;
        }
        for (const g of chunk) {
          const { error: e1 } = await supabase.from('contacts').insert(toRow(g.draft));
          out.push({ row: g.row, ok: !e1, message: e1 ? humanError(e1) : 'imported' });
        }
      }
      report.value = out.sort((a, b) => a.row - b.row);
      importing.value = false;
      csv.value = null;
      await load();
    }),
  };
});
export type ContactsModel = InstanceType<typeof ContactsModel>;
