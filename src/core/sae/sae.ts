// A sparse autoencoder on one hook point of a model, in SAELens's layout and semantics:
//   x_in  = x − b_dec (when applyBDecToInput)                      x [n, d_in]
//   pre   = x_in · W_enc + b_enc                                    W_enc [d_in, d_sae], b_enc [d_sae]
//   f     = TopK:     ReLU of the k largest of pre, 0 elsewhere
//           JumpReLU: pre where pre > threshold, 0 elsewhere        threshold [d_sae]
//   x̂     = f · W_dec + b_dec                                       W_dec [d_sae, d_in], b_dec [d_in]
// Hook names: ours are the tap names of graph/taps.ts (blocks.2.resid_post); SAELens files use
// TransformerLens's (blocks.2.hook_resid_post, blocks.2.mlp.hook_post for the MLP key).

import { badInput } from '../errors';
import { BLOCK_TAPS, type BlockTap } from '../graph/taps';

export type SaeArchitecture = 'topk' | 'jumprelu';

export interface Sae {
  architecture: SaeArchitecture;
  dIn: number;
  dSae: number;
  /** The tap this SAE reads: blocks.{l}.{resid_pre|attn_out|mlp.key|mlp_out|resid_post}. */
  hook: { layer: number; tap: BlockTap };
  /** TopK's k (absent for JumpReLU). */
  k?: number;
  applyBDecToInput: boolean;
  W_enc: Float32Array;
  W_dec: Float32Array;
  b_enc: Float32Array;
  b_dec: Float32Array;
  /** JumpReLU's threshold [d_sae]. */
  threshold?: Float32Array;
  /** cfg.json as read or written (model_name, training details…), kept for the reader. */
  cfg: Record<string, unknown>;
}

const TL_NAMES: Record<BlockTap, string> = {
  resid_pre: 'hook_resid_pre',
  attn_out: 'hook_attn_out',
  'mlp.key': 'mlp.hook_post',
  mlp_out: 'hook_mlp_out',
  resid_post: 'hook_resid_post',
};

/** Our tap name → TransformerLens's hook name (what SAELens writes as hook_name). */
export function tlHookName(layer: number, tap: BlockTap): string {
  return `blocks.${layer}.${TL_NAMES[tap]}`;
}

export function hookString(h: Sae['hook']): string {
  return `blocks.${h.layer}.${h.tap}`;
}

/** Parses a hook name in either spelling; `layers` bounds the layer. Refuses others with the list. */
export function parseHook(name: string, layers: number, field = 'hook'): { layer: number; tap: BlockTap } {
  const m = /^blocks\.(\d+)\.(.+)$/.exec(name.trim());
  const tap = m ? (BLOCK_TAPS.find((t) => t === m[2] || TL_NAMES[t] === m[2]) ?? null) : null;
  if (!m || !tap) {
    throw badInput(`Unknown hook ${JSON.stringify(name)}`, { field, hint: `Use blocks.L.{${BLOCK_TAPS.join('|')}} (or TransformerLens's blocks.L.hook_resid_post, hook_mlp_out, hook_attn_out, hook_resid_pre, mlp.hook_post).` });
  }
  const layer = Number(m[1]);
  if (layer >= layers) throw badInput(`Hook ${name} names layer ${layer}, but the model has layers 0…${layers - 1}`, { field });
  return { layer, tap };
}

/** The width of a hook point on a model. */
export function hookWidth(tap: BlockTap, dims: { dModel: number; dMlp: number }): number {
  return tap === 'mlp.key' ? dims.dMlp : dims.dModel;
}

/** x_in = x − b_dec for n rows (a new array). */
export function saeInput(sae: Sae, x: Float32Array): Float32Array {
  const out = Float32Array.from(x);
  if (!sae.applyBDecToInput) return out;
  for (let i = 0; i < out.length; i++) out[i] -= sae.b_dec[i % sae.dIn];
  return out;
}

