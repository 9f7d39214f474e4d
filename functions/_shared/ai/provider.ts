// One small interface in front of the AI providers: "answer this prompt with an object of this
// shape". Auto-replies and template enhancement only ever need structured output, so that is all
// a provider offers; each adapter maps it to its API's native mechanism (Anthropic: a forced tool
// call; Gemini: a JSON response schema) and callers validate the object with zod.

export type ProviderName = 'anthropic' | 'gemini';

/** A flat object schema: string properties, some of them enumerations. */
export interface ObjectSchema {
  properties: Record<string, { type: 'string'; description: string; enum?: string[] }>;
  required: string[];
}

export interface StructuredRequest {
  model: string;
  /** Our instructions; never contains customer text. */
  system: string;
  /** The data to work on (customer text delimited inside it). */
  user: string;
  schema: ObjectSchema;
  /** Names the structured answer (Anthropic's tool name). */
  name: string;
  description: string;
  maxTokens: number;
}

export interface StructuredResult {
  /** The object the model returned, unvalidated. */
  data: unknown;
  model: string;
  inputTokens: number | null;
  outputTokens: number | null;
}

export interface AiProvider {
  readonly name: ProviderName;
  generate(req: StructuredRequest): Promise<StructuredResult>;
}

export type AiErrorCode =
  | 'timeout'
  | 'rate_limited'
  | 'provider_error'
  | 'invalid_output'
  | 'not_configured';

/** Every provider failure, classified; `message` is safe to store (no secrets). */
export class AiError extends Error {
  constructor(public code: AiErrorCode, message: string, public status?: number) {
    super(message);
    this.name = 'AiError';
  }
}

/** Options every adapter takes: a customer is waiting, so timeouts are short and retries few. */
export interface ProviderOptions {
  apiKey?: string;
  baseUrl?: string;
  timeoutMs: number;
  maxRetries: number;
}

/** Maps an SDK error (either SDK) to an AiError by status code and error class. */
export function classifyAiError(e: unknown, provider: ProviderName): AiError {
  if (e instanceof AiError) return e;
  const err = e as { status?: unknown; name?: string; message?: string };
  const status = typeof err.status === 'number' ? err.status : undefined;
  const text = `${err.name ?? ''} ${err.message ?? ''}`;
  const short = (err.message ?? String(e)).replace(/\s+/g, ' ').slice(0, 300);
  if (status === 429) return new AiError('rate_limited', `${provider} 429: ${short}`, 429);
  if (status === 408 || /timeout|timed out|aborted|AbortError/i.test(text)) {
    return new AiError('timeout', `${provider} timeout: ${short}`, status);
  }
  return new AiError(
    'provider_error',
    `${provider}${status ? ` ${status}` : ''}: ${short}`,
    status,
  );
}
