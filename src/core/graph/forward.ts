// Builds the forward graph of a ModelPlan with named taps, edit inputs at every output projection,
// and weights as external data (memory-mapped from the safetensors files).
//
// Inputs:  input_ids [B, S] int64, position_ids [B, S] int64, attention_mask [B, T] int64 (1 = attend),
//          edit inputs (taps.ts), and with kvCache past.{l}.key/value.
// Outputs: logits [B, S, vocab] (or [B, 1, vocab] with logits 'last'), the requested taps, lens and
//          norms, and with kvCache present.{l}.key/value.
// Semantics follow Hugging Face's modeling code (fp32 compute): causal + padding mask with
// masked scores set to float32 min before the softmax, rotary applied to q and k before caching.

import type { ModelPlan, LinearW, NormW, BlockW } from '../models/model';
import type { TensorEntry, WeightLocator } from '../checkpoint/safetensors';
import { GraphBuilder, type Dtype } from '../onnx/proto';
import { BLOCK_TAPS, deltaEntryTap, editInput, tapName, type BlockTap, type EditModule } from './taps';
import { addDeltaLoss } from './loss';
import { addActivationLoss, addTokenLoss, addTrainGradients, type TrainOptions } from './trainLoss';
import { graphParts } from './parts';
import { addHeadTaps, addMetricGradients, addOffset, tapDims, wantsHeadTaps, type AttributionMetric } from './patchGraph';

export interface ForwardOptions {
  /** Taps to expose as outputs (names from taps.ts). */
  taps?: string[];
  /** Logit lens top-k and L2 norms for every layer (trace graphs). */
  lens?: { k: number; target?: number };
  /**
   * Generation: 'prefill' outputs present.{l}.key/value for the prompt; 'decode' also takes
   * past.{l}.key/value. (Two graphs, so no run ever feeds an empty past: WebGPU crashes on
   * zero-sized inputs.)
   */
  kvCache?: 'prefill' | 'decode';
  /**
   * 'all' positions, only the 'last' one, 'none' (truncated graphs), or 'targets': no logits
   * output but target_logprobs [B, S] = log_softmax(logits)[b, s, target_ids[b, s]] for an extra
   * input target_ids [B, S] int64 (scoring: a few bytes out instead of B·S·vocab floats).
   */
  logits?: 'all' | 'last' | 'none' | 'targets';
  /** Build only the first n blocks (purpose-made graphs, e.g. key statistics at a layer). */
  layers?: number;
  /**
   * Key statistics: output `gram` [d_mlp, d_mlp] = Σ kkᵀ over the unmasked positions of
   * blocks.{gram}.mlp.key, and `count` (int64 scalar), accumulated inside the graph.
   */
  gram?: number;
  /**
   * Causal tracing: an input embed_noise [B, S, d_model] added to the token embeddings, and for
   * every layer l and tap k in {attn_out, mlp_out, resid_post} a replacement
   * patch.{l}.{k} [1 or B, S, d_model] used where patchmask.{l}.{k} [B, S, 1] (bool) is true:
   * the tap's value becomes the patch there, and everything downstream sees it.
   */
  patch?: boolean;
  /**
   * The v* graph of ROME / MEMIT / LTI (loss.ts): starts after block `layer` from an input
   * resid [B, S, d_model] (that block's resid_post) plus delta [d_model] where delta_mask
   * [B, S, 1] is 1, runs the remaining blocks, and outputs the loss and grad_delta instead of
   * logits. `mid` adds the logit-lens KL at that layer's resid_post (LTI); `gradResid` also
   * outputs grad_resid (tests); `klReverse` takes the `kl` term as the ROME / MEMIT reference code
   * does (torch kl_div(init, current, log_target=True) = KL(model ‖ teacher)) instead of KL(teacher ‖ model).
   */
  delta?: { layer: number; mid?: number; gradResid?: boolean; klReverse?: boolean };
  /**
   * Steering: an input steer [d_model] added to resid_post of block `steer` at every position
   * (the Concepts panel's "steer along a direction" for a generation).
   */
  steer?: number;
  /**
   * The training graph (trainLoss.ts): a loss head — over the tokens' log-probs, or with `rmu`
   * over block rmu's resid_post (the graph stops there) — and the loss's gradients with respect
   * to U and V of the trained modules, instead of logits.
   */
  train?: TrainOptions;
  /**
   * Attribution patching (patchGraph.ts): an input embed_noise as with `patch`, zero offsets at
   * every attn_out, mlp_out and resid_post, and the metric at the last position with its
   * gradients with respect to those activations, instead of logits.
   */
  attribution?: { metric: AttributionMetric };
}

