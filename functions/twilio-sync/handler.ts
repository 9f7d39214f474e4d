// Imports a tenant's own Twilio account (owners only): its phone numbers with capabilities, recent
// messages and recent calls, into phone_numbers, messages and calls. Only the business's own
// verified account (never the platform's: that would hand every unclaimed platform number and
// call to whoever signs up), and only what belongs to its numbers: messages and calls to or from
// one of them. Idempotent: numbers by e164/twilio_sid, messages and calls by (tenant, provider_sid),
// so running it twice adds nothing and another business's copy never blocks this one's. A number
// another tenant already owns is reported as a conflict and left alone.
import { z } from 'zod';
import { type Deps, lazyHandler } from '../_shared/context.ts';
import { ownCreds } from '../_shared/credentials.ts';
import { CORS, HttpError, json, readJson, wrap } from '../_shared/http.ts';
import { requireOwner } from '../_shared/owner.ts';
import { NotSentError, twilioClient, UnknownOutcomeError } from '../_shared/twilio.ts';
import { importCalls, importMessages, importNumbers, type SyncReport } from './import.ts';

const SyncSchema = z.object({
  tenant_id: z.string().uuid(),
  limit: z.number().int().min(1).max(1000).default(200),
}).strict();

export function createHandler(deps: Deps) {
  const { env, sql } = deps;
  return wrap(async (req) => {
    if (req.method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only');
    const p = SyncSchema.parse(await readJson(req));
    await requireOwner(req, deps, p.tenant_id);
    const creds = await ownCreds(sql, env, p.tenant_id);
    if (!creds) {
      throw new HttpError(
        409,
        'no_twilio_credentials',
        'connect your own Twilio account first: sync imports only from it',
      );
    }
    const tw = twilioClient(creds, env.TWILIO_API_URL, env.TWILIO_TIMEOUT_MS);
    const report: SyncReport = {
      numbers: { imported: 0, updated: 0, conflicts: 0 },
      messages: { imported: 0, skipped: 0 },
      calls: { imported: 0, skipped: 0 },
    };
    try {
      await importNumbers(sql, tw, p.tenant_id, report);
      await importMessages(sql, tw, p.tenant_id, p.limit, report);
      await importCalls(sql, tw, p.tenant_id, p.limit, report);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      if (e instanceof NotSentError || e instanceof UnknownOutcomeError) {
        throw new HttpError(502, 'twilio_unreachable', (e as Error).message);
      }
      const err = e as { status?: number; code?: number };
      if (typeof err.status === 'number') {
        throw new HttpError(
          502,
          'twilio_error',
          `Twilio answered ${err.status} (${err.code ?? ''})`,
        );
      }
      throw e;
    }
    return json(200, report, CORS);
  });
}

export const handler = lazyHandler(createHandler);
