// Anthropic through @anthropic-ai/sdk: structured output as a tool whose input_schema is the
// answer's shape, forced with tool_choice so the model cannot answer in free text.
import Anthropic from '@anthropic-ai/sdk';
import {
  AiError,
  type AiProvider,
  classifyAiError,
  type ProviderOptions,
  type StructuredRequest,
  type StructuredResult,
} from './provider.ts';

/** A current, fast and cheap Claude model: auto-replies are short and latency-bound. */
export const ANTHROPIC_DEFAULT_MODEL = 'claude-haiku-4-5';

export function anthropicProvider(opts: ProviderOptions): AiProvider {
  if (!opts.apiKey) throw new AiError('not_configured', 'ANTHROPIC_API_KEY is not set');
  const client = new Anthropic({
    apiKey: opts.apiKey,
    ...(opts.baseUrl ? { baseURL: opts.baseUrl } : {}),
    timeout: opts.timeoutMs,
    maxRetries: opts.maxRetries,
  });
  return {
    name: 'anthropic',
    async generate(req: StructuredRequest): Promise<StructuredResult> {
      let res: Anthropic.Message;
      try {
        res = await client.messages.create({
          model: req.model,
          max_tokens: req.maxTokens,
          system: req.system,
          messages: [{ role: 'user', content: req.user }],
          tools: [{
            name: req.name,
            description: req.description,
            input_schema: {
              type: 'object',
              properties: req.schema.properties,
              required: req.schema.required,
            },
          }],
          tool_choice: { type: 'tool', name: req.name },
        });
      } catch (e) {
        throw classifyAiError(e, 'anthropic');
      }
      const block = res.content.find((b) => b.type === 'tool_use' && b.name === req.name);
      return {
        data: block && block.type === 'tool_use' ? block.input : null,
        model: res.model ?? req.model,
        inputTokens: res.usage?.input_tokens ?? null,
        outputTokens: res.usage?.output_tokens ?? null,
      };
    },
  };
}
