// The model's own answer to a traced prompt, in full: causal tracing measures one token (the
// answer's first), which alone can read as a fragment (" Qu"); the greedy continuation beside it
// (" Quorvane.") says what that token starts.

import type { LoadedModel } from '../runtime/model';
import { generateIds } from '../runtime/run';
import type { CausalTraceRun } from '../../protocol/model';

/** The most tokens of the greedy answer shown beside a trace. */
export const TRACE_ANSWER_MAX_TOKENS = 8;

/**
 * Greedy decoding (temperature 0) of `prompt` on `model` (a view: with the edits it feeds), up to
 * `maxTokens` tokens, ending after the first token that holds a newline or a period, or at the end
 * of text. Empty when the prompt already fills the model's context.
 */
export async function greedyAnswer(model: LoadedModel, prompt: string, maxTokens = TRACE_ANSWER_MAX_TOKENS): Promise<CausalTraceRun['greedy']> {
  const ids = model.tokenizer.encode(prompt);
  if (ids.length >= model.dims.maxPositions) return { text: '', tokens: [] };
  const g = await generateIds(model, ids, { maxTokens, temperature: 0 });
  const end = g.tokens.findIndex((t) => /[\n.]/.test(t.text));
  const tokens = end >= 0 ? g.tokens.slice(0, end + 1) : g.tokens;
  return { text: model.tokenizer.decode(tokens.map((t) => t.id)), tokens };
}
