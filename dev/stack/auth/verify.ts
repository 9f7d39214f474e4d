// Mailed links: sending the sign-up confirmation and the email-change confirmation, and
// GET/POST /verify that consumes them (supabase/auth internal/api/mail.go sendConfirmation,
// sendEmailChange; verify.go verifyGet, verifyPost, signupVerify, emailChangeVerify,
// verifyTokenHash). Tokens are hex SHA-224 of address + a 6-digit OTP, stored in the user's token
// columns; a link is valid for otp_expiry seconds and only once.
import { type AuthContext, type Body, json, readJson, str } from './common.ts';
import { AuthError, badRequest } from './errors.ts';
import { allowedRedirect, generateOtp, tokenHash, verifyLink } from './mailer.ts';
import { audit, type Client, type Sql, userJsonById } from './store.ts';
import type { UserRow } from './format.ts';
import { clientOf } from './common.ts';
import { signIn } from './session.ts';

/** validateSentWithinFrequencyLimit: one mail of a kind per max_frequency. */
function checkFrequency(ctx: AuthContext, sentAt: string | null) {
  if (!sentAt) return;
  const wait = Date.parse(sentAt) + ctx.config.maxFrequencySeconds * 1000 - Date.now();
  if (wait > 0) {
    throw new AuthError(
      429,
      'over_email_send_rate_limit',
      `For security purposes, you can only request this after ${Math.ceil(wait / 1000)} seconds.`,
    );
  }
}

/** sendConfirmation: a new confirmation token, mailed as a link. Runs inside the sign-up's tx. */
export async function sendConfirmation(
  ctx: AuthContext,
  tx: Sql,
  user: UserRow,
  redirectTo: string,
): Promise<void> {
  checkFrequency(ctx, user.confirmation_sent_at);
  ctx.limits.checkEmail();
  const hash = tokenHash(user.email!, generateOtp());
  await tx`
    update auth.users set confirmation_token = ${hash}, confirmation_sent_at = now()
    where id = ${user.id}`;
  await ctx.mailer.send('signup', user.email!, verifyLink(ctx.issuer, hash, 'signup', redirectTo));
}

/**
 * sendEmailChange: `email_change` holds the new address until it is confirmed. With
 * double_confirm_changes (secure email change) the current address gets a link too and both
 * must be followed.
 */
export async function sendEmailChange(
  ctx: AuthContext,
  tx: Sql,
  user: UserRow,
  newEmail: string,
  redirectTo: string,
): Promise<void> {
  checkFrequency(ctx, user.email_change_sent_at);
  ctx.limits.checkEmail();
  const hashNew = tokenHash(newEmail, generateOtp());
  const secure = ctx.config.doubleConfirmChanges && !!user.email;
  const hashCurrent = secure ? tokenHash(user.email!, generateOtp()) : '';
  await tx`
    update auth.users set email_change = ${newEmail}, email_change_token_new = ${hashNew},
      email_change_token_current = ${hashCurrent}, email_change_confirm_status = 0,
      email_change_sent_at = now(), updated_at = now()
    where id = ${user.id}`;
  const link = (h: string) => verifyLink(ctx.issuer, h, 'email_change', redirectTo);
  await ctx.mailer.send('email_change', newEmail, link(hashNew), newEmail);
  if (secure) await ctx.mailer.send('email_change', user.email!, link(hashCurrent), newEmail);
}

const expired = () => new AuthError(403, 'otp_expired', 'Email link is invalid or has expired');
const SINGLE_CONFIRMATION =
  'Confirmation link accepted. Please proceed to confirm link sent to the other email';

type Outcome = { session: Record<string, unknown> } | { message: string };

/** Finds the user a token belongs to, checks expiry, and applies the verification. */
async function applyToken(
  ctx: AuthContext,
  type: string,
  hash: string,
  client: Client,
): Promise<Outcome> {
  if (type !== 'signup' && type !== 'email_change') {
    throw badRequest('validation_failed', 'Unsupported verification type');
  }
  if (!/^[0-9a-f]{56}$/.test(hash)) throw expired();
  return await ctx.sql.begin(async (tx): Promise<Outcome> => {
    const rows = type === 'signup'
      ? await tx<{ id: string; fresh: boolean; banned: boolean }[]>`
        select id, confirmation_sent_at > now() - make_interval(secs => ${ctx.config.otpExpirySeconds})
          as fresh, coalesce(banned_until > now(), false) as banned
        from auth.users where confirmation_token = ${hash} for update`
      : await tx<{ id: string; fresh: boolean; banned: boolean }[]>`
        select id, email_change_sent_at > now() - make_interval(secs => ${ctx.config.otpExpirySeconds})
          as fresh, coalesce(banned_until > now(), false) as banned
        from auth.users
        where email_change_token_new = ${hash} or email_change_token_current = ${hash}
        for update`;
    if (!rows.length || !rows[0].fresh) throw expired();
    if (rows[0].banned) throw new AuthError(403, 'user_banned', 'User is banned');
    const id = rows[0].id;
    if (type === 'signup') await confirmSignup(tx, id);
    else if (!(await confirmEmailChange(ctx, tx, id, hash))) {
      return { message: SINGLE_CONFIRMATION };
    }
    const user = await userJsonById(tx, id);
    await audit(tx, user!.row, 'login', client.ip, { provider: 'email' });
    return { session: await signIn(ctx, tx, id, client) };
  });
}

