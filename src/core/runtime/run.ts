// What the CLI and the engine ask of a model: next-token prediction, answer scoring (the
// ROME/EVOKE convention), the logit lens trace, and generation with a KV cache.

import type { LoadedModel } from './model';
import { loadOrt } from './ort';
import type { OrtTensor } from './ort';
import { badInput, cancelled } from '../errors';
import type { GenerateResult, PredictResult, ScoreResult, Token, TraceResult } from '../../protocol/model';
import { topK } from './logits';
import { scoreAnswers } from './answers';

export function tokenize(model: LoadedModel, text: string): { ids: number[]; tokens: string[] } {
  const ids = model.tokenizer.encode(text);
  return { ids, tokens: ids.map((id) => model.tokenizer.tokenText(id)) };
}

function promptIds(model: LoadedModel, prompt: string): number[] {
  const ids = model.tokenizer.encode(prompt);
  if (ids.length === 0) throw badInput('The prompt is empty after tokenisation', { field: 'prompt', hint: 'Give a non-empty prompt.' });
  return ids;
}

export async function predict(model: LoadedModel, prompt: string, k = 10): Promise<PredictResult> {
  const ids = promptIds(model, prompt);
  const out = await model.run({ logits: 'last' }, model.makeBatch([ids]));
  const logits = out.logits.data as Float32Array;
  const width = out.logits.dims[2];
  const next = topK(logits, 0, Math.min(width, model.dims.vocab), k).map((r) => ({ id: r.id, text: model.tokenizer.tokenText(r.id), logprob: r.logprob }));
  refuseNonFinite(model, next.map((n) => n.logprob));
  return { tokens: ids.map((id) => ({ id, text: model.tokenizer.tokenText(id) })), next };
}

/** Log-probabilities that are NaN or ±∞ are never printed: the edits applied broke the model's numbers. */
function refuseNonFinite(model: LoadedModel, logprobs: number[]): void {
  if (logprobs.every(Number.isFinite)) return;
  throw badInput(`The model computes non-finite probabilities${model.edits.size ? ' with the edits applied' : ''}`, { field: 'edits', hint: 'An edit is too large for this model: lower its strength, or revert it.' });
}

/**
 * Scores answers after a prompt: the prompt's ids followed by the separately tokenised ids of
 * " " + answer (no special tokens); meanLogprob is the mean over the answer's tokens.
 */
export async function score(model: LoadedModel, prompt: string, answers: string[]): Promise<ScoreResult> {
  if (answers.length === 0) throw badInput('No answer to score', { field: 'answer' });
  promptIds(model, prompt);
  const scored = await scoreAnswers(model, answers.map((answer) => ({ prompt, answer })));
  refuseNonFinite(model, scored.map((s) => s.meanLogprob));
  return {
    answers: scored.map((s, i) => ({
      text: answers[i],
      tokens: s.answerIds.map((id) => ({ id, text: model.tokenizer.tokenText(id) })),
      tokenLogprobs: s.tokenLogprobs,
      meanLogprob: s.meanLogprob,
      prob: Math.exp(s.meanLogprob),
    })),
  };
}

/** Logit lens (final norm + unembedding on blocks.{l}.resid_post) and norms, every layer and position. */
export async function trace(model: LoadedModel, prompt: string, k = 5, targetId?: number): Promise<TraceResult> {
  const ids = promptIds(model, prompt);
  if (targetId !== undefined && !(Number.isInteger(targetId) && targetId >= 0 && targetId < model.dims.vocab)) {
    throw badInput(`Target token id must be 0…${model.dims.vocab - 1}, got ${targetId}`, { field: 'targetId' });
  }
  const out = await model.run({ logits: 'none', lens: targetId === undefined ? { k } : { k, target: targetId } }, model.makeBatch([ids]));
  const text = (id: number) => model.tokenizer.tokenText(id);
  return {
    tokens: ids.map((id) => ({ id, text: text(id) })),
    ...(targetId === undefined ? {} : { target: { id: targetId, text: text(targetId) } }),
    layers: Array.from({ length: model.dims.layers }, (_, l) => {
      const lp = out[`blocks.${l}.lens.logprobs`].data as Float32Array;
      const top = out[`blocks.${l}.lens.ids`].data as BigInt64Array;
      const kk = out[`blocks.${l}.lens.ids`].dims[2];
      const norms = (t: string) => Array.from(out[`blocks.${l}.${t}.norm`].data as Float32Array);
      return {
        layer: l,
        residNorm: norms('resid_post'),
        attnNorm: norms('attn_out'),
        mlpNorm: norms('mlp_out'),
        ...(targetId === undefined ? {} : { targetProb: Array.from(out[`blocks.${l}.lens.target`].data as Float32Array, Math.exp) }),
        lens: ids.map((_, pos) => {
          const id = Number(top[pos * kk]);
          return { id, text: text(id), prob: Math.exp(lp[pos * kk]) };
        }),
        topk: ids.map((_, pos) => Array.from({ length: kk }, (__, j) => {
          const id = Number(top[pos * kk + j]);
          return { id, text: text(id), prob: Math.exp(lp[pos * kk + j]) };
        })),
      };
    }),
  };
}

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  topK?: number;
  seed?: number;
  /** Extra stop ids besides the model's EOS. */
  stop?: number[];
  onToken?: (t: Token) => void;
  isCancelled?: () => boolean;
  /** Adds `vector` [d_model] to resid_post of `layer` at every position (steering). */
  steer?: { layer: number; vector: Float32Array };
}