export const PATCH_TAPS = ['attn_out', 'mlp_out', 'resid_post'] as const;
export type PatchTap = (typeof PATCH_TAPS)[number];

const F32_MIN = -3.4028234663852886e38;
const DTYPES: Record<string, Dtype> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

// eslint-disable-next-line max-lines-per-function -- the graph is written as the model computes it, block by block, so it reads top to bottom beside the reference (tools/reference.py); split, the order of nodes would be scattered.
export function buildForward(plan: ModelPlan, weights: WeightLocator, options: ForwardOptions = {}): Uint8Array {
  const { dims, spec } = plan;
  const g = new GraphBuilder(`mechedit-${dims.modelType}`);
  const wanted = new Set(options.taps ?? []);
  const nLayers = options.train?.rmu !== undefined ? options.train.rmu + 1 : options.layers ?? dims.layers;
  const logitsMode = options.logits ?? (options.layers !== undefined ? 'none' : 'all');
  const rep = dims.heads / dims.kvHeads;
  const qDim = dims.heads * dims.headDim;

  // ---- inputs
  g.input('input_ids', 'int64', ['batch', 'seq']);
  g.input('position_ids', 'int64', ['batch', 'seq']);
  g.input('attention_mask', 'int64', ['batch', 'total']);

  // ---- weights (external, memoized; F16/BF16 cast to fp32 at session creation)
  const loaded = new Map<string, string>();
  const weight = (t: TensorEntry): string => {
    let name = loaded.get(t.name);
    if (name) return name;
    const { location, offset } = weights(t);
    name = g.external(t.name, DTYPES[t.dtype], t.shape, location, offset, t.length);
    if (t.dtype !== 'F32') name = g.op('Cast', [name], { to: 1 });
    loaded.set(t.name, name);
    return name;
  };

  // ---- shapes, masks and RoPE tables (parts.ts)
  const ids = 'input_ids';
  const shapeBS = g.op('Slice', [g.op('Shape', [ids]), g.int64([0]), g.int64([2])]); // [2] = (B, S)
  const { norm: normOf, activation, softcap, rope, mask } = graphParts(g, dims, spec, (n, which) => weight(which === 'w' ? n.w : n.b!));
  const av = dims.variants;

  // ---- building blocks
  const reshapeBS = (x2: string, last: number) => g.op('Reshape', [x2, g.op('Concat', [shapeBS, g.int64([last])], { axis: 0 })]);

  /** The edit inputs of one output projection: U [r, out], V [r, in] (taps.ts names). */
  const editInputs = (l: number, module: EditModule, w: LinearW): [string, string] => [
    g.input(editInput(l, module, 'U'), 'float32', [`r_${l}_${module}`, w.out]),
    g.input(editInput(l, module, 'V'), 'float32', [`r_${l}_${module}`, w.in]),
  ];
  /** Declares the edit inputs of a block the graph does not compute (callers feed every layer uniformly). */
  const unusedEditInputs = (l: number) => {
    editInputs(l, 'attn.out', plan.blocks[l].o);
    editInputs(l, 'mlp.out', plan.blocks[l].down);
  };

  /** x [B, S, in] → [B, S, out]; with an edit module, y += (x Vᵀ) U from the edit inputs. */
  const linear = (x: string, w: LinearW, edit?: { layer: number; module: EditModule }): string => {
    const x2 = g.op('Reshape', [x, g.int64([-1, w.in])]); // [B·S, in]
    const W = weight(w.w);
    const bias = w.b ? [weight(w.b)] : [];
    let y2 = spec.linear === 'out_in' ? g.op('Gemm', [x2, W, ...bias], { transB: 1 }) : g.op('Gemm', [x2, W, ...bias]);
    if (edit) {
      const [U, V] = editInputs(edit.layer, edit.module, w);
      y2 = g.op('Add', [y2, g.op('MatMul', [g.op('Gemm', [x2, V], { transB: 1 }), U])]);
    }
    return reshapeBS(y2, w.out);
  };

  const norm = (x: string, n: NormW | undefined): string => (n ? normOf(x, n) : x);

  /** Rotary on x [B, Hx, S, hd] (the first rotaryDim dims of each head). */
  const rotate = (x: string, table: number): string => {
    const { cos, sin } = rope(table);
    const rd = dims.rotaryDim;
    const partial = rd < dims.headDim;
    const xr = partial ? g.op('Slice', [x, g.int64([0]), g.int64([rd]), g.int64([3])]) : x;
    let rotated: string;
    if (spec.rotary === 'interleaved') {
      const pairs = g.op('Reshape', [xr, g.int64([0, 0, 0, rd / 2, 2])]);
      const [even, odd] = g.node('Split', [pairs, g.int64([1, 1])], { axis: 4 }, [g.fresh('even'), g.fresh('odd')]);
      rotated = g.op('Reshape', [g.op('Concat', [g.op('Neg', [odd]), even], { axis: 4 }), g.int64([0, 0, 0, rd])]);
    } else {
      const [x1, x2] = g.node('Split', [xr, g.int64([rd / 2, rd / 2])], { axis: 3 }, [g.fresh('x1'), g.fresh('x2')]);
      rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 });
    }
    const out = g.op('Add', [g.op('Mul', [xr, cos]), g.op('Mul', [rotated, sin])]);
    return partial ? g.op('Concat', [out, g.op('Slice', [x, g.int64([rd]), g.int64([dims.headDim]), g.int64([3])])], { axis: 3 }) : out;
  };

  const heads = (x: string, n: number) => g.op('Transpose', [g.op('Reshape', [x, g.int64([0, 0, n, dims.headDim])])], { perm: [0, 2, 1, 3] }); // [B, n, S, hd]

  const attention = (x: string, b: BlockW, l: number): string => {
    let q: string, k: string, v: string;
    if (b.qkv) {
      const kvDim = dims.kvHeads * dims.headDim;
      [q, k, v] = g.node('Split', [linear(x, b.qkv), g.int64([qDim, kvDim, kvDim])], { axis: 2 }, [g.fresh('q'), g.fresh('k'), g.fresh('v')]);
    } else {
      [q, k, v] = [linear(x, b.q!), linear(x, b.k!), linear(x, b.v!)];
    }
    if (spec.qkNorm === 'projection') [q, k] = [norm(q, b.qNorm), norm(k, b.kNorm)];
    q = heads(q, dims.heads);
    k = heads(k, dims.kvHeads);
    v = heads(v, dims.kvHeads);
    if (spec.qkNorm === 'head') [q, k] = [norm(q, b.qNorm), norm(k, b.kNorm)];
    if (av.layerRope[l] >= 0) {
      q = rotate(q, av.layerRope[l]);
      k = rotate(k, av.layerRope[l]);
    }
    if (options.kvCache === 'decode') {
      const pk = g.input(`past.${l}.key`, 'float32', ['batch', dims.kvHeads, 'past', dims.headDim]);
      const pv = g.input(`past.${l}.value`, 'float32', ['batch', dims.kvHeads, 'past', dims.headDim]);
      k = g.op('Concat', [pk, k], { axis: 2 }, `present.${l}.key`);
      v = g.op('Concat', [pv, v], { axis: 2 }, `present.${l}.value`);
    } else if (options.kvCache === 'prefill') {
      k = g.op('Identity', [k], {}, `present.${l}.key`);
      v = g.op('Identity', [v], {}, `present.${l}.value`);
    }
    if (options.kvCache) {
      g.output(k, 'float32', ['batch', dims.kvHeads, 'total', dims.headDim]);
      g.output(v, 'float32', ['batch', dims.kvHeads, 'total', dims.headDim]);
    }
    // Grouped-query attention without copies: q as [B, kv, rep, S, hd] against k, v as [B, kv, 1, T, hd].
    const q5 = g.op('Reshape', [q, g.int64([0, dims.kvHeads, rep, -1, dims.headDim])]);
    const k5 = g.op('Unsqueeze', [k, g.int64([2])]);
    const v5 = g.op('Unsqueeze', [v, g.int64([2])]);
    const scale = (av.queryScale ?? (dims.scaleAttn ? 1 / Math.sqrt(dims.headDim) : 1)) / (dims.scaleByInverseLayer ? l + 1 : 1);
    const scores = softcap(g.op('Mul', [g.op('MatMul', [q5, g.op('Transpose', [k5], { perm: [0, 1, 2, 4, 3] })]), g.float(scale)]), av.attnSoftcap);
    const probs = g.op('Softmax', [g.op('Where', [mask(av.windows[l]), scores, g.float(F32_MIN)])], { axis: -1 }); // [B, kv, rep, S, T]
    const ctx = g.op('Reshape', [g.op('MatMul', [probs, v5]), g.int64([0, dims.heads, -1, dims.headDim])]); // [B, H, S, hd]
    if (wantsHeadTaps(wanted, l)) {
      const edit: [string, string] = [editInput(l, 'attn.out', 'U'), editInput(l, 'attn.out', 'V')];
      addHeadTaps(g, taps, l, dims, { probs, ctx, wO: weight(b.o.w), outIn: spec.linear === 'out_in', edit });
    }
    const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.int64([0, 0, qDim])]);
    return linear(merged, b.o, { layer: l, module: 'attn.out' });
  };

  const taps = new Map<string, string>();
  const mlp = (x: string, b: BlockW, l: number): string => {
    let key: string;
    if (b.gateUp) {
      const [gate, up] = g.node('Split', [linear(x, b.gateUp), g.int64([dims.dMlp, dims.dMlp])], { axis: 2 }, [g.fresh('gate'), g.fresh('up')]);
      key = g.op('Mul', [activation(gate), up]);
    } else {
      key = b.gate ? g.op('Mul', [activation(linear(x, b.gate)), linear(x, b.up!)]) : activation(linear(x, b.up!));
    }
    taps.set(tapName(l, 'mlp.key'), key);
    const out = linear(key, b.down, { layer: l, module: 'mlp.out' });
    // v* graph of a post-norm architecture: δ goes into this projection's output (see deltaEntryTap).
    return insideDelta === l ? g.op('Add', [out, g.op('Mul', ['delta_mask', 'delta'])]) : out;
  };

  /** With options.patch: the value of tap `k` at layer `l`, replaced where its mask is set. */
  const patched = (x: string, l: number, k: PatchTap): string => {
    if (options.attribution) return addOffset(g, x, l, k, dims.dModel);
    if (!options.patch) return x;
    const value = g.input(`patch.${l}.${k}`, 'float32', [`pb_${l}_${k}`, 'seq', dims.dModel]);
    const mask = g.input(`patchmask.${l}.${k}`, 'bool', ['batch', 'seq', 1]);
    return g.op('Where', [mask, value, x]);
  };

  // ---- embeddings (or, for the v* graph, the injected residual) and blocks
  let h: string;
  let first = 0;
  const insideDelta = options.delta && deltaEntryTap(spec) === 'resid_pre' ? options.delta.layer : -1;
  if (options.delta) {
    const resid = g.input('resid', 'float32', ['batch', 'seq', dims.dModel]);
    const delta = g.input('delta', 'float32', [dims.dModel]);
    const deltaMask = g.input('delta_mask', 'float32', ['batch', 'seq', 1]);
    h = insideDelta >= 0 ? resid : g.op('Add', [resid, g.op('Mul', [deltaMask, delta])]);
    first = insideDelta >= 0 ? options.delta.layer : options.delta.layer + 1;
  } else {
    h = g.op('Gather', [weight(plan.embed), ids], { axis: 0 });
    // Gemma: × √d_model rounded to float32 (HF casts the normaliser to the embeddings' dtype).
    if (spec.embedScale) h = g.op('Mul', [h, g.float(Math.fround(Math.sqrt(dims.dModel)))]);
    if (options.patch || options.attribution) h = g.op('Add', [h, g.input('embed_noise', 'float32', ['batch', 'seq', dims.dModel])]);
    if (plan.positions) h = g.op('Add', [h, g.op('Gather', [weight(plan.positions), 'position_ids'], { axis: 0 })]);
  }
  for (let l = 0; l < first; l++) unusedEditInputs(l);
  for (let l = first; l < nLayers; l++) {
    const b = plan.blocks[l];
    const set = (tap: BlockTap, name: string) => taps.set(tapName(l, tap), name);
    set('resid_pre', h);
    const n1 = norm(h, b.ln1);
    const a = patched(attention(n1, b, l), l, 'attn_out');
    set('attn_out', a);
    if (spec.parallel) {
      const m = patched(mlp(n1, b, l), l, 'mlp_out');
      set('mlp_out', m);
      h = g.op('Add', [g.op('Add', [a, m]), h]);
    } else {
      // attn_out / mlp_out are the output projections' outputs; post-norms (Gemma, OLMo 2) follow them inside the branch.
      const mid = g.op('Add', [norm(a, b.postAttnNorm), h]);
      const m = patched(mlp(norm(mid, b.ln2), b, l), l, 'mlp_out');
      set('mlp_out', m);
      h = g.op('Add', [mid, norm(m, b.postMlpNorm)]);
    }
    h = patched(h, l, 'resid_post');
    if (options.steer === l) h = g.op('Add', [h, g.input('steer', 'float32', [dims.dModel])]);
    set('resid_post', h);
  }

  // Edit inputs exist for every layer, also in truncated graphs (callers feed them uniformly).
  for (let l = nLayers; l < dims.layers; l++) unusedEditInputs(l);

  // ---- unembedding: final norm → logits
  /** Rows [N, d_model] → logits [N, vocab rows]. */
  const unembedRows = (x2: string) => softcap(g.op('Gemm', [x2, weight(plan.unembed.w), ...(plan.unembed.b ? [weight(plan.unembed.b)] : [])], { transB: 1 }), av.finalSoftcap);
  const unembed = (x: string, width: number) => {
    const y2 = unembedRows(g.op('Reshape', [x, g.int64([-1, dims.dModel])]));
    return g.op('Reshape', [y2, g.op('Concat', [g.op('Slice', [g.op('Shape', [x]), g.int64([0]), g.int64([2])]), g.int64([width])], { axis: 0 })]);
  };
  const vocabRows = plan.unembed.w.shape[0];
  if (options.delta) {
    const mid = options.delta.mid;
    addDeltaLoss(g, {
      dModel: dims.dModel,
      final: h,
      mid: mid !== undefined && mid > options.delta.layer ? taps.get(tapName(mid, 'resid_post')) : undefined,
      logprobs: (x2) => g.op('LogSoftmax', [unembedRows(norm(x2, plan.finalNorm))], { axis: -1 }),
      gradResid: options.delta.gradResid ?? false,
      klReverse: options.delta.klReverse ?? false,
    });
    return g.toBytes();
  }
  if (options.attribution) {
    const last = g.op('Reshape', [g.op('Slice', [h, g.int64([-1]), g.int64([2 ** 62]), g.int64([1])]), g.int64([-1, dims.dModel])]);
    addMetricGradients(g, { lastRows: norm(last, plan.finalNorm), unembedRows, metric: options.attribution.metric, layers: nLayers, vocab: vocabRows, dModel: dims.dModel });
    return g.toBytes();
  }
  if (options.train) {
    const loss = options.train.rmu !== undefined
      ? addActivationLoss(g, taps.get(tapName(options.train.rmu, 'resid_post'))!, dims.dModel)
      : addTokenLoss(g, h, dims.dModel, (rows) => g.op('LogSoftmax', [unembedRows(norm(rows, plan.finalNorm))], { axis: -1 }));
    addTrainGradients(g, loss, options.train, dims.layers);
    return g.toBytes();
  }
  if (logitsMode !== 'none') {
    const last = logitsMode === 'last' ? g.op('Slice', [h, g.int64([-1]), g.int64([2 ** 62]), g.int64([1])]) : h;
    const fn = norm(last, plan.finalNorm);
    taps.set('final_norm', fn);
    taps.set('logits', unembed(fn, vocabRows));
    if (logitsMode === 'targets') {
      g.input('target_ids', 'int64', ['batch', 'seq']);
      const logprobs = g.op('LogSoftmax', [taps.get('logits')!], { axis: -1 });
      const picked = g.op('GatherElements', [logprobs, g.op('Unsqueeze', ['target_ids', g.int64([2])])], { axis: 2 });
      g.op('Squeeze', [picked, g.int64([2])], {}, 'target_logprobs');
      g.output('target_logprobs', 'float32', ['batch', 'seq']);
      // The best log-prob at each position: the target is the argmax where the two are equal.
      g.op('ReduceMax', [logprobs], { axes: [-1], keepdims: 0 }, 'top_logprobs');
      g.output('top_logprobs', 'float32', ['batch', 'seq']);
    } else {
      g.op('Identity', [taps.get('logits')!], {}, 'logits');
      g.output('logits', 'float32', ['batch', logitsMode === 'last' ? 1 : 'seq', vocabRows]);
    }
  }

  if (options.lens) {
    const kConst = g.int64([Math.min(options.lens.k, vocabRows)]);
    for (let l = 0; l < nLayers; l++) {
      const lp = g.op('LogSoftmax', [unembed(norm(taps.get(tapName(l, 'resid_post'))!, plan.finalNorm), vocabRows)], { axis: -1 });
      g.node('TopK', [lp, kConst], { axis: -1, largest: 1, sorted: 1 }, [`blocks.${l}.lens.logprobs`, `blocks.${l}.lens.ids`]);
      g.output(`blocks.${l}.lens.logprobs`, 'float32', ['batch', 'seq', options.lens.k]);
      g.output(`blocks.${l}.lens.ids`, 'int64', ['batch', 'seq', options.lens.k]);
      if (options.lens.target !== undefined) {
        // One token's log-prob per layer and position (the Activations panel's P(target)).
        g.op('Gather', [lp, g.int64([options.lens.target])], { axis: 2 }, `blocks.${l}.lens.target`);
        g.output(`blocks.${l}.lens.target`, 'float32', ['batch', 'seq', 1]);
      }
      for (const t of ['resid_post', 'attn_out', 'mlp_out'] as const) {
        g.op('ReduceL2', [taps.get(tapName(l, t))!], { axes: [-1], keepdims: 0 }, `blocks.${l}.${t}.norm`);
        g.output(`blocks.${l}.${t}.norm`, 'float32', ['batch', 'seq']);
      }
    }
  }

  if (options.gram !== undefined) {
    const keys = taps.get(tapName(options.gram, 'mlp.key'));
    if (!keys) throw new Error(`gram: layer ${options.gram} is not in this graph (layers: ${nLayers})`);
    const maskF = g.op('Unsqueeze', [g.op('Cast', ['attention_mask'], { to: 1 }), g.int64([2])]); // [B, S, 1]
    const k2 = g.op('Reshape', [g.op('Mul', [keys, maskF]), g.int64([-1, dims.dMlp])]); // [B·S, d_mlp], padding zeroed
    g.op('Gemm', [k2, k2], { transA: 1 }, 'gram');
    g.output('gram', 'float32', [dims.dMlp, dims.dMlp]);
    g.op('ReduceSum', [g.op('Cast', ['attention_mask'], { to: 7 })], { keepdims: 0 }, 'count');
    g.output('count', 'int64', []);
  }

  for (const name of wanted) {
    if (name === 'logits') continue;
    const internal = taps.get(name);
    if (!internal) throw new Error(`Unknown tap "${name}" (taps: blocks.{l}.${BLOCK_TAPS.join('|')}|attn.head.{h}|attn.heads|attn.pattern, final_norm, logits)`);
    g.op('Identity', [internal], {}, name);
    g.output(name, 'float32', tapDims(name, dims.dModel, dims.dMlp));
  }
  return g.toBytes();
}
