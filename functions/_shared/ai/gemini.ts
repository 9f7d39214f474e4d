// Gemini through @google/genai (the maintained successor of the deprecated
// @google/generative-ai): structured output with responseMimeType application/json and a
// responseSchema, so the reply text is a JSON object of the answer's shape.
import { GoogleGenAI, type Schema, Type } from '@google/genai';
import {
  AiError,
  type AiProvider,
  classifyAiError,
  type ObjectSchema,
  type ProviderOptions,
  type StructuredRequest,
  type StructuredResult,
} from './provider.ts';

/** A current, fast and cheap Gemini model. */
export const GEMINI_DEFAULT_MODEL = 'gemini-2.5-flash';

function toGeminiSchema(s: ObjectSchema): Schema {
  return {
    type: Type.OBJECT,
    properties: Object.fromEntries(
      Object.entries(s.properties).map(([k, p]) => [k, {
        type: Type.STRING,
        description: p.description,
        ...(p.enum ? { enum: p.enum, format: 'enum' } : {}),
      }]),
    ),
    required: s.required,
    propertyOrdering: Object.keys(s.properties),
  };
}

export function geminiProvider(opts: ProviderOptions): AiProvider {
  if (!opts.apiKey) throw new AiError('not_configured', 'GEMINI_API_KEY is not set');
  const ai = new GoogleGenAI({
    apiKey: opts.apiKey,
    httpOptions: {
      ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      // The Gemini API's public version (structured output and thinkingConfig live there).
      apiVersion: 'v1beta',
      timeout: opts.timeoutMs,
      // attempts counts the first request too.
      retryOptions: { attempts: opts.maxRetries + 1, initialDelay: 0.2, maxDelay: 1 },
    },
  });
  return {
    name: 'gemini',
    async generate(req: StructuredRequest): Promise<StructuredResult> {
      let text: string | undefined;
      let res;
      try {
        res = await ai.models.generateContent({
          model: req.model,
          contents: [{ role: 'user', parts: [{ text: req.user }] }],
          config: {
            systemInstruction: req.system,
            maxOutputTokens: req.maxTokens,
            responseMimeType: 'application/json',
            responseSchema: toGeminiSchema(req.schema),
            // Replies need no long reasoning; thinking would cost the waiting customer seconds.
            thinkingConfig: { thinkingBudget: 0 },
          },
        });
        text = res.text;
      } catch (e) {
        throw classifyAiError(e, 'gemini');
      }
      let data: unknown = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch {
        data = null; // not JSON: the caller's validation turns it into a hand-off
      }
      return {
        data,
        model: res.modelVersion ?? req.model,
        inputTokens: res.usageMetadata?.promptTokenCount ?? null,
        outputTokens: res.usageMetadata?.candidatesTokenCount ?? null,
      };
    },
  };
}
