// Channels of one tenant: Twilio credentials (through the tenant-credentials function: the auth
// token goes to the server and never comes back), sync through twilio-sync, numbers with rotation.
import { action, createModel, effect, signal } from '@preact/signals';
import { affected, must, type Row, supabase } from '../supabase.ts';
import { humanError } from '../lib/format.ts';

/** What functions/tenant-credentials answers: a masked status, never the token. */
export interface CredentialStatus {
  configured: boolean;
  account_sid?: string | null;
  auth_token?: string | null;
  verified_at?: string | null;
  platform_account?: boolean;
  /** own_account | platform | test: whether SMS/WhatsApp really go out. */
  sending_mode?: string;
  email_inbound_url?: string;
}
type SyncReport = Record<string, Record<string, number>>;

async function invoke<T>(
  name: string,
  body?: Record<string, unknown>,
  method: 'GET' | 'POST' = 'POST',
): Promise<T> {
  const { data, error } = await supabase.functions.invoke(name, { body, method });
  if (error) {
    // FunctionsHttpError carries the response: prefer the function's own message.
    const ctx = (error as { context?: Response }).context;
    const detail = ctx ? await ctx.json().catch(() => null) : null;
    throw new Error(detail?.error ?? detail?.message ?? error.message);
  }
  return data as T;
}

export const ChannelsModel = createModel((tenantId: string) => {
  const numbers = signal<Row<'phone_numbers'>[]>([]);
  const domains = signal<Row<'tenant_email_domains'>[]>([]);
  const credentials = signal<CredentialStatus | null>(null);
  const error = signal('');
  const status = signal('');
  const syncing = signal(false);

  const loadNumbers = async () => {
    numbers.value = must(
      await supabase.from('phone_numbers').select('*').eq('tenant_id', tenantId).order('e164'),
    );
  };
  // Sender domains: owners ask for one; the operator marks it verified once its DNS checks out.
  const loadDomains = async () => {
    domains.value = must(
      await supabase.from('tenant_email_domains').select('*').eq('tenant_id', tenantId)
        .order('domain'),
    );
  };
  effect(() => {
    loadNumbers().catch((e) => (error.value = humanError(e)));
    loadDomains().catch((e) => (error.value = humanError(e)));
    invoke<CredentialStatus>(`tenant-credentials?tenant_id=${tenantId}`, undefined, 'GET')
      .then((s) => (credentials.value = s))
      .catch(() => (credentials.value = { configured: false }));
  });

  return {
    numbers,
    domains,
    addDomain: action(async (domain: string) => {
      error.value = '';
      const { error: e } = await supabase.from('tenant_email_domains')
        .insert({ tenant_id: tenantId, domain: domain.trim().toLowerCase() });
      if (e) error.value = `Domain not added: ${humanError(e)}`;
      else await loadDomains();
    }),
    credentials,
    error,
    status,
    syncing,
    saveCredentials: action(async (accountSid: string, authToken: string) => {
      status.value = 'Verifying with Twilio…';
      error.value = '';
      try {
        credentials.value = await invoke<CredentialStatus>('tenant-credentials', {
          tenant_id: tenantId,
          account_sid: accountSid,
          auth_token: authToken,
        });
        status.value = 'Credentials verified and saved.';
      } catch (e) {
        status.value = '';
        error.value = `Twilio did not accept these credentials: ${humanError(e)}`;
      }
    }),
    sync: action(async () => {
      syncing.value = true;
      status.value = 'Syncing numbers, messages and calls…';
      try {
        const r = await invoke<SyncReport>('twilio-sync', { tenant_id: tenantId });
        const part = (k: string) =>
          Object.entries(r?.[k] ?? {}).map(([what, n]) => `${n} ${what}`).join(', ');
        status.value = `Synced. Numbers: ${part('numbers')}. Messages: ${
          part('messages')
        }. Calls: ${part('calls')}.`;
        await loadNumbers();
      } catch (e) {
        status.value = '';
        error.value = `Sync failed: ${humanError(e)}`;
      } finally {
        syncing.value = false;
      }
    }),
    setRotation: action(async (id: string, enabled: boolean) => {
      const before = numbers.peek();
      numbers.value = before.map((n) => (n.id === id ? { ...n, rotation_enabled: enabled } : n));
      const e = affected(
        await supabase.from('phone_numbers').update({ rotation_enabled: enabled }).eq('id', id)
          .select('id'),
      );
      if (e) {
        numbers.value = before;
        error.value = `Not saved: ${humanError(e)}`;
      }
    }),
  };
});
export type ChannelsModel = InstanceType<typeof ChannelsModel>;
