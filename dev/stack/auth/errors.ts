// Error responses in supabase/auth's two shapes (internal/api/errors.go): requests that send
// `X-Supabase-Api-Version: 2024-01-01` or later (auth-js always does) get `{code, message}` and the
// version echoed back; older clients get `{code: <status>, error_code, msg}`. Both carry the
// `x-sb-error-code` header. Weak-password errors add `weak_password: {reasons}`.

export class AuthError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, msg: string) => new AuthError(400, code, msg);
export const unprocessable = (code: string, msg: string) => new AuthError(422, code, msg);
export const forbidden = (code: string, msg: string) => new AuthError(403, code, msg);

export const INVALID_LOGIN = 'Invalid login credentials';
export const invalidCredentials = () => badRequest('invalid_credentials', INVALID_LOGIN);

export class WeakPasswordError extends AuthError {
  constructor(message: string, readonly reasons: string[]) {
    super(422, 'weak_password', message);
  }
}

const API_VERSION_2024 = '2024-01-01';

/** The API version a request asked for, as GoTrue's DetermineClosestAPIVersion does. */
export function requestApiVersion(req: Request): '2024-01-01' | null {
  const raw = req.headers.get('x-supabase-api-version');
  if (!raw || !/^\d{4}-\d{2}-\d{2}$/.test(raw)) return null;
  return raw >= API_VERSION_2024 ? API_VERSION_2024 : null;
}

export function errorResponse(req: Request, err: AuthError): Response {
  const headers = new Headers({ 'content-type': 'application/json' });
  const version = requestApiVersion(req);
  if (version) headers.set('x-supabase-api-version', version);
  headers.set('x-sb-error-code', err.errorCode);
  let body: Record<string, unknown>;
  if (err instanceof WeakPasswordError) {
    body = version
      ? { code: err.errorCode, message: err.message, weak_password: { reasons: err.reasons } }
      : {
        code: err.status,
        error_code: err.errorCode,
        msg: err.message,
        weak_password: { reasons: err.reasons },
      };
  } else {
    body = version
      ? { code: err.errorCode, message: err.message, ...err.extra }
      : { code: err.status, error_code: err.errorCode, msg: err.message, ...err.extra };
  }
  return new Response(JSON.stringify(body), { status: err.status, headers });
}

/** What GoTrue answers for an unhandled error: no stack trace leaves the server. */
export function unexpectedFailure(): AuthError {
  return new AuthError(
    500,
    'unexpected_failure',
    'Unexpected failure, please check server logs for more information',
  );
}
