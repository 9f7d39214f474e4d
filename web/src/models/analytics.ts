// Analytics of one tenant from the analytics RPC, for a 7/30/90/365-day window.
import { action, createModel, effect, signal } from '@preact/signals';
import { rpc } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

/** Conversations whose first response took from_seconds <= delay < to_seconds (null: no end). */
export interface FirstResponseBucket {
  from_seconds: number;
  to_seconds: number | null;
  conversations: number;
}

/** The shape public.analytics(p_tenant_id, p_days) returns (migrations/…_analytics.sql). */
export interface Analytics {
  sent: number;
  received: number;
  delivered: number;
  failed: number;
  delivered_rate: number | null;
  response_rate: number | null;
  conversations_with_inbound: number;
  responded_conversations: number;
  first_response_seconds: { mean: number | null; median: number | null };
  /** The first-response time distribution, fastest band first (…_analytics_first_response_buckets). */
  first_response_buckets: FirstResponseBucket[];
  by_channel: Record<string, { sent: number; received: number; delivered: number; failed: number }>;
  by_status: Record<string, number>;
  daily: { date: string; sent: number; received: number; failed: number }[];
}

export const AnalyticsModel = createModel((tenantId: string) => {
  const days = signal(30);
  const data = signal<Analytics | null>(null);
  const loading = signal(false);
  const error = signal('');

  const load = action(async () => {
    const d = days.value;
    loading.value = true;
    try {
      const res = await rpc<Analytics>('analytics', { p_tenant_id: tenantId, p_days: d });
      if (d === days.peek()) data.value = res;
      error.value = '';
    } catch (e) {
      error.value = humanError(e);
    } finally {
      loading.value = false;
    }
  });
  effect(() => {
    void days.value;
    void load();
  });

  return { days, data, loading, error, setDays: action((d: number) => void (days.value = d)) };
});
export type AnalyticsModel = InstanceType<typeof AnalyticsModel>;