/** The sampling temperature's upper bound (the CLI's --temperature and the engine's model/generate check it). */
export const MAX_TEMPERATURE = 100;

export function generate(model: LoadedModel, prompt: string, opts: GenerateOptions): Promise<GenerateResult> {
  return generateIds(model, promptIds(model, prompt), opts);
}

/** Generation from token ids: one prefill run, then one run per token on the KV cache. */
export async function generateIds(model: LoadedModel, ids: number[], opts: GenerateOptions): Promise<GenerateResult> {
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) throw badInput(`max tokens must be ≥ 1, got ${opts.maxTokens}`, { field: 'maxTokens' });
  const budget = Math.min(opts.maxTokens, model.dims.maxPositions - ids.length);
  if (budget < 1) throw badInput(`The prompt (${ids.length} tokens) fills the model's context (${model.dims.maxPositions})`, { field: 'prompt' });
  const { layers } = model.dims;
  const stop = new Set([...model.dims.eosIds, ...(opts.stop ?? [])]);
  const rand = mulberry32(opts.seed ?? 0);
  let past: Record<string, OrtTensor> = {};
  const generated: number[] = [];
  let input = ids;
  let stopped: GenerateResult['stopped'] = 'budget';
  const t0 = performance.now();
  for (let step = 0; step < budget; step++) {
    if (opts.isCancelled?.()) throw cancelled('Generation cancelled.');
    const start = ids.length + generated.length - input.length;
    const batch = model.makeBatch([input]);
    const total = start + input.length;
    const mask = new BigInt64Array(total).fill(1n);
    const positions = BigInt64Array.from(input, (_, i) => BigInt(start + i));
    const steer: Record<string, OrtTensor> = opts.steer ? { steer: new (loadOrt().Tensor)('float32', opts.steer.vector, [opts.steer.vector.length]) } : {};
    const out = await model.run({ logits: 'last', kvCache: step === 0 ? 'prefill' : 'decode', ...(opts.steer ? { steer: opts.steer.layer } : {}) }, { ...batch, mask, positions }, { ...past, ...steer });
    const width = out.logits.dims[2];
    const next = pick(out.logits.data as Float32Array, Math.min(width, model.dims.vocab), opts, rand);
    past = {};
    for (let l = 0; l < layers; l++) {
      past[`past.${l}.key`] = out[`present.${l}.key`];
      past[`past.${l}.value`] = out[`present.${l}.value`];
    }
    generated.push(next);
    opts.onToken?.({ id: next, text: model.tokenizer.tokenText(next) });
    if (stop.has(next)) {
      stopped = 'eos';
      break;
    }
    input = [next];
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    prompt: ids.map((id) => ({ id, text: model.tokenizer.tokenText(id) })),
    tokens: generated.map((id) => ({ id, text: model.tokenizer.tokenText(id) })),
    text: model.tokenizer.decode(generated),
    stopped,
    tokensPerSecond: generated.length / seconds,
  };
}

function pick(logits: Float32Array, vocab: number, opts: GenerateOptions, rand: () => number): number {
  const temperature = opts.temperature ?? 0;
  if (temperature <= 0) return topK(logits, 0, vocab, 1)[0].id;
  const candidates = topK(logits, 0, vocab, Math.min(opts.topK ?? vocab, vocab));
  const weights = candidates.map((c) => Math.exp((c.logprob - candidates[0].logprob) / temperature));
  let r = rand() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i];
    if (r <= 0) return candidates[i].id;
  }
  return candidates[candidates.length - 1].id;
}

/** Small seeded PRNG for reproducible sampling (also the benchmarks' sampler). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
