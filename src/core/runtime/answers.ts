// Per-token log-probabilities of answers after prompts, batched: the primitive behind
// `mechedit score` and every EVOKE / ORT metric. Convention (ROME / EVOKE): the prompt's ids
// followed by the separately tokenised ids of " " + answer, without special tokens (so no BOS
// inside the sequence for Llama tokenizers).

import type { LoadedModel } from './model';
import { loadOrt } from './ort';
import { badInput, cancelled } from '../errors';

export interface AnswerPair {
  prompt: string;
  answer: string;
}

export interface ScoreOptions {
  /** Upper bound on batch × sequence tokens per run (memory); default 4096. */
  tokenBudget?: number;
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

export interface AnswerScore {
  promptIds: number[];
  answerIds: number[];
  /** log P of each answer token. */
  tokenLogprobs: number[];
  /** Mean of tokenLogprobs: exp(meanLogprob) is the length-normalised probability. */
  meanLogprob: number;
  /** Per answer token: was it the most likely token (teacher-forced)? */
  tokenTop: boolean[];
}

/** Tokens a pair takes under the convention above (prompt + " " + answer): it fits when ≤ the context. */
export function pairLength(model: LoadedModel, prompt: string, answer: string): number {
  return model.tokenizer.encode(prompt).length + model.tokenizer.encode(` ${answer}`, false).length;
}

export async function scoreAnswers(model: LoadedModel, pairs: AnswerPair[], opts: ScoreOptions = {}): Promise<AnswerScore[]> {
  const tokenizer = model.tokenizer;
  const promptCache = new Map<string, number[]>();
  const answerCache = new Map<string, number[]>();
  const seqs = pairs.map(({ prompt, answer }, i) => {
    let p = promptCache.get(prompt);
    if (!p) promptCache.set(prompt, (p = tokenizer.encode(prompt)));
    let a = answerCache.get(answer);
    if (!a) answerCache.set(answer, (a = tokenizer.encode(` ${answer}`, false)));
    if (p.length === 0) throw badInput(`Prompt ${i + 1} is empty after tokenisation`, { field: 'prompt' });
    if (a.length === 0) throw badInput(`Answer ${i + 1} is empty after tokenisation`, { field: 'answer' });
    return { index: i, p, a, length: p.length + a.length };
  });
  // Similar lengths together: less padding.
  const order = [...seqs].sort((x, y) => x.length - y.length);
  const budget = opts.tokenBudget ?? 4096;
  const results = new Array<AnswerScore>(pairs.length);
  const ort = loadOrt();
  let done = 0;
  for (let start = 0; start < order.length;) {
    if (opts.isCancelled?.()) throw cancelled();
    let end = start + 1;
    while (end < order.length && (end - start + 1) * order[end].length <= budget) end++;
    const group = order.slice(start, end);
    const batch = model.makeBatch(group.map((g) => [...g.p, ...g.a]));
    const targets = new BigInt64Array(batch.batch * batch.seq);
    group.forEach((g, b) => {
      const ids = [...g.p, ...g.a];
      for (let i = 0; i + 1 < ids.length; i++) targets[b * batch.seq + i] = BigInt(ids[i + 1]);
    });
    const out = await model.run({ logits: 'targets' }, batch, { target_ids: new ort.Tensor('int64', targets, [batch.batch, batch.seq]) });
    const lp = out.target_logprobs.data as Float32Array;
    const top = out.top_logprobs.data as Float32Array;
    group.forEach((g, b) => {
      // The answer's token j is predicted at position len(prompt) + j − 1.
      const at = (j: number) => b * batch.seq + g.p.length + j - 1;
      const tokenLogprobs = g.a.map((_, j) => lp[at(j)]);
      const tokenTop = g.a.map((_, j) => lp[at(j)] >= top[at(j)]);
      results[g.index] = { promptIds: g.p, answerIds: g.a, tokenLogprobs, meanLogprob: tokenLogprobs.reduce((x, y) => x + y, 0) / g.a.length, tokenTop };
    });
    done += group.length;
    opts.onProgress?.(done, pairs.length);
    start = end;
  }
  return results;
}