async function confirmSignup(tx: Sql, id: string) {
  await tx`
    update auth.users set email_confirmed_at = now(), confirmation_token = '',
      raw_user_meta_data = coalesce(raw_user_meta_data, '{}') || '{"email_verified": true}',
      updated_at = now()
    where id = ${id}`;
  await tx`
    update auth.identities
    set identity_data = identity_data || '{"email_verified": true}', updated_at = now()
    where user_id = ${id} and provider = 'email'`;
  const [u] = await tx<UserRow[]>`select id, email, phone from auth.users where id = ${id}`;
  await audit(tx, u, 'user_signedup', null, { provider: 'email' });
}

/** emailChangeVerify: true once the change is applied, false after the first of two links. */
async function confirmEmailChange(ctx: AuthContext, tx: Sql, id: string, hash: string) {
  const [u] = await tx<
    { email: string; email_change: string; status: number; cur: string; new: string }[]
  >`
    select email, email_change, email_change_confirm_status as status,
      email_change_token_current as cur, email_change_token_new as new
    from auth.users where id = ${id}`;
  const secure = ctx.config.doubleConfirmChanges && u.email;
  if (secure && u.status === 0 && u.cur !== '' && u.new !== '') {
    const which = hash === u.cur
      ? tx`email_change_token_current = ''`
      : tx`email_change_token_new = ''`;
    await tx`update auth.users set email_change_confirm_status = 1, ${which} where id = ${id}`;
    return false;
  }
  await tx`
    update auth.users set email = email_change, email_change = '', email_change_token_new = '',
      email_change_token_current = '', email_change_confirm_status = 0,
      email_confirmed_at = coalesce(email_confirmed_at, now()), updated_at = now()
    where id = ${id}`;
  await tx`
    update auth.identities
    set identity_data = identity_data || jsonb_build_object('email', ${u.email_change}::text,
      'email_verified', true), updated_at = now()
    where user_id = ${id} and provider = 'email'`;
  const [row] = await tx<UserRow[]>`select id, email, phone from auth.users where id = ${id}`;
  await audit(tx, row, 'user_modified', null);
  return true;
}

const OAUTH_ERROR: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized_client',
  403: 'access_denied',
  429: 'invalid_request',
  500: 'server_error',
};

function redirect(to: string, fragment: Record<string, string>): Response {
  const u = new URL(to);
  u.hash = new URLSearchParams(fragment).toString();
  return new Response(null, { status: 303, headers: { location: u.toString() } });
}

/** GET /verify?token&type&redirect_to: a 303 to redirect_to with the session in the fragment. */
export async function verifyGet(
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const q = new URL(req.url).searchParams;
  const to = allowedRedirect(ctx.config, q.get('redirect_to'));
  try {
    const out = await applyToken(
      ctx,
      q.get('type') ?? '',
      q.get('token') ?? '',
      clientOf(req, info),
    );
    if ('message' in out) return redirect(to, { message: out.message, sb: '' });
    const s = out.session;
    return redirect(to, {
      access_token: String(s.access_token),
      expires_at: String(s.expires_at),
      expires_in: String(s.expires_in),
      refresh_token: String(s.refresh_token),
      token_type: 'bearer',
      type: q.get('type')!,
    });
  } catch (e) {
    if (!(e instanceof AuthError) || e.status >= 500) throw e;
    return redirect(to, {
      error: OAUTH_ERROR[e.status] ?? 'invalid_request',
      error_code: e.errorCode,
      error_description: e.message,
      sb: '',
    });
  }
}

/** POST /verify {type, token_hash}: the session as JSON (supabase-js verifyOtp). */
export async function verifyPost(
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const body: Body = await readJson(req, 'VerifyParams');
  const hash = str(body, 'token_hash', 'VerifyParams') ?? '';
  const type = str(body, 'type', 'VerifyParams') ?? '';
  if (!hash) throw badRequest('validation_failed', 'Verify requires a token_hash');
  const out = await applyToken(ctx, type, hash, clientOf(req, info));
  if ('message' in out) return json(200, { msg: out.message, code: 200 });
  return json(200, out.session);
}
