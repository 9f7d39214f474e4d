// Supabase Realtime-compatible postgres_changes server for the local stack. Placeholder until the
// implementation lands.
import { json, type RouteHandler } from '../gateway.ts';

export interface RealtimeOptions {
  /** postgres superuser URL of the cluster (reads the wal2json slot, checks RLS per subscriber). */
  dbUrl: string;
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
}

export interface RealtimeService {
  /** Handles /realtime/v1<subpath>, e.g. /websocket (websocket upgrade). */
  handler: RouteHandler;
  stop(): Promise<void>;
}

export function startRealtime(_opts: RealtimeOptions): Promise<RealtimeService> {
  return Promise.resolve({
    handler: () => json(503, { message: 'realtime is not implemented yet' }),
    stop: () => Promise.resolve(),
  });
}
