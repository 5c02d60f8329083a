// CounterFact's generation entropy (fluency), as ROME / MEMIT's evaluation code computes it
// (kmeng01/memit experiments/py/eval_utils_counterfact.py test_generation, n_gram_entropy;
// util/generate.py generate_fast):
//   text     per generation prompt, top-k (k = 5) sampling until the prompt and continuation are
//            MAX_LENGTH tokens; the text is the prompt plus the continuation (the reference decodes
//            the whole sequence), NFKD-normalised, "\n\n" → " ";
//   entropy  per text, for n = 2, 3: H_n = −Σ f log2 f over the frequencies f of its word n-grams;
//            the text's entropy = mean(2/3·H_2, 4/3·H_3); a case's = the mean over its texts.
// Summary: the mean over cases × 100 (summarize.py scales it like the other metrics).
// Deviations (named): words are split by WORD_PATTERN (runs of letters / digits, and each other
// non-space character) where the reference uses NLTK's word_tokenize (Treebank rules: "don't" →
// "do", "n't"); generation stops at the model's end-of-text token where the reference keeps
// sampling and deletes the token's text; the sampler is MechEdit's seeded one (runtime/run.ts).

import type { LoadedModel } from '../runtime/model';
import { generate } from '../runtime/run';

export const MAX_LENGTH = 100;
export const TOP_K = 5;
export const WORD_PATTERN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

function entropyOf(words: string[], n: number): number {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= words.length; i++) {
    const key = words.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  let h = 0;
  for (const c of counts.values()) h -= (c / total) * Math.log2(c / total);
  return h;
}

/** One text's n-gram entropy: mean of 2/3·H_2 and 4/3·H_3 over its words (0 for texts under 3 words' n-grams). */
export function ngramEntropy(text: string): number {
  const words = text.match(WORD_PATTERN) ?? [];
  return ((2 / 3) * entropyOf(words, 2) + (4 / 3) * entropyOf(words, 3)) / 2;
}

/** The sampled text of one generation prompt (prompt + continuation), seeded. */
export async function sampleText(model: LoadedModel, prompt: string, seed: number, isCancelled?: () => boolean): Promise<string> {
  const budget = Math.min(MAX_LENGTH, model.dims.maxPositions) - model.tokenizer.encode(prompt).length;
  const text = budget < 1 ? prompt : prompt + (await generate(model, prompt, { maxTokens: budget, temperature: 1, topK: TOP_K, seed, isCancelled })).text;
  return text.normalize('NFKD').replaceAll('\n\n', ' ');
}

/** A case's generation entropy: the mean over its prompts' sampled texts (seed = caseId · 1000 + prompt index). */
export async function caseEntropy(model: LoadedModel, caseId: number, prompts: string[], isCancelled?: () => boolean): Promise<number | undefined> {
  if (!prompts.length) return undefined;
  let sum = 0;
  for (const [k, p] of prompts.entries()) sum += ngramEntropy(await sampleText(model, p, caseId * 1000 + k, isCancelled));
  return sum / prompts.length;
}
