// Templates of one business: list with usage counts, create/edit/duplicate/delete, and the
// database's variable catalog and text check for the editor.
import { action, createModel, effect, signal } from '@preact/signals';
import { affected, must, type Row, rpc, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';
import type { TemplateCheck } from '../lib/template.ts';

export type Template = Row<'templates'>;
export type TemplateDraft = Pick<Template, 'name' | 'category' | 'channel' | 'body'> & {
  subject?: string | null;
  /** An approved WhatsApp template (Twilio Content SID) may go outside the 24 h window. */
  whatsapp_content_sid?: string | null;
  whatsapp_approved?: boolean;
};

/** A row of public.template_variables(). */
export interface TemplateVariable {
  name: string;
  source: 'contact' | 'appointment' | 'order';
  sample: string;
  description: string;
}

/** public.template_check: the variables a text uses, the unknown ones, the sample preview. */
export const checkTemplate = (text: string) =>
  rpc<TemplateCheck>('template_check', { p_text: text });

export const TemplatesModel = createModel((tenantId: string) => {
  const templates = signal<Template[]>([]);
  const variables = signal<TemplateVariable[]>([]);
  const loading = signal(true);
  const error = signal('');

  const load = action(async () => {
    try {
      templates.value = must(
        await supabase.from('templates').select('*').eq('tenant_id', tenantId).order('name'),
      );
      error.value = '';
    } catch (e) {
      error.value = humanError(e);
    } finally {
      loading.value = false;
    }
  });
  effect(() => void load());
  effect(() => {
    rpc<TemplateVariable[]>('template_variables', {}).then((v) => (variables.value = v))
      .catch((e) => (error.value = humanError(e)));
  });

  const insert = async (d: TemplateDraft) => {
    const row = must(
      await supabase.from('templates').insert({ ...d, tenant_id: tenantId }).select('*').single(),
    );
    templates.value = [...templates.peek(), row].sort((a, b) => a.name.localeCompare(b.name));
    return row;
  };

  return {
    templates,
    variables,
    loading,
    error,
    reload: load,
    save: action(async (id: string | null, d: TemplateDraft): Promise<string | null> => {
      try {
        if (!id) await insert(d);
        else {
          const row = must(
            await supabase.from('templates').update(d).eq('id', id).select('*').single(),
          );
          templates.value = templates.peek().map((t) => (t.id === id ? row : t));
        }
        return null;
      } catch (e) {
        return humanError(e);
      }
    }),
    duplicate: action(async (t: Template) => {
      try {
        let name = `${t.name} (copy)`;
        for (let n = 2; templates.peek().some((x) => x.name === name); n++) {
          name = `${t.name} (copy ${n})`;
        }
        await insert({
          name,
          category: t.category,
          channel: t.channel,
          body: t.body,
          subject: t.subject,
        });
      } catch (e) {
        error.value = humanError(e);
      }
    }),
    remove: action(async (id: string) => {
      const before = templates.peek();
      templates.value = before.filter((t) => t.id !== id);
      const e = affected(await supabase.from('templates').delete().eq('id', id).select('id'));
      if (e) {
        templates.value = before;
        error.value = `Could not delete: ${humanError(e)}`;
      }
    }),
  };
});
export type TemplatesModel = InstanceType<typeof TemplatesModel>;
