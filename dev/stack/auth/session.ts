// Sign-up, sign-in, refresh and sign-out: supabase/auth's signup.go, token.go,
// tokens/service.go (RefreshTokenGrant) and logout.go for the email + password subset.
import {
  AUD,
  type AuthContext,
  checkPasswordStrength,
  clientOf,
  hashPassword,
  json,
  obj,
  passwordMatches,
  passwordWeakness,
  readJson,
  requireUser,
  str,
  validateEmail,
} from './common.ts';
import { allowedRedirect } from './mailer.ts';
import { sendConfirmation } from './verify.ts';
import { AuthError, badRequest, invalidCredentials, unprocessable } from './errors.ts';
import {
  audit,
  type Client,
  createSession,
  findUserByEmail,
  insertEmailIdentity,
  insertRefreshToken,
  insertUser,
  type Sql,
  userJsonById,
} from './store.ts';

/** The AccessTokenResponse GoTrue sends after any sign-in or refresh. */
async function sessionBody(
  ctx: AuthContext,
  sql: Sql,
  userId: string,
  sessionId: string,
  sessionCreatedAt: number,
  refreshToken: string,
): Promise<Record<string, unknown>> {
  const user = await userJsonById(sql, userId);
  if (!user) throw new Error(`user ${userId} vanished while issuing a session`);
  // No mfa_amr_claims here: every session of this subset started with a password.
  const amr = [{ method: 'password', timestamp: sessionCreatedAt }];
  const { token, expiresAt } = await ctx.jwt.sign(user.row, sessionId, amr, ctx.issuer);
  return {
    access_token: token,
    token_type: 'bearer',
    expires_in: ctx.jwt.expirySeconds,
    expires_at: expiresAt,
    refresh_token: refreshToken,
    user: user.json,
  };
}

export async function signIn(ctx: AuthContext, sql: Sql, userId: string, client: Client) {
  const s = await createSession(sql, userId, client);
  return await sessionBody(ctx, sql, userId, s.sessionId, s.createdAt, s.refreshToken);
}

const isUniqueViolation = (e: unknown) => (e as { code?: string })?.code === '23505';

/**
 * POST /signup (signup.go). With confirmations on (production; `enable_confirmations = true`) a new
 * user is stored unconfirmed, mailed a confirmation link and answered without a session; an email
 * that already has a confirmed account gets the same 200 answer with a made-up id (sanitizeUser),
 * so the answer never tells whether an account exists. With confirmations off (mailer autoconfirm)
 * the new user gets a session and an existing one 422 user_already_exists, as GoTrue does.
 */
export async function signup(
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const P = 'SignupParams';
  const body = await readJson(req, P);
  const emailIn = str(body, 'email', P);
  const phone = str(body, 'phone', P);
  const password = str(body, 'password', P);
  const data = obj(body, 'data', P) ?? {};
  const client = clientOf(req, info);

  // api.go's /signup route: no address at all is an anonymous sign-in.
  if (!emailIn && !phone) {
    if (!ctx.config.enableAnonymousSignIns) {
      throw unprocessable('anonymous_provider_disabled', 'Anonymous sign-ins are disabled');
    }
    ctx.limits.check('anonymous', client.ip);
    throw unprocessable(
      'anonymous_provider_disabled',
      'Anonymous sign-ins are not supported locally',
    );
  }
  ctx.limits.check('signups', client.ip);
  if (!ctx.config.enableSignup) {
    throw unprocessable('signup_disabled', 'Signups not allowed for this instance');
  }
  if (!password) throw badRequest('validation_failed', 'Signup requires a valid password');
  checkPasswordStrength(ctx, password);
  if (emailIn && phone) {
    throw badRequest(
      'validation_failed',
      'Only an email address or phone number should be provided on signup.',
    );
  }
  if (!emailIn) throw badRequest('phone_provider_disabled', 'Phone signups are disabled');
  const email = validateEmail(emailIn);
  const redirectTo = allowedRedirect(
    ctx.config,
    str(body, 'redirect_to', P) ??
      new URL(req.url).searchParams.get('redirect_to'),
  );
  // Hash outside the transaction: it is the slow part (GoTrue does the same).
  const encryptedPassword = await hashPassword(password);
  const confirm = ctx.config.enableConfirmations;

  try {
    const answer = await ctx.sql.begin(async (tx) => {
      const existing = await findUserByEmail(tx, email, AUD);
      if (existing?.email_confirmed_at || (existing && !confirm)) {
        await audit(tx, existing, 'user_repeated_signup', client.ip, { provider: 'email' });
        if (!confirm) return 'exists' as const;
        return sanitizedUser(email, data);
      }
      if (existing) {
        // Unconfirmed: the link is sent again (within max_frequency it is 429), password kept.
        await sendConfirmation(ctx, tx, existing, redirectTo);
        return (await userJsonById(tx, existing.id))!.json;
      }
      const id = crypto.randomUUID();
      // Identity data as provider.Claims{Subject, Email} plus the caller's data; the user's
      // metadata starts as that identity data, then Confirm() marks the email verified.
      const identityData: Record<string, unknown> = {
        sub: id,
        email,
        email_verified: false,
        phone_verified: false,
      };
      for (const [k, v] of Object.entries(data)) if (!(k in identityData)) identityData[k] = v;
      await insertUser(tx, {
        id,
        email,
        encryptedPassword,
        appMetadata: { provider: 'email', providers: ['email'] },
        userMetadata: confirm ? identityData : { ...identityData, email_verified: true },
        confirmed: !confirm,
      });
      await insertEmailIdentity(tx, id, identityData);
      const actor = { id, email, phone: null };
      if (confirm) {
        await audit(tx, actor, 'user_confirmation_requested', client.ip, { provider: 'email' });
        await sendConfirmation(ctx, tx, (await userJsonById(tx, id))!.row, redirectTo);
        return (await userJsonById(tx, id))!.json;
      }
      await audit(tx, actor, 'user_signedup', client.ip, { provider: 'email' });
      await audit(tx, actor, 'login', client.ip, { provider: 'email' });
      return await signIn(ctx, tx, id, client);
    });
    if (answer === 'exists') throw userAlreadyExists();
    return json(200, answer);
  } catch (e) {
    // A concurrent sign-up for the same address won the insert: answer as for an existing one.
    if (isUniqueViolation(e)) {
      if (!confirm) throw userAlreadyExists();
      return json(200, sanitizedUser(email, data));
    }
    throw e;
  }
}