/** pre = x_in · W_enc + b_enc for n rows, in plain loops (small n; the trainer uses encodeDense). */
export function preActivations(sae: Sae, xIn: Float32Array): Float32Array {
  const { dIn, dSae } = sae;
  const n = xIn.length / dIn;
  const pre = new Float32Array(n * dSae);
  for (let t = 0; t < n; t++) {
    const row = pre.subarray(t * dSae, (t + 1) * dSae);
    row.set(sae.b_enc);
    for (let i = 0; i < dIn; i++) {
      const xi = xIn[t * dIn + i];
      if (xi === 0) continue;
      const w = sae.W_enc.subarray(i * dSae, (i + 1) * dSae);
      for (let j = 0; j < dSae; j++) row[j] += xi * w[j];
    }
  }
  return pre;
}

/** Sparse codes of one row: the active features and their values (activation rule of the architecture). */
export interface Code {
  ids: Int32Array;
  values: Float32Array;
}

/** The activation of one row of pre-activations [d_sae]. */
export function activate(sae: Sae, pre: Float32Array): Code {
  if (sae.architecture === 'jumprelu') {
    const ids: number[] = [];
    const th = sae.threshold!;
    for (let j = 0; j < pre.length; j++) if (pre[j] > th[j] && pre[j] > 0) ids.push(j);
    return { ids: Int32Array.from(ids), values: Float32Array.from(ids, (j) => pre[j]) };
  }
  const top = topIndices(pre, sae.k!);
  const kept = top.filter((j) => pre[j] > 0);
  return { ids: Int32Array.from(kept), values: Float32Array.from(kept, (j) => pre[j]) };
}

/** Indices of the k largest values (ties: lower index first), in descending order of value. */
export function topIndices(values: Float32Array, k: number, allowed?: (j: number) => boolean): number[] {
  const ids: number[] = [];
  const vals: number[] = [];
  for (let j = 0; j < values.length; j++) {
    const v = values[j];
    if ((allowed && !allowed(j)) || Number.isNaN(v)) continue;
    if (ids.length === k) {
      if (!(v > vals[k - 1])) continue;
      ids.pop();
      vals.pop();
    }
    let p = ids.length;
    while (p > 0 && vals[p - 1] < v) p--;
    ids.splice(p, 0, j);
    vals.splice(p, 0, v);
  }
  return ids;
}

/** x̂ of one code [d_in]. */
export function decode(sae: Sae, code: Code, out = new Float32Array(sae.dIn)): Float32Array {
  out.set(sae.b_dec);
  for (let a = 0; a < code.ids.length; a++) {
    const f = code.ids[a];
    const v = code.values[a];
    const w = sae.W_dec.subarray(f * sae.dIn, (f + 1) * sae.dIn);
    for (let i = 0; i < sae.dIn; i++) out[i] += v * w[i];
  }
  return out;
}

/** Codes and reconstructions of n rows x [n, d_in], in plain loops. */
export function runSae(sae: Sae, x: Float32Array): { codes: Code[]; recon: Float32Array } {
  const n = x.length / sae.dIn;
  const pre = preActivations(sae, saeInput(sae, x));
  const recon = new Float32Array(x.length);
  const codes: Code[] = [];
  for (let t = 0; t < n; t++) {
    const c = activate(sae, pre.subarray(t * sae.dSae, (t + 1) * sae.dSae));
    codes.push(c);
    decode(sae, c, recon.subarray(t * sae.dIn, (t + 1) * sae.dIn));
  }
  return { codes, recon };
}

/** Decoder row f (the feature's direction at the hook) as a copy. */
export function featureDirection(sae: Sae, f: number): Float32Array {
  if (!Number.isInteger(f) || f < 0 || f >= sae.dSae) throw badInput(`Feature ${f} is not in 0…${sae.dSae - 1}`, { field: 'feature' });
  return sae.W_dec.slice(f * sae.dIn, (f + 1) * sae.dIn);
}
