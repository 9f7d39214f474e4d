/** @jsxImportSource preact */
// Orders and appointments with status changes; the automations fire in the database and the
// reminders scheduled for each appointment are listed under it.
import { useModel } from '@preact/signals';
import { BusinessModel } from '../models/business.ts';
import { dateTime } from '../lib/format.ts';
import { Empty, ErrorText, PageHeader, StatusBadge, useApp } from '../components/ui.tsx';
import { AUTOMATION_WORDS } from '../models/settings.ts';

const ORDER_STATUSES = ['pending', 'paid', 'fulfilled', 'payment_failed', 'canceled', 'refunded'];
const APPT_STATUSES = ['booked', 'confirmed', 'canceled', 'completed', 'no_show'];

export default function BusinessPage() {
  const { tenantId } = useApp();
  const m = useModel(() => new BusinessModel(tenantId));
  const forAppt = (id: string) => m.reminders.value.filter((r) => r.appointment_id === id);
  const forOrder = (id: string) => m.reminders.value.filter((r) => r.order_id === id);
  return (
    <section class='page'>
      <PageHeader title='Orders & appointments' />
      <ErrorText>{m.error.value}</ErrorText>
      <h2>Appointments</h2>
      {m.appointments.value.length === 0 ? <Empty title='No appointments' /> : (
        <ul class='cards'>
          {m.appointments.value.map((a) => (
            <li key={a.id} class='card' data-appointment={a.id}>
              <h3>{a.service} · {dateTime(a.starts_at)}</h3>
              <p class='muted'>{a.contact?.name || a.contact?.phone} · {a.duration_minutes} min</p>
              <label>
                Status
                <select
                  value={a.status}
                  onChange={(e) => m.setAppointmentStatus(a.id, e.currentTarget.value)}
                >
                  {APPT_STATUSES.map((s) => <option key={s} value={s}>{s.replace('_', ' ')}
                  </option>)}
                </select>
              </label>
              <Messages rows={forAppt(a.id)} />
            </li>
          ))}
        </ul>
      )}
      <h2>Orders</h2>
      {m.orders.value.length === 0 ? <Empty title='No orders' /> : (
        <ul class='cards'>
          {m.orders.value.map((o) => (
            <li key={o.id} class='card' data-order={o.id}>
              <h3>Order {o.order_number} · {o.total} {o.currency}</h3>
              <p class='muted'>{o.contact?.name || o.contact?.phone} · {dateTime(o.created_at)}</p>
              <label>
                Status
                <select
                  value={o.status}
                  onChange={(e) => m.setOrderStatus(o.id, e.currentTarget.value)}
                >
                  {ORDER_STATUSES.map((s) => (
                    <option key={s} value={s}>{s.replace('_', ' ')}</option>
                  ))}
                </select>
              </label>
              <Messages rows={forOrder(o.id)} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Messages({ rows }: { rows: BusinessModel['reminders']['value'] }) {
  if (!rows.length) return <p class='muted'>No automatic messages yet.</p>;
  return (
    <ul class='list' aria-label='Automatic messages'>
      {rows.map((r) => (
        <li key={r.id} data-key={r.automation_key ?? ''} data-status={r.status}>
          <span>
            {AUTOMATION_WORDS[r.automation_key ?? ''] ?? r.automation_key ?? 'message'}
            {r.scheduled_for ? ` · ${dateTime(r.scheduled_for)}` : ''}
          </span>
          <StatusBadge status={r.status} />
        </li>
      ))}
    </ul>
  );
}
