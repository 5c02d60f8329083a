// A checkpoint + its ArchSpec resolved into a ModelPlan: dimensions, rotary parameters and every
// weight with its shape checked against config.json. Nothing is read but headers.

import type { Checkpoint } from '../checkpoint/checkpoint';
import type { TensorEntry } from '../checkpoint/safetensors';
import { badInput } from '../errors';
import { specFor, SUPPORTED_MODEL_TYPES, type ArchSpec, type BiasedWeight } from './specs';
import { attentionVariants, type AttentionVariants } from './variants';
import { legacyRopeFields, ropeInvFreq } from './rope';

export { ropeInvFreq };
import type { RocrSettings } from '../../protocol/model';

export type Activation = 'gelu_tanh' | 'gelu' | 'silu' | 'relu';

export interface Dims {
  modelType: string;
  layers: number;
  dModel: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  dMlp: number;
  vocab: number;
  maxPositions: number;
  eps: number;
  activation: Activation;
  /** Rotary: dims per head that rotate (0 with learned positions). Tables and per-layer choice in `variants`. */
  rotaryDim: number;
  tied: boolean;
  /** Attention scores are scaled by 1/√head_dim (GPT-2's scale_attn_weights, default on), and by 1/(layer+1) with scale_attn_by_inverse_layer_idx. */
  scaleAttn: boolean;
  scaleByInverseLayer: boolean;
  /** Sliding windows, RoPE tables per layer, score scale and soft-caps (variants.ts). */
  variants: AttentionVariants;
  /** The dtype of the weights as stored (the most common one). */
  dtype: string;
  params: number;
  eosIds: number[];
  bosId?: number;
  /**
   * The layer this checkpoint's authors recommend for single-layer fact edits (config.json's
   * `"mechedit": {"edit_layer": L}`, which Hugging Face keeps as an unknown key), e.g. where
   * causal tracing puts the model's facts; the bundled model carries one.
   */
  editLayer?: number;
  /** ROCR settings this checkpoint's authors recommend (`"mechedit": {"rocr": {…}}`); see defaultRocrSettings. */
  rocr?: RocrDefaults;
}

/** The settings a checkpoint may recommend: any of ROCR's settings (protocol/model.ts), without their source. */
export type RocrDefaults = Partial<Omit<RocrSettings, 'source'>>;

export interface LinearW {
  w: TensorEntry;
  b?: TensorEntry;
  in: number;
  out: number;
}

export interface NormW {
  w: TensorEntry;
  b?: TensorEntry;
}

export interface BlockW {
  ln1?: NormW;
  ln2?: NormW;
  postAttnNorm?: NormW;
  postMlpNorm?: NormW;
  /** q/k norms: [head_dim] per head, or [heads·head_dim] / [kv_heads·head_dim] over the projection. */
  qNorm?: NormW;
  kNorm?: NormW;
  qkv?: LinearW;
  q?: LinearW;
  k?: LinearW;
  v?: LinearW;
  o: LinearW;
  gate?: LinearW;
  up?: LinearW;
  /** Fused [gate | up] → [B, S, 2·d_mlp] (Phi-3). */
  gateUp?: LinearW;
  down: LinearW;
}

export interface ModelPlan {
  checkpoint: Checkpoint;
  spec: ArchSpec;
  dims: Dims;
  embed: TensorEntry;
  positions?: TensorEntry;
  finalNorm: NormW;
  unembed: { w: TensorEntry; b?: TensorEntry };
  blocks: BlockW[];
}

const ACTIVATIONS: Record<string, Activation> = {
  gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu_fast: 'gelu_tanh', gelu: 'gelu', silu: 'silu', swish: 'silu', relu: 'relu',
};