/** sanitizeUser: what a repeated sign-up sees, shaped like a fresh unconfirmed user. */
function sanitizedUser(email: string, data: Record<string, unknown>): Record<string, unknown> {
  const now = new Date().toISOString().replace(/(\.\d*?)0*Z$/, '$1Z').replace('.Z', 'Z');
  return {
    id: crypto.randomUUID(),
    aud: AUD,
    role: '',
    email,
    phone: '',
    confirmation_sent_at: now,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: data,
    identities: [],
    created_at: now,
    updated_at: now,
    is_anonymous: false,
  };
}

const userAlreadyExists = () => unprocessable('user_already_exists', 'User already registered');

/** POST /token?grant_type=… */
export async function token(
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const grant = new URL(req.url).searchParams.get('grant_type');
  // token.go: both grants share the token_refresh bucket, checked before anything is read.
  if (grant === 'password' || grant === 'refresh_token') {
    ctx.limits.check('token', clientOf(req, info).ip);
  }
  if (grant === 'password') return await passwordGrant(ctx, req, info);
  if (grant === 'refresh_token') return await refreshGrant(ctx, req, info);
  throw badRequest('invalid_credentials', 'unsupported_grant_type');
}

async function passwordGrant(
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const body = await readJson(req, 'PasswordGrantParams');
  const email = str(body, 'email', 'PasswordGrantParams');
  const phone = str(body, 'phone', 'PasswordGrantParams');
  const password = str(body, 'password', 'PasswordGrantParams') ?? '';
  if (email && phone) {
    throw badRequest(
      'validation_failed',
      'Only an email address or phone number should be provided on login.',
    );
  }
  if (!email) {
    if (phone) throw unprocessable('phone_provider_disabled', 'Phone logins are disabled');
    throw badRequest('validation_failed', 'missing email or phone');
  }
  const user = await findUserByEmail(ctx.sql, email, AUD);
  if (!user || !user.encrypted_password) throw invalidCredentials();
  if (user.banned) throw badRequest('user_banned', 'User is banned');
  const valid = await passwordMatches(password, user.encrypted_password);
  if (!valid) throw invalidCredentials();
  if (!user.email_confirmed_at) throw badRequest('email_not_confirmed', 'Email not confirmed');

  const client = clientOf(req, info);
  const session = await ctx.sql.begin(async (tx) => {
    await audit(tx, user, 'login', null, { provider: 'email' });
    return await signIn(ctx, tx, user.id, client);
  });
  // A correct but weak password still signs in; GoTrue reports why it is weak.
  const weak = passwordWeakness(ctx, password);
  if (weak) session.weak_password = { message: weak.message, reasons: weak.reasons };
  return json(200, session);
}

const LEGACY_REFRESH_TOKEN = /^[a-z0-9]{12}$/;
const tokenNotFound = () =>
  badRequest('refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');

type RefreshOutcome = { body: Record<string, unknown> } | { error: AuthError };

/**
 * Refresh-token rotation as GoTrue does it. The session row and then the token row are locked
 * (the same order as a logout's cascade, so the two cannot deadlock), which serialises concurrent
 * refreshes of one session. A revoked token is accepted only when it is the parent of the
 * session's active token (the client lost the previous answer: it gets that active token back)
 * or within the reuse interval; otherwise the whole session's tokens are revoked and the call
 * fails with refresh_token_already_used.
 */
