// Features in use: the top features at each token of a prompt, steering with a feature in
// generation (α·d_f added at the hook), and "which features changed" after an edit (the mean
// activation of every feature on the edit's prompts, before against after).

import type { LoadedModel } from '../runtime/model';
import type { EditStack } from '../edits/stack';
import type { Edit } from '../edits/editFile';
import { badInput } from '../errors';
import { readTensorF32 } from '../checkpoint/safetensors';
import { generate } from '../runtime/run';
import type { GenerateResult } from '../../protocol/model';
import type { FeatureTokensResult } from '../../protocol/features';
import { hookActivations } from './activations';
import { activate, featureDirection, hookString, preActivations, saeInput, type Sae } from './sae';

/** Codes of every position of one prompt: [{ids, values}] per token, with the tokens. */
export async function promptCodes(model: LoadedModel, sae: Sae, prompt: string) {
  const ids = model.tokenizer.encode(prompt);
  if (ids.length === 0) throw badInput('The prompt is empty after tokenisation', { field: 'prompt' });
  const { x } = await hookActivations(model, sae.hook, [ids]);
  const pre = preActivations(sae, saeInput(sae, x));
  const codes = ids.map((_, t) => activate(sae, pre.subarray(t * sae.dSae, (t + 1) * sae.dSae)));
  return { ids, tokens: ids.map((id) => model.tokenizer.tokenText(id)), codes };
}

/** The `top` most active features at each token of `prompt`. */
export async function topFeaturesAtTokens(model: LoadedModel, sae: Sae, prompt: string, top = 5): Promise<FeatureTokensResult> {
  const { tokens, codes } = await promptCodes(model, sae, prompt);
  return {
    hook: hookString(sae.hook), dSae: sae.dSae, architecture: sae.architecture,
    tokens: tokens.map((token, t) => {
      const c = codes[t];
      const order = [...c.ids.keys()].sort((a, b) => c.values[b] - c.values[a]).slice(0, top);
      return { token, features: order.map((a) => ({ feature: c.ids[a], activation: c.values[a] })) };
    }),
  };
}

/**
 * The residual-stream vector and layer that add α·d_f at the hook: resid_post and mlp_out of
 * block l are steered at resid_post l (the MLP's output is the last thing added in the block),
 * resid_pre of block l at resid_post l − 1, the MLP key through the MLP's output projection
 * (α·W_down d_f). attn_out (the MLP of the block reads it) and resid_pre 0 are refused.
 */
export function steeringVector(model: LoadedModel, sae: Sae, feature: number, alpha: number): { layer: number; vector: Float32Array } {
  const d = featureDirection(sae, feature);
  const { layer, tap } = sae.hook;
  const scaled = Float32Array.from(d, (v) => alpha * v);
  if (tap === 'resid_post' || tap === 'mlp_out') return { layer, vector: scaled };
  if (tap === 'resid_pre' && layer > 0) return { layer: layer - 1, vector: scaled };
  if (tap === 'mlp.key') {
    const w = model.plan.blocks[layer].down;
    const W = readTensorF32(w.w);
    const inOut = model.plan.spec.linear === 'in_out';
    const v = new Float32Array(w.out);
    for (let o = 0; o < w.out; o++) {
      let s = 0;
      for (let i = 0; i < w.in; i++) s += (inOut ? W[i * w.out + o] : W[o * w.in + i]) * scaled[i];
      v[o] = s;
    }
    return { layer, vector: v };
  }
  throw badInput(`Steering at ${hookString(sae.hook)} is not supported`, { field: 'hook', hint: 'Steer with SAEs on resid_post, resid_pre (block ≥ 1), mlp_out or the MLP key.' });
}

/** Greedy generation with α·d_f added at the hook at every position, and without, for comparison. */
export async function steerWithFeature(model: LoadedModel, sae: Sae, feature: number, alpha: number, prompt: string, maxTokens = 20): Promise<{ feature: number; alpha: number; steered: GenerateResult; plain: GenerateResult }> {
  const steer = steeringVector(model, sae, feature, alpha);
  const plain = await generate(model, prompt, { maxTokens });
  const steered = await generate(model, prompt, { maxTokens, steer });
  return { feature, alpha, steered, plain };
}

/** The prompts an edit file records: every {prompt, subject?} in its request (with {} filled), and `extra`. */
export function editPrompts(edit: Edit, extra: string[] = []): string[] {
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.prompt === 'string') found.push(typeof o.subject === 'string' ? o.prompt.replace('{}', o.subject) : o.prompt);
    Object.values(o).forEach(walk);
  };
  walk(edit.json.request);
  return [...new Set([...found, ...extra])];
}

export interface FeatureChange {
  feature: number;
  before: number;
  after: number;
  delta: number;
}

/** Mean activation of every feature over all tokens of `prompts` on `model`. */
async function meanActivations(model: LoadedModel, sae: Sae, prompts: string[]): Promise<Float64Array> {
  const rows = prompts.map((p) => model.tokenizer.encode(p));
  const { x } = await hookActivations(model, sae.hook, rows);
  const pre = preActivations(sae, saeInput(sae, x));
  const n = x.length / sae.dIn;
  const mean = new Float64Array(sae.dSae);
  for (let t = 0; t < n; t++) {
    const c = activate(sae, pre.subarray(t * sae.dSae, (t + 1) * sae.dSae));
    for (let a = 0; a < c.ids.length; a++) mean[c.ids[a]] += c.values[a] / n;
  }
  return mean;
}

/**
 * "Which features changed": the features whose mean activation on the edit's prompts moved most
 * (|after − before|), the edit applied on a fork of `stack` (the stack itself is not changed).
 */
export async function featuresChanged(stack: EditStack, sae: Sae, edit: Edit, top = 10, extraPrompts: string[] = []): Promise<{ edit: string; prompts: string[]; changes: FeatureChange[] }> {
  const prompts = editPrompts(edit, extraPrompts);
  if (prompts.length === 0) throw badInput('The edit records no prompts', { file: edit.file, field: 'request', hint: 'Give prompts to read the features on.' });
  const fork = stack.fork();
  const before = await meanActivations(fork.model, sae, prompts);
  fork.apply(edit);
  const after = await meanActivations(fork.model, sae, prompts);
  const changes = Array.from(before, (b, f) => ({ feature: f, before: b, after: after[f], delta: after[f] - b }))
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.feature - b.feature)
    .slice(0, top);
  return { edit: edit.json.label, prompts, changes };
}