// eslint-disable-next-line max-lines-per-function -- one pass over config.json and the weight names, field by field, each check naming its field; split, the checks would lose their order.
export function planModel(ckpt: Checkpoint): ModelPlan {
  const configFile = `${ckpt.dir}/config.json`;
  const modelType = ckpt.config.model_type;
  if (typeof modelType !== 'string') throw badInput('config.json has no "model_type"', { file: configFile, field: 'model_type', hint: `Supported: ${SUPPORTED_MODEL_TYPES.join(', ')}.` });
  const spec = specFor(modelType);
  if (!spec) {
    throw badInput(`Unsupported model_type "${modelType}"`, { file: configFile, field: 'model_type', hint: `MechEdit supports: ${SUPPORTED_MODEL_TYPES.join(', ')}. Architectures are declared in src/core/models/specs.ts (docs/models.md).` });
  }
  // Multimodal checkpoints keep the language model's settings in a section (Gemma 3: text_config).
  const nested = spec.nestedConfig ? ckpt.config[spec.nestedConfig] : undefined;
  if (spec.nestedConfig && (typeof nested !== 'object' || nested === null)) throw badInput(`config.json has no "${spec.nestedConfig}" section`, { file: configFile, field: spec.nestedConfig });
  const cfg = legacyRopeFields({ ...spec.classDefaults, ...(nested ? { ...(nested as Record<string, unknown>), model_type: modelType } : ckpt.config) }) as typeof ckpt.config;
  /** A positive number from the first of `keys` present; sizes and counts (`whole`) must be whole numbers up to 2^31. */
  const pick = (keys: readonly string[] | undefined, what: string, fallback?: number, whole = true): number => {
    for (const k of keys ?? []) {
      const v = cfg[k];
      if (v === null || v === undefined) continue;
      if (whole && !(typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 2 ** 31)) throw badInput(`"${k}" must be a whole number ≥ 1, got ${JSON.stringify(v)}`, { file: configFile, field: k });
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw badInput(`"${k}" must be a positive number, got ${JSON.stringify(v)}`, { file: configFile, field: k });
      return v;
    }
    if (fallback !== undefined) return fallback;
    throw badInput(`config.json lacks the ${what} (${keys?.join(' or ')})`, { file: configFile, field: keys?.[0] });
  };
  const layers = pick(spec.config.layers, 'number of layers');
  const dModel = pick(spec.config.dModel, 'model width');
  const heads = pick(spec.config.heads, 'number of attention heads');
  const kvHeads = pick(spec.config.kvHeads, 'number of key/value heads', heads);
  const headDim = pick(spec.config.headDim, 'head dimension', dModel / heads, false);
  if (!Number.isInteger(headDim)) throw badInput(`hidden size ${dModel} is not divisible by ${heads} heads and no head_dim is given`, { file: configFile, field: 'head_dim' });
  if (heads % kvHeads !== 0) throw badInput(`${heads} attention heads are not a multiple of ${kvHeads} key/value heads`, { file: configFile, field: 'num_key_value_heads' });
  const dMlp = pick(spec.config.dMlp, 'MLP width', 4 * dModel);
  const vocab = pick(['vocab_size'], 'vocabulary size');
  const maxPositions = pick(spec.config.maxPositions, 'context length', 2048);
  const eps = pick(spec.config.eps, 'norm epsilon', 1e-5, false);
  const actName = spec.config.activation.map((k) => cfg[k]).find((v) => typeof v === 'string') as string | undefined ?? spec.config.defaultActivation;
  const activation = Object.hasOwn(ACTIVATIONS, actName) ? ACTIVATIONS[actName] : undefined;
  if (!activation) throw badInput(`Unsupported activation "${actName}"`, { file: configFile, field: spec.config.activation[0], hint: `Supported: ${Object.keys(ACTIVATIONS).join(', ')}.` });

  let rotaryDim = 0;
  if (spec.positions === 'rotary') {
    const partial = pick(['partial_rotary_factor'], 'rotary fraction', 1, false);
    rotaryDim = spec.config.rotaryDim ? pick(spec.config.rotaryDim, 'rotary dims', headDim) : Math.floor(headDim * partial);
    if (rotaryDim % 2 !== 0 || rotaryDim < 2 || rotaryDim > headDim) throw badInput(`rotary dims ${rotaryDim} must be even, ≥ 2 and ≤ head_dim ${headDim}`, { file: configFile, field: spec.config.rotaryDim?.[0] ?? 'partial_rotary_factor' });
  }

  const prefix = spec.prefixes.find((p) => ckpt.tensors.has(p + spec.weights.embed));
  if (prefix === undefined) {
    throw badInput(`Weight "${spec.prefixes[0]}${spec.weights.embed}" not found: this is not a ${modelType} checkpoint, or it uses other weight names`, { file: ckpt.weightFiles[0], field: spec.prefixes[0] + spec.weights.embed });
  }
  // A layer count beyond the weights is refused here, before anything is sized by it.
  const lastO = `${prefix}${spec.weights.block.o.replace('{l}', String(layers - 1))}.weight`;
  if (!ckpt.tensors.has(lastO)) throw badInput(`config.json says ${layers} layers, but weight "${lastO}" is missing`, { file: configFile, field: spec.config.layers[0], hint: 'config.json does not belong to these weights.' });
  const variants = attentionVariants(spec, cfg, { layers, headDim, rotaryDim, maxPositions }, configFile);
  const tensor = (name: string, shape: number[] | undefined, optional = false): TensorEntry | undefined => {
    const t = ckpt.tensors.get(name);
    if (!t) {
      if (optional) return undefined;
      throw badInput(`Weight "${name}" is missing`, { file: ckpt.weightFiles.length === 1 ? ckpt.weightFiles[0] : ckpt.dir, field: name, hint: 'The checkpoint is incomplete or does not match config.json.' });
    }
    if (!['F32', 'F16', 'BF16'].includes(t.dtype)) throw badInput(`Weight "${name}" has dtype ${t.dtype}; MechEdit reads F32, F16 and BF16`, { file: t.file, field: name });
    if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw badInput(`Weight "${name}" has shape [${t.shape}] but config.json implies [${shape}]`, { file: t.file, field: name, hint: 'config.json does not belong to these weights.' });
    }
    return t;
  };
  const full = (n: string, l?: number) => prefix + (l === undefined ? n : n.replace('{l}', String(l)));
  // A bias the architecture always has is required; any other is read when present.
  const optionalBias = (which: BiasedWeight) => !spec.biases.includes(which);
  const norm = (n: string, which: BiasedWeight, width = dModel): NormW => ({ w: tensor(`${n}.weight`, [width])!, b: spec.norm === 'layer' ? tensor(`${n}.bias`, [width], optionalBias(which)) : undefined });
  const linear = (n: string, inDim: number, outDim: number, which: BiasedWeight): LinearW => ({
    w: tensor(`${n}.weight`, spec.linear === 'in_out' ? [inDim, outDim] : [outDim, inDim])!,
    b: tensor(`${n}.bias`, [outDim], optionalBias(which)),
    in: inDim,
    out: outDim,
  });

  const embed = tensor(full(spec.weights.embed), undefined)!;
  if (embed.shape.length !== 2 || embed.shape[1] !== dModel || embed.shape[0] < vocab) {
    throw badInput(`Weight "${embed.name}" has shape [${embed.shape}] but config.json implies [${vocab}, ${dModel}]`, { file: embed.file, field: embed.name, hint: 'config.json does not belong to these weights.' });
  }
  const b = spec.weights.block;
  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  const blocks: BlockW[] = [];
  for (let l = 0; l < layers; l++) {
    const f = (n: string) => full(n, l);
    const qkWidth = (n: number) => (spec.qkNorm === 'head' ? headDim : n * headDim);
    blocks.push({
      ln1: b.ln1 ? norm(f(b.ln1), 'ln1') : undefined,
      ln2: b.ln2 ? norm(f(b.ln2), 'ln2') : undefined,
      postAttnNorm: b.postAttnNorm ? norm(f(b.postAttnNorm), 'postAttnNorm') : undefined,
      postMlpNorm: b.postMlpNorm ? norm(f(b.postMlpNorm), 'postMlpNorm') : undefined,
      qNorm: b.qNorm ? norm(f(b.qNorm), 'qNorm', qkWidth(heads)) : undefined,
      kNorm: b.kNorm ? norm(f(b.kNorm), 'kNorm', qkWidth(kvHeads)) : undefined,
      qkv: b.qkv ? linear(f(b.qkv), dModel, qDim + 2 * kvDim, 'qkv') : undefined,
      q: b.q ? linear(f(b.q), dModel, qDim, 'q') : undefined,
      k: b.k ? linear(f(b.k), dModel, kvDim, 'k') : undefined,
      v: b.v ? linear(f(b.v), dModel, kvDim, 'v') : undefined,
      o: linear(f(b.o), qDim, dModel, 'o'),
      gate: b.gate ? linear(f(b.gate), dModel, dMlp, 'gate') : undefined,
      up: b.up ? linear(f(b.up), dModel, dMlp, 'up') : undefined,
      gateUp: b.gateUp ? linear(f(b.gateUp), dModel, 2 * dMlp, 'gateUp') : undefined,
      down: linear(f(b.down), dMlp, dModel, 'down'),
    });
  }
  refuseExtraLayers(ckpt, spec, prefix, layers, configFile);
  const tiedSetting = typeof cfg.tie_word_embeddings === 'boolean' ? cfg.tie_word_embeddings : spec.config.defaultTied;
  const head = ckpt.tensors.get(`${spec.weights.lmHead}.weight`) ?? (nested ? ckpt.tensors.get('lm_head.weight') : undefined);
  const tied = !head;
  if (!head && !tiedSetting) {
    throw badInput(`"${spec.weights.lmHead}.weight" is missing and config.json says the embeddings are not tied`, { file: configFile, field: 'tie_word_embeddings' });
  }
  const unembed = head
    ? { w: tensor(head.name, [head.shape[0], dModel])!, b: tensor(`${spec.weights.lmHead}.bias`, [head.shape[0]], true) }
    : { w: embed };
  if (unembed.w.shape[0] < vocab) throw badInput(`The unembedding has ${unembed.w.shape[0]} rows but vocab_size is ${vocab}`, { file: unembed.w.file, field: unembed.w.name });

  const counts = new Map<string, number>();
  let params = 0;
  for (const t of ckpt.tensors.values()) {
    const n = t.shape.reduce((a, c) => a * c, 1);
    params += n;
    counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + n);
  }
  const dtype = [...counts.entries()].sort((a, c) => c[1] - a[1])[0]?.[0] ?? 'F32';
  // generation_config.json, when present, is what generation stops on (Llama 3 lists several ids).
  const eos = ckpt.generationConfig?.eos_token_id ?? cfg.eos_token_id;
  const { editLayer, rocr } = checkpointRecommendations(cfg.mechedit, layers, configFile);
  return {
    checkpoint: ckpt,
    spec,
    dims: {
      modelType, layers, dModel, heads, kvHeads, headDim, dMlp, vocab, maxPositions, eps, activation, rotaryDim, variants, tied, dtype, params,
      scaleAttn: cfg.scale_attn_weights !== false,
      scaleByInverseLayer: cfg.scale_attn_by_inverse_layer_idx === true,
      eosIds: Array.isArray(eos) ? eos.filter((x) => typeof x === 'number') : typeof eos === 'number' ? [eos] : [],
      bosId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : undefined,
      ...(editLayer === undefined ? {} : { editLayer }),
      ...(rocr === undefined ? {} : { rocr }),
    },
    embed,
    positions: spec.weights.positions ? tensor(full(spec.weights.positions), [maxPositions, dModel]) : undefined,
    finalNorm: norm(full(spec.weights.finalNorm), 'finalNorm'),
    unembed,
    blocks,
  };
}

