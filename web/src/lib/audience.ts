// Who a campaign would skip, for the preview before sending. The database decides for real
// (private.contact_block_reason in the sending rules); this mirrors it for a bulk message.
import type { Row } from '../supabase.ts';

export type AudienceContact = Pick<
  Row<'contacts'>,
  'phone' | 'email' | 'whatsapp' | 'opted_out_at' | 'opted_out_channels' | 'promotional_consent'
>;

/** private.contact_block_reason(contact, channel, 'bulk') in TypeScript. */
export function blockReason(
  c: AudienceContact,
  channel: 'sms' | 'whatsapp' | 'email',
): string | null {
  const address = channel === 'sms'
    ? c.phone
    : channel === 'email'
    ? c.email
    : c.whatsapp ?? c.phone;
  // Same order as SQL: opt-out, then consent, then a missing address.
  if (c.opted_out_channels.includes(channel)) return 'opted_out';
  if (!c.promotional_consent) return 'no_promotional_consent';
  if (!address) return 'no_address';
  return null;
}
