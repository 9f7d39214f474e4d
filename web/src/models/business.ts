// Orders and appointments of one tenant, with status changes (the database's triggers send the
// messages) and the reminders scheduled for each appointment.
import { action, createModel, effect, signal } from '@preact/signals';
import { affected, must, type Row, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

type WithContact = { contact: { name: string; phone: string | null } | null };
export type Order = Row<'orders'> & WithContact;
export type Appointment = Row<'appointments'> & WithContact;
export type Reminder = Pick<
  Row<'messages'>,
  | 'id'
  | 'appointment_id'
  | 'order_id'
  | 'automation_key'
  | 'status'
  | 'scheduled_for'
  | 'created_at'
>;

export const BusinessModel = createModel((tenantId: string) => {
  const orders = signal<Order[]>([]);
  const appointments = signal<Appointment[]>([]);
  const reminders = signal<Reminder[]>([]);
  const error = signal('');

  const loadReminders = async () => {
    reminders.value = must(
      await supabase.from('messages')
        .select('id, appointment_id, order_id, automation_key, status, scheduled_for, created_at')
        .eq('tenant_id', tenantId).or('appointment_id.not.is.null,order_id.not.is.null')
        .order('created_at', { ascending: false }).limit(1000),
    );
  };
  const load = action(async () => {
    try {
      const [o, a] = await Promise.all([
        supabase.from('orders').select('*, contact:contacts(name, phone)').eq('tenant_id', tenantId)
          .order('created_at', { ascending: false }).limit(200),
        supabase.from('appointments').select('*, contact:contacts(name, phone)')
          .eq('tenant_id', tenantId).order('starts_at', { ascending: true }).limit(200),
      ]);
      orders.value = must(o) as unknown as Order[];
      appointments.value = must(a) as unknown as Appointment[];
      await loadReminders();
    } catch (e) {
      error.value = humanError(e);
    }
  });
  effect(() => void load());

  const setStatus = async <T extends { id: string; status: string }>(
    table: 'orders' | 'appointments',
    list: { value: T[]; peek(): T[] },
    id: string,
    status: string,
  ) => {
    const before = list.peek();
    list.value = before.map((x) => (x.id === id ? { ...x, status } : x));
    const e = affected(await supabase.from(table).update({ status }).eq('id', id).select('id'));
    if (e) {
      list.value = before;
      error.value = `Not changed: ${humanError(e)}`;
    } else await loadReminders();
  };

  return {
    orders,
    appointments,
    reminders,
    error,
    reload: load,
    setOrderStatus: action((id: string, s: string) => setStatus('orders', orders, id, s)),
    setAppointmentStatus: action((id: string, s: string) =>
      setStatus('appointments', appointments, id, s)
    ),
  };
});
export type BusinessModel = InstanceType<typeof BusinessModel>;