/**
 * Weights of layers beyond config.json's layer count (n_layer lower than the checkpoint's depth):
 * the model would silently run without them. Refused, naming the first such weight.
 */
function refuseExtraLayers(ckpt: Checkpoint, spec: ArchSpec, prefix: string, layers: number, configFile: string): void {
  const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const patterns = Object.values(spec.weights.block).filter((n) => n !== undefined).map((n) => new RegExp(`^${escape(prefix + n).replace(escape('{l}'), '(\\d+)')}\\.`));
  let deepest: { layer: number; name: string } | undefined;
  for (const name of ckpt.tensors.keys()) {
    for (const re of patterns) {
      const l = Number(re.exec(name)?.[1] ?? -1);
      if (l >= layers && (!deepest || l > deepest.layer)) deepest = { layer: l, name };
    }
  }
  if (deepest) {
    throw badInput(`config.json gives ${layers} layers but the weights hold layer ${deepest.layer} ("${deepest.name}")`, {
      file: configFile,
      field: spec.config.layers[0],
      hint: `Set "${spec.config.layers[0]}" to ${deepest.layer + 1} if the weights are right; config.json does not belong to these weights otherwise.`,
    });
  }
}

/**
 * config.json's `"mechedit"` section, checked against the model's depth: `"edit_layer": L` (ROME's
 * layer) and `"rocr": {"layers", "lambda", "positions", "regularizer"}` (ROCR's settings), each
 * optional. A malformed value is a bad-input error naming the key.
 */
