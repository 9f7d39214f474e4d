// GET and PUT /user: supabase/auth's user.go for email, password and user_metadata updates.
import {
  AUD,
  type AuthContext,
  checkPasswordStrength,
  clientOf,
  hashPassword,
  json,
  obj,
  passwordMatches,
  readJson,
  requireUser,
  str,
  validateEmail,
} from './common.ts';
import { badRequest, forbidden, unprocessable } from './errors.ts';
import { audit, findUserByEmail, userJsonById } from './store.ts';
import { allowedRedirect } from './mailer.ts';
import { sendEmailChange } from './verify.ts';

export async function getUser(ctx: AuthContext, req: Request): Promise<Response> {
  const { claims, user } = await requireUser(ctx, req);
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  if (aud !== AUD) {
    throw badRequest('validation_failed', "Token audience doesn't match request audience");
  }
  const found = await userJsonById(ctx.sql, user.id);
  return json(200, found!.json);
}

/** Applies GoTrue's UpdateUserMetaData merge: null deletes a key, anything else sets it. */
export function mergeMetadata(
  current: Record<string, unknown> | null,
  updates: Record<string, unknown>,
): Record<string, unknown> {
  const out = { ...(current ?? {}) };
  for (const [k, v] of Object.entries(updates)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

const emailExists = () =>
  unprocessable('email_exists', 'A user with this email address has already been registered');

/**
 * PUT /user. A new email is not applied: it waits in `email_change` until the link mailed to it
 * (and, with double_confirm_changes, the one mailed to the current address) is followed —
 * "permanent users always need to verify their email address when changing it" (user.go).
 * Phone changes are refused (no SMS here).
 */
export async function updateUser(
  ctx: AuthContext,
  req: Request,
  info: Deno.ServeHandlerInfo,
): Promise<Response> {
  const { user, sessionId } = await requireUser(ctx, req);
  ctx.limits.check('user', clientOf(req, info).ip);
  const P = 'UserUpdateParams';
  const body = await readJson(req, P);
  const emailIn = str(body, 'email', P);
  const password = str(body, 'password', P);
  const data = obj(body, 'data', P);
  const appData = obj(body, 'app_metadata', P);
  const phone = str(body, 'phone', P);

  const email = emailIn ? validateEmail(emailIn) : undefined;
  if (phone) {
    throw unprocessable('phone_provider_disabled', 'Phone changes are not supported locally');
  }
  if (password !== undefined) checkPasswordStrength(ctx, password);
  if (appData) {
    throw forbidden('not_admin', 'Updating app_metadata requires admin privileges');
  }
  const changingEmail = email !== undefined && email !== user.email;
  if (changingEmail && (await findUserByEmail(ctx.sql, email, AUD))) throw emailExists();
  let encrypted: string | undefined;
  if (password) {
    if (await passwordMatches(password, user.encrypted_password)) {
      throw unprocessable(
        'same_password',
        'New password should be different from the old password.',
      );
    }
    encrypted = await hashPassword(password);
  }

  try {
    await ctx.sql.begin(async (tx) => {
      // Lock the row so concurrent metadata merges do not lose each other's keys.
      const [current] = await tx<{ raw_user_meta_data: Record<string, unknown> | null }[]>`
        select raw_user_meta_data from auth.users where id = ${user.id} for update`;
      if (encrypted !== undefined) {
        await tx`
          update auth.users set encrypted_password = ${encrypted}, confirmation_token = '',
            confirmation_sent_at = null, recovery_token = '', recovery_sent_at = null,
            email_change_token_current = '', email_change_token_new = '',
            email_change_sent_at = null, phone_change_token = '', phone_change_sent_at = null,
            reauthentication_token = '', reauthentication_sent_at = null, updated_at = now()
          where id = ${user.id}`;
        // A new password signs the user out everywhere else (models.UpdatePassword).
        if (sessionId) {
          await tx`delete from auth.sessions where user_id = ${user.id} and id <> ${sessionId}`;
        } else {
          await tx`delete from auth.sessions where user_id = ${user.id}`;
        }
        await audit(tx, user, 'user_updated_password', null);
      }
      if (data) {
        const merged = mergeMetadata(current?.raw_user_meta_data ?? null, data);
        await tx`
          update auth.users set raw_user_meta_data = ${JSON.stringify(merged)}::text::jsonb,
            updated_at = now()
          where id = ${user.id}`;
      }
      if (changingEmail) {
        const redirectTo = allowedRedirect(
          ctx.config,
          new URL(req.url).searchParams.get('redirect_to'),
        );
        await sendEmailChange(ctx, tx, user, email, redirectTo);
      }
      await audit(tx, user, 'user_modified', null);
    });
  } catch (e) {
    if ((e as { code?: string })?.code === '23505') throw emailExists();
    throw e;
  }
  const found = await userJsonById(ctx.sql, user.id);
  return json(200, found!.json);
}
