// The loss heads of the training graph (forward.ts, options.train) and their gradients with
// respect to the edit inputs U [r, d_out] and V [r, d_in] of the trained modules (LoRA factors:
// y = W x + (x Vᵀ) U). One graph serves every token-level objective (GA, GradDiff, NPO, RT, DPO):
// the objective is in the feeds, not in the graph.
//
// Token head (B rows, S positions, right-padded):
//   inputs  target_ids [B, S] int64, token_weights [B, S], seq_mask [B, S], seq_ref [B],
//           pref_matrix [P, B], pref_coef [P]
//   lp[b,s] = log_softmax(logits[b,s])[target_ids[b,s]]          → output token_logprobs [B, S]
//             (computed only where token_weights or seq_mask is non-zero; 0 elsewhere)
//   seq[b]  = Σ_s seq_mask[b,s] · lp[b,s]                          → output seq_logprobs [B]
//   z[p]    = Σ_b pref_matrix[p,b] · (seq[b] − seq_ref[b])
//   loss    = Σ token_weights · lp + Σ_p pref_coef[p] · softplus(z[p])
//   also top_logprobs [B, S] = max_v log_softmax there (lp == top: the target is the argmax).
// Activation head (RMU, at block L; the graph stops after it):
//   inputs  rmu_target [B, S, d_model], rmu_weights [B, S]
//   loss    = Σ_{b,s} rmu_weights[b,s] · ‖resid_post_L[b,s] − rmu_target[b,s]‖²
// Outputs for every trained module: grad.blocks.{l}.{module}.U / .V (shapes of U and V).

import type { GraphBuilder } from '../onnx/proto';
import { addGradients } from '../onnx/grad';
import { editInput, type EditModule } from './taps';

export interface TrainOptions {
  /** Trained modules as edit keys "{layer}:{module}". */
  modules: string[];
  /** RMU: the activation head at this block's resid_post instead of the token head. */
  rmu?: number;
}

/** "3:mlp.out" → [3, 'mlp.out'], checked. */
export function parseModuleKey(key: string, layers: number): [number, EditModule] {
  const m = /^(\d+):(mlp\.out|attn\.out)$/.exec(key);
  if (!m || Number(m[1]) >= layers) throw new Error(`train: bad module key "${key}" (expected "{layer}:mlp.out|attn.out" with layer < ${layers})`);
  return [Number(m[1]), m[2] as EditModule];
}

export const gradName = (layer: number, module: EditModule, which: 'U' | 'V'): string => `grad.${editInput(layer, module, which)}`;

/**
 * hidden: the last block's output [B, S, d_model]; logprobsOf: rows [N, d_model] → log-softmax
 * [N, V]. Only positions with a non-zero token weight or sequence mask go through the
 * unembedding (the answer tokens: a few per row, not B·S × vocab); token_logprobs and
 * top_logprobs are 0 elsewhere.
 */
export function addTokenLoss(g: GraphBuilder, hidden: string, dModel: number, logprobsOf: (rows: string) => string): string {
  g.input('target_ids', 'int64', ['batch', 'seq']);
  g.input('token_weights', 'float32', ['batch', 'seq']);
  g.input('seq_mask', 'float32', ['batch', 'seq']);
  g.input('seq_ref', 'float32', ['batch']);
  g.input('pref_matrix', 'float32', ['pref', 'batch']);
  g.input('pref_coef', 'float32', ['pref']);
  const flat = (x: string) => g.op('Reshape', [x, g.int64([-1])]);
  const zero = g.float(0);
  const used = g.op('Or', [g.op('Not', [g.op('Equal', [flat('token_weights'), zero])]), g.op('Not', [g.op('Equal', [flat('seq_mask'), zero])])]);
  const idx = g.op('Transpose', [g.op('NonZero', [used])], { perm: [1, 0] }); // [N, 1]
  const rows = g.op('Gather', [g.op('Reshape', [hidden, g.int64([-1, dModel])]), g.op('Reshape', [idx, g.int64([-1])])], { axis: 0 }); // [N, d]
  const logprobs = logprobsOf(rows); // [N, V]
  const targets = g.op('Gather', [flat('target_ids'), g.op('Reshape', [idx, g.int64([-1])])], { axis: 0 }); // [N]
  const picked = g.op('Squeeze', [g.op('GatherElements', [logprobs, g.op('Unsqueeze', [targets, g.int64([1])])], { axis: 1 }), g.int64([1])]); // [N]
  const zeros = g.op('Expand', [zero, g.op('Shape', [flat('token_weights')])]); // [B·S]
  const shapeBS = g.op('Shape', ['token_weights']);
  const lp = g.op('Reshape', [g.op('ScatterND', [zeros, idx, picked]), shapeBS], {}, 'token_logprobs');
  g.output(lp, 'float32', ['batch', 'seq']);
  const top = g.op('ReduceMax', [logprobs], { axes: [-1], keepdims: 0 });
  g.op('Reshape', [g.op('ScatterND', [zeros, idx, top]), shapeBS], {}, 'top_logprobs');
  g.output('top_logprobs', 'float32', ['batch', 'seq']);
  const seq = g.op('ReduceSum', [g.op('Mul', [lp, 'seq_mask']), g.int64([1])], { keepdims: 0 }, 'seq_logprobs');
  g.output(seq, 'float32', ['batch']);
  const diff = g.op('Unsqueeze', [g.op('Sub', [seq, 'seq_ref']), g.int64([0])]); // [1, B]
  const z = g.op('ReduceSum', [g.op('Mul', ['pref_matrix', diff]), g.int64([1])], { keepdims: 0 }); // [P]
  const pref = g.op('ReduceSum', [g.op('Mul', ['pref_coef', g.op('Softplus', [z])])], { keepdims: 0 });
  const tokens = g.op('ReduceSum', [g.op('Mul', [lp, 'token_weights'])], { keepdims: 0 });
  return g.op('Add', [tokens, pref]);
}

/** hidden: [B, S, d_model]. */
export function addActivationLoss(g: GraphBuilder, hidden: string, dModel: number): string {
  g.input('rmu_target', 'float32', ['batch', 'seq', dModel]);
  g.input('rmu_weights', 'float32', ['batch', 'seq']);
  const diff = g.op('Sub', [hidden, 'rmu_target']);
  const perToken = g.op('ReduceSum', [g.op('Mul', [diff, diff]), g.int64([2])], { keepdims: 0 }); // [B, S]
  return g.op('ReduceSum', [g.op('Mul', [perToken, 'rmu_weights'])], { keepdims: 0 });
}

/** Names `lossValue` "loss", outputs it, and appends d loss / d U, V of every trained module. */
export function addTrainGradients(g: GraphBuilder, lossValue: string, o: TrainOptions, layers: number): void {
  g.op('Identity', [lossValue], {}, 'loss');
  g.output('loss', 'float32', []);
  const mods = o.modules.map((k) => parseModuleKey(k, layers));
  const wrt = mods.flatMap(([l, m]) => [editInput(l, m, 'U'), editInput(l, m, 'V')]);
  const grads = addGradients(g, 'loss', wrt);
  mods.forEach(([l, m], i) => {
    for (const [j, which] of (['U', 'V'] as const).entries()) {
      g.op('Identity', [grads[2 * i + j]], {}, gradName(l, m, which));
      g.output(gradName(l, m, which), 'float32', [`r_${l}_${m}`, which === 'U' ? 'out' : 'in']);
    }
  });
}
