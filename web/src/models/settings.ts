// Automations and business settings of one tenant (owners edit; agents read).
import { action, createModel, effect, signal } from '@preact/signals';
import { affected, must, type Row, supabase, type Update } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

export const AUTOMATION_WORDS: Record<string, string> = {
  booking_confirmation: 'Booking confirmation',
  reminder_24h: 'Reminder 24 hours before',
  reminder_2h: 'Reminder 2 hours before',
  appointment_rescheduled: 'Appointment rescheduled',
  payment_confirmation: 'Payment received',
  shipment_notice: 'Order shipped',
  payment_failed: 'Payment failed',
  reengagement: 'Re-engagement after 7 idle days',
};

export const SettingsModel = createModel((tenantId: string) => {
  const tenant = signal<Row<'tenants'> | null>(null);
  const automations = signal<Row<'automations'>[]>([]);
  const templates = signal<Row<'templates'>[]>([]);
  const error = signal('');
  const saved = signal('');

  const load = action(async () => {
    try {
      const [t, a, tp] = await Promise.all([
        supabase.from('tenants').select('*').eq('id', tenantId).single(),
        supabase.from('automations').select('*').eq('tenant_id', tenantId).order('kind'),
        supabase.from('templates').select('*').eq('tenant_id', tenantId).order('name'),
      ]);
      tenant.value = must(t);
      automations.value = must(a);
      templates.value = must(tp);
    } catch (e) {
      error.value = humanError(e);
    }
  });
  effect(() => void load());

  return {
    tenant,
    automations,
    templates,
    error,
    saved,
    saveTenant: action(async (change: Update<'tenants'>) => {
      const before = tenant.peek();
      if (before) tenant.value = { ...before, ...change };
      saved.value = '';
      const e = affected(
        await supabase.from('tenants').update(change).eq('id', tenantId).select('id'),
      );
      if (e) {
        tenant.value = before;
        error.value = `Not saved: ${humanError(e)}`;
      } else saved.value = 'Saved.';
    }),
    saveAutomation: action(async (id: string, change: Update<'automations'>) => {
      const before = automations.peek();
      automations.value = before.map((a) => (a.id === id ? { ...a, ...change } : a));
      const e = affected(
        await supabase.from('automations').update(change).eq('id', id).select('id'),
      );
      if (e) {
        automations.value = before;
        error.value = `Not saved: ${humanError(e)}`;
      }
    }),
  };
});
export type SettingsModel = InstanceType<typeof SettingsModel>;