function checkpointRecommendations(section: unknown, layers: number, configFile: string): { editLayer?: number; rocr?: RocrDefaults } {
  if (section === undefined) return {};
  const bad = (field: string, want: string, got: unknown) => badInput(`"mechedit.${field}" must be ${want}, got ${JSON.stringify(got)}`, { file: configFile, field: `mechedit.${field}`, hint: 'Fix or remove the "mechedit" key in config.json.' });
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isLayer = (l: unknown) => typeof l === 'number' && Number.isInteger(l) && l >= 0 && l < layers;
  if (!isObject(section)) throw bad('', 'an object', section);
  const out: { editLayer?: number; rocr?: RocrDefaults } = {};
  if (section.edit_layer !== undefined) {
    if (!isLayer(section.edit_layer)) throw bad('edit_layer', `a layer in 0…${layers - 1}`, section.edit_layer);
    out.editLayer = section.edit_layer as number;
  }
  const r = section.rocr;
  if (r === undefined) return out;
  if (!isObject(r)) throw bad('rocr', 'an object', r);
  if (r.layers !== undefined && !(Array.isArray(r.layers) && r.layers.length > 0 && r.layers.every(isLayer) && new Set(r.layers).size === r.layers.length)) throw bad('rocr.layers', `distinct layers in 0…${layers - 1}`, r.layers);
  if (r.lambda !== undefined && !(typeof r.lambda === 'number' && r.lambda > 0)) throw bad('rocr.lambda', 'a positive number', r.lambda);
  if (r.positions !== undefined && r.positions !== 'last' && r.positions !== 'all') throw bad('rocr.positions', '"last" or "all"', r.positions);
  if (r.regularizer !== undefined && r.regularizer !== 'identity' && r.regularizer !== 'covariance') throw bad('rocr.regularizer', '"identity" or "covariance"', r.regularizer);
  out.rocr = r as RocrDefaults;
  return out;
}
