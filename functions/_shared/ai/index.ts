// The provider for a tenant's setting, built once per configuration.
import { ANTHROPIC_DEFAULT_MODEL, anthropicProvider } from './anthropic.ts';
import { GEMINI_DEFAULT_MODEL, geminiProvider } from './gemini.ts';
import type { AiProvider, ProviderName, ProviderOptions } from './provider.ts';

export * from './provider.ts';
export { ANTHROPIC_DEFAULT_MODEL, GEMINI_DEFAULT_MODEL };

export interface AiConfig {
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
  GEMINI_API_KEY?: string;
  GEMINI_BASE_URL?: string;
  AI_TIMEOUT_MS?: number;
  AI_MAX_RETRIES?: number;
}

/** 8 s and one retry: the customer waits, and a hand-off beats a late answer. */
export const AI_DEFAULT_TIMEOUT_MS = 8_000;
export const AI_DEFAULT_MAX_RETRIES = 1;

export const defaultModel = (p: ProviderName) =>
  p === 'gemini' ? GEMINI_DEFAULT_MODEL : ANTHROPIC_DEFAULT_MODEL;

/** The model a tenant asked for, else the provider's default. */
export const modelFor = (p: ProviderName, configured: string | null | undefined) =>
  configured?.trim() || defaultModel(p);

export function providers(cfg: AiConfig) {
  const cache = new Map<ProviderName, AiProvider>();
  const base = (): Omit<ProviderOptions, 'apiKey' | 'baseUrl'> => ({
    timeoutMs: cfg.AI_TIMEOUT_MS ?? AI_DEFAULT_TIMEOUT_MS,
    maxRetries: cfg.AI_MAX_RETRIES ?? AI_DEFAULT_MAX_RETRIES,
  });
  /** Throws AiError('not_configured') when the provider's key is missing. */
  return (name: ProviderName): AiProvider => {
    let p = cache.get(name);
    if (!p) {
      p = name === 'gemini'
        ? geminiProvider({ ...base(), apiKey: cfg.GEMINI_API_KEY, baseUrl: cfg.GEMINI_BASE_URL })
        : anthropicProvider({
          ...base(),
          apiKey: cfg.ANTHROPIC_API_KEY,
          baseUrl: cfg.ANTHROPIC_BASE_URL,
        });
      cache.set(name, p);
    }
    return p;
  };
}
