// Loopback fake of the Gemini API's generateContent (POST /v1beta/models/{model}:generateContent)
// in the wire format @google/genai parses: candidates[].content.parts[].text (structured output
// is JSON in that text), finishReason, usageMetadata; errors as {error: {code, message, status}}.
// Recording and scripting as the Anthropic fake (same server, dev/tests/fakes/anthropic.ts).
import { type AiFakeOptions, approxTokens, type FakeAi, startAiFake } from './anthropic.ts';

const PATH = /^\/v1beta\/models\/([^/:]+):generateContent$/;

const googleStatus = (status: number) =>
  ({
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    429: 'RESOURCE_EXHAUSTED',
    503: 'UNAVAILABLE',
    504: 'DEADLINE_EXCEEDED',
  })[status] ?? 'INTERNAL';

/** The fake Gemini API. `url` goes into GEMINI_BASE_URL. */
export function startFakeGemini(opts: AiFakeOptions = {}): FakeAi {
  return startAiFake('[fake-gemini]', {
    accepts: (method, path) => method === 'POST' && PATH.test(path),
    ok(req, reply) {
      const model = PATH.exec(req.path.split('?')[0])?.[1] ?? 'unknown';
      const prompt = JSON.stringify(req.body?.systemInstruction ?? '') +
        JSON.stringify(req.body?.contents ?? []);
      const text = 'json' in reply ? JSON.stringify(reply.json) : reply.text;
      const input = 'inputTokens' in reply && reply.inputTokens !== undefined
        ? reply.inputTokens
        : approxTokens(prompt);
      const output = 'outputTokens' in reply && reply.outputTokens !== undefined
        ? reply.outputTokens
        : approxTokens(text);
      return {
        status: 200,
        body: {
          candidates: [{
            content: { parts: [{ text }], role: 'model' },
            finishReason: 'STOP',
            index: 0,
          }],
          usageMetadata: {
            promptTokenCount: input,
            candidatesTokenCount: output,
            totalTokenCount: input + output,
          },
          modelVersion: model,
          responseId: crypto.randomUUID().replaceAll('-', '').slice(0, 22),
        },
      };
    },
    error: (status, message) => ({
      error: { code: status, message, status: googleStatus(status) },
    }),
  }, opts);
}
