// Shared pieces of the end-to-end suite: Chromium (./_chromium.ts), the dashboard built against the throwaway stack
// and served on a free port, sign-in, screenshots, and a Twilio-signed webhook sender.
import { followLink, linkIn, waitForMail } from '../_mail.ts';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './_chromium.ts';
import { createClient } from '@supabase/supabase-js';
import { startWeb } from '../../stack/web.ts';
import { freePort } from '../../stack/ports.ts';
import { ROOT } from '../../stack/database.ts';
import { stackEnv } from '../stack/_env.ts';
import type { Database } from '../../../common/database.types.ts';

export const env = stackEnv();
export const OUTPUT = `${ROOT}/dev/tests/output`;
export const DEMO = { email: 'demo@switchboard.local', password: 'switchboard-demo' };

const cleanups: (() => Promise<unknown> | unknown)[] = [];
// Deno runs this when the test module finishes: stop the server and the browser we started.
globalThis.addEventListener('unload', () => {
  for (const c of cleanups.reverse()) void c();
});

let dashboard: Promise<string> | undefined;
/** The dashboard built against the test stack and served on a free port (once per process). */
export function dashboardUrl(): Promise<string> {
  dashboard ??= (async () => {
    const logDir = await Deno.makeTempDir({ prefix: 'switchboard-web-' });
    const port = freePort();
    const svc = await startWeb({ port, env: { ...env }, logDir, mode: 'test' });
    cleanups.push(() => svc.stop());
    return `http://127.0.0.1:${port}`;
  })();
  return dashboard;
}

let browser: Promise<Browser> | undefined;
export function getBrowser(): Promise<Browser> {
  browser ??= launchChromium().then(({ browser: b, stop }) => {
    cleanups.push(stop);
    return b;
  });
  return browser;
}

/** A fresh browser context (own storage) on the dashboard. */
export async function newPage(opts: { width?: number } = {}): Promise<Page> {
  const b = await getBrowser();
  const ctx = await b.newContext({ viewport: { width: opts.width ?? 1280, height: 860 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(await dashboardUrl());
  return page;
}

export async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

export async function screenshot(page: Page, name: string) {
  await Deno.mkdir(OUTPUT, { recursive: true });
  await page.screenshot({ path: `${OUTPUT}/${name}.png`, fullPage: true });
}

export function serviceClient() {
  return createClient<Database>(env.SUPABASE_URL, env.SUPABASE_SECRET_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

/** A fresh signed-up user with a business of their own (create_tenant makes them owner). */
export async function userWithBusiness(name: string) {
  const email = `${name}-${crypto.randomUUID().slice(0, 8)}@e2e.test`;
  const password = 'e2e-password-123';
  const client = createClient<Database>(env.SUPABASE_URL, env.SUPABASE_PUBLISHABLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
  });
  const { error } = await client.auth.signUp({ email, password });
  if (error) throw new Error(`sign up ${email}: ${error.message}`);
  // Confirmations are on (supabase/config.toml): the link in the mail confirms the address.
  await followLink(linkIn(await waitForMail(email)));
  const { data: s } = await client.auth.signInWithPassword({ email, password });
  if (!s.session) throw new Error(`sign in ${email} failed after sign up`);
  const rpc = client.rpc as unknown as (
    n: string,
    a: Record<string, unknown>,
  ) => Promise<{ data: { id: string } | null; error: { message: string } | null }>;
  const { data: tenant, error: e2 } = await rpc.call(client, 'create_tenant', {
    p_name: `E2E ${name}`,
  });
  if (e2 || !tenant) throw new Error(`create_tenant: ${e2?.message}`);
  return { email, password, client, tenantId: tenant.id, userId: s.session.user.id };
}

/** X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by the sorted form pairs. */
export async function twilioSignature(url: string, params: Record<string, string>, token: string) {
  const data = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(token),
    { name: 'HMAC', hash: 'SHA-1' },
    false,
    ['sign'],
  );
  const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(data));
  return btoa(String.fromCharCode(...new Uint8Array(sig)));
}

/** Posts an inbound SMS to twilio-inbound, signed as Twilio would with `token`. */
export async function sendInboundSms(
  opts: { from: string; to: string; body: string; token: string },
): Promise<Response> {
  const url = `${env.SUPABASE_URL}/functions/v1/twilio-inbound`;
  const hex = [...crypto.getRandomValues(new Uint8Array(16))]
    .map((b) => b.toString(16).padStart(2, '0')).join('');
  const params = {
    MessageSid: `SM${hex}`,
    From: opts.from,
    To: opts.to,
    Body: opts.body,
    NumMedia: '0',
  };
  return await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': await twilioSignature(url, params, opts.token),
      apikey: env.SUPABASE_PUBLISHABLE_KEY,
    },
    body: new URLSearchParams(params),
  });
}

/** Polls `fn` until it returns a truthy value or the deadline passes (no blind sleeps). */
export async function until<T>(fn: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** True when the demo owner can sign in through the stack's auth (auth server + seed landed). */
export async function demoSignInWorks(): Promise<boolean> {
  const res = await fetch(`${env.SUPABASE_URL}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: env.SUPABASE_PUBLISHABLE_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(DEMO),
  }).catch(() => null);
  await res?.body?.cancel();
  return res?.status === 200;
}
