/** @jsxImportSource preact */
// Analytics: charts of the analytics RPC with a 7/30/90/365-day selector, drawn with uPlot.
import { useModel } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type Analytics, AnalyticsModel, type FirstResponseBucket } from '../models/analytics.ts';
import { Empty, ErrorText, PageHeader, useApp } from '../components/ui.tsx';
import { CHANNEL_WORDS, STATUS_WORDS } from '../lib/format.ts';

const RANGES = [7, 30, 90, 365];

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2'];

function Chart(
  { data, labels, title, bars, categories }: {
    data: uPlot.AlignedData;
    labels: string[];
    title: string;
    bars?: boolean;
    /** Names of the x positions 0..n-1 for a categorical bar chart. */
    categories?: string[];
  },
) {
  const el = useRef<HTMLElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const width = Math.min(el.current.clientWidth || 600, 900);
    const plot = new uPlot(
      {
        title,
        width,
        height: 260,
        scales: categories
          ? { x: { time: false, range: [-0.5, categories.length - 0.5] } }
          : undefined,
        axes: categories
          ? [{ splits: () => categories.map((_, i) => i), values: () => categories }, {}]
          : undefined,
        series: [
          {},
          ...labels.map((l, i) => ({
            label: l,
            stroke: COLORS[i % COLORS.length],
            fill: bars ? COLORS[i % COLORS.length] + '55' : undefined,
            paths: bars ? uPlot.paths.bars!({ size: [0.6, 60] }) : undefined,
          })),
        ],
      },
      data,
      el.current,
    );
    return () => plot.destroy();
  }, [data, title]);
  return <figure class='chart' ref={el} aria-label={title} />;
}

/** "Under 5 min", "5–15 min", "15–60 min", "1–4 h", "24 h or more": a band's edges in words. */
export function bandLabel({ from_seconds: from, to_seconds: to }: FirstResponseBucket): string {
  const inMinutes = to != null ? to <= 3600 : from < 3600;
  const n = (s: number) => (inMinutes ? s / 60 : s / 3600);
  const unit = inMinutes ? 'min' : 'h';
  if (to == null) return `${n(from)} ${unit} or more`;
  if (from === 0) return `Under ${n(to)} ${unit}`;
  return `${n(from)}–${n(to)} ${unit}`;
}

/**
 * The first-response time distribution as a bar chart, with the same figures in a table: the
 * canvas says nothing to a screen reader, and the table also reads better at phone width.
 */
function FirstResponseDistribution({ a }: { a: Analytics }) {
  const buckets = a.first_response_buckets ?? [];
  const answered = buckets.reduce((n, b) => n + b.conversations, 0);
  if (answered === 0) {
    return (
      <Empty title='No first responses in this period'>
        {a.conversations_with_inbound > 0
          ? `${a.conversations_with_inbound} conversation${
            a.conversations_with_inbound === 1 ? '' : 's'
          } received messages and none got a reply yet, so there is no response time to show.`
          : 'No customer wrote in during these days, so there is no response time to show.'}
      </Empty>
    );
  }
  const labels = buckets.map(bandLabel);
  return (
    <>
      <Chart
        bars
        title='First-response time (conversations per band)'
        labels={['conversations']}
        categories={labels}
        data={[buckets.map((_, i) => i), buckets.map((b) => b.conversations)]}
      />
      <div class='table-wrap'>
        <table data-testid='first-response-table'>
          <caption class='muted'>First-response time</caption>
          <thead>
            <tr>
              <th scope='col'>Answered within</th>
              <th scope='col'>Conversations</th>
              <th scope='col'>Share</th>
            </tr>
          </thead>
          <tbody>
            {buckets.map((b, i) => (
              <tr key={b.from_seconds} data-band={labels[i]}>
                <th scope='row'>{labels[i]}</th>
                <td data-testid='band-count'>{b.conversations}</td>
                <td>{Math.round((b.conversations / answered) * 100)}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

export default function AnalyticsPage() {
  const { tenantId } = useApp();
  const m = useModel(() => new AnalyticsModel(tenantId));
  const a: Analytics | null = m.data.value;
  const daily = a?.daily ?? [];
  const days = daily.map((d) => new Date(d.date).getTime() / 1000);
  const channels = Object.entries(a?.by_channel ?? {});
  const statuses = Object.entries(a?.by_status ?? {}).filter(([, n]) => n > 0);
  const pct = (x: number | null | undefined) => (x == null ? '—' : `${Math.round(x * 100)}%`);
  const mins = (s: number | null | undefined) => (s == null ? '—' : `${(s / 60).toFixed(1)} min`);
  return (
    <section class='page'>
      <PageHeader title='Analytics'>
        <div role='group' aria-label='Period' class='chips'>
          {RANGES.map((d) => (
            <button
              key={d}
              type='button'
              class='chip'
              aria-pressed={m.days.value === d}
              onClick={() => m.setDays(d)}
            >
              {d} days
            </button>
          ))}
        </div>
      </PageHeader>
      <ErrorText>{m.error.value && `Analytics are not available: ${m.error.value}`}</ErrorText>
      {m.loading.value && !a && <p role='status'>Loading…</p>}
      {a && (
        <>
          <dl class='stats'>
            <div>
              <dt>Sent</dt>
              <dd>{a.sent}</dd>
            </div>
            <div>
              <dt>Received</dt>
              <dd>{a.received}</dd>
            </div>
            <div>
              <dt>Delivered</dt>
              <dd>{pct(a.delivered_rate)}</dd>
            </div>
            <div>
              <dt>Failed</dt>
              <dd>{a.failed}</dd>
            </div>
            <div>
              <dt>Response rate</dt>
              <dd>{pct(a.response_rate)}</dd>
            </div>
            <div>
              <dt>First response (median)</dt>
              <dd>{mins(a.first_response_seconds?.median)}</dd>
            </div>
          </dl>
          {daily.length > 0 && (a.sent + a.received + a.failed) > 0
            ? (
              <Chart
                title='Messages per day'
                labels={['sent', 'received', 'failed']}
                data={[
                  days,
                  daily.map((d) => d.sent),
                  daily.map((d) => d.received),
                  daily.map((d) => d.failed),
                ]}
              />
            )
            : <Empty title='No messages in this period' />}
          {channels.length > 0 && (
            <table>
              <caption class='muted'>By channel</caption>
              <thead>
                <tr>
                  <th>Channel</th>
                  <th>Sent</th>
                  <th>Received</th>
                  <th>Delivered</th>
                  <th>Failed</th>
                </tr>
              </thead>
              <tbody>
                {channels.map(([k, c]) => (
                  <tr key={k}>
                    <th scope='row'>{CHANNEL_WORDS[k] ?? k}</th>
                    <td>{c.sent}</td>
                    <td>{c.received}</td>
                    <td>{c.delivered}</td>
                    <td>{c.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {statuses.length > 0 && (
            <Chart
              bars
              title='Delivery breakdown (outbound messages by status)'
              labels={['messages']}
              categories={statuses.map(([k]) => STATUS_WORDS[k] ?? k)}
              data={[statuses.map((_, i) => i), statuses.map(([, n]) => n)]}
            />
          )}
          <h2>First-response time</h2>
          <FirstResponseDistribution a={a} />
          <p class='muted'>
            First response: mean {mins(a.first_response_seconds?.mean)}, median{' '}
            {mins(a.first_response_seconds?.median)} over {a.responded_conversations} of{' '}
            {a.conversations_with_inbound} conversations.
          </p>
        </>
      )}
    </section>
  );
}