async function refreshGrant(
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const body = await readJson(req, 'RefreshTokenGrantParams');
  const refreshToken = str(body, 'refresh_token', 'RefreshTokenGrantParams') ?? '';
  if (!LEGACY_REFRESH_TOKEN.test(refreshToken)) {
    throw badRequest('validation_failed', 'Refresh token is not valid');
  }
  const client = clientOf(req, info);

  const outcome: RefreshOutcome = await ctx.sql.begin(async (tx): Promise<RefreshOutcome> => {
    const found = await tx<{ session_id: string | null; id: string }[]>`
      select id, session_id from auth.refresh_tokens where token = ${refreshToken}`;
    if (!found.length) throw tokenNotFound();
    if (!found[0].session_id) {
      // Tokens from before sessions existed are dropped, as GoTrue does.
      await tx`delete from auth.refresh_tokens where id = ${found[0].id}`;
      return {
        error: badRequest('session_not_found', 'Invalid Refresh Token: No Valid Session Found'),
      };
    }
    const sessions = await tx<{ id: string; expired: boolean; created_at: Date }[]>`
      select id, coalesce(not_after < now(), false) as expired, created_at
      from auth.sessions where id = ${found[0].session_id} for update`;
    // Gone between the two reads: a concurrent logout deleted it and its tokens.
    if (!sessions.length) throw tokenNotFound();
    const session = sessions[0];
    const rows = await tx<
      { token: string; user_id: string; revoked: boolean; reusable: boolean }[]
    >`
      select token, user_id, coalesce(revoked, false) as revoked,
        updated_at > clock_timestamp() - make_interval(secs => ${ctx.reuseIntervalSeconds})
          as reusable
      from auth.refresh_tokens where token = ${refreshToken} for update`;
    if (!rows.length) throw tokenNotFound();
    const rt = rows[0];
    const user = await userJsonById(tx, rt.user_id);
    if (!user) throw tokenNotFound();
    if (user.row.banned) throw badRequest('user_banned', 'Invalid Refresh Token: User Banned');
    if (session.expired) {
      throw badRequest('session_expired', 'Invalid Refresh Token: Session Expired');
    }

    let issued: string | null = null;
    if (rt.revoked) {
      const active = await tx<{ token: string; parent: string | null }[]>`
        select token, parent from auth.refresh_tokens
        where session_id = ${session.id} and revoked is false order by id desc limit 1`;
      if (active[0]?.parent === rt.token) {
        issued = active[0].token;
      } else if (!rt.reusable) {
        await tx`
          update auth.refresh_tokens set revoked = true, updated_at = now()
          where session_id = ${session.id} and revoked = false`;
        return {
          error: badRequest('refresh_token_already_used', 'Invalid Refresh Token: Already Used'),
        };
      }
    }
    await audit(tx, user.row, 'token_refreshed', null);
    if (!issued) {
      await audit(tx, user.row, 'token_revoked', null);
      await tx`
        update auth.refresh_tokens set revoked = true, updated_at = now()
        where token = ${rt.token}`;
      issued = await insertRefreshToken(tx, rt.user_id, session.id, rt.token);
    }
    await tx`
      update auth.sessions set refreshed_at = (clock_timestamp() at time zone 'UTC'),
        updated_at = now(), user_agent = ${client.userAgent}, ip = ${client.ip}::inet
      where id = ${session.id}`;
    const createdAt = Math.floor(session.created_at.getTime() / 1000);
    return { body: await sessionBody(ctx, tx, rt.user_id, session.id, createdAt, issued) };
  });
  // Revocations above are committed before the error is answered (storage.NewCommitWithError).
  if ('error' in outcome) throw outcome.error;
  return json(200, outcome.body);
}

/** POST /logout?scope=global|local|others: deletes sessions (their tokens cascade); 204. */
export async function logout(ctx: AuthContext, req: Request): Promise<Response> {
  const { user, sessionId } = await requireUser(ctx, req);
  const scope = new URL(req.url).searchParams.get('scope') ?? '';
  if (!['', 'global', 'local', 'others'].includes(scope)) {
    throw badRequest('validation_failed', `Unsupported logout scope "${scope}"`);
  }
  await ctx.sql.begin(async (tx) => {
    await audit(tx, user, 'logout', null);
    if (sessionId && scope === 'local') {
      await tx`delete from auth.sessions where id = ${sessionId}`;
    } else if (sessionId && scope === 'others') {
      await tx`delete from auth.sessions where user_id = ${user.id} and id <> ${sessionId}`;
    } else {
      await tx`delete from auth.sessions where user_id = ${user.id}`;
    }
  });
  return new Response(null, { status: 204 });
}
