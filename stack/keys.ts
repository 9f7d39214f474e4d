// The stack's JWT secret and API keys. The secret and the claims of the two keys are the ones
// `supabase start` uses, so keys printed here work the same way as a local Supabase's.
import { SignJWT } from 'jose';

export const JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
export const JWT_EXPIRY_SECONDS = 3600;
const EXP_2032 = 1983812996;

export function secretKey(secret = JWT_SECRET): Uint8Array {
  return new TextEncoder().encode(secret);
}

async function roleKey(role: 'anon' | 'service_role', secret: string): Promise<string> {
  return await new SignJWT({ iss: 'supabase-demo', role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(EXP_2032)
    .sign(secretKey(secret));
}

export interface ApiKeys {
  jwtSecret: string;
  anonKey: string;
  serviceRoleKey: string;
}

export async function apiKeys(secret = JWT_SECRET): Promise<ApiKeys> {
  return {
    jwtSecret: secret,
    anonKey: await roleKey('anon', secret),
    serviceRoleKey: await roleKey('service_role', secret),
  };
}
