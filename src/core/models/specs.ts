// Declarative architecture specs: which weights a block has, what they are called, how the block
// is wired. The graph builder reads these; nothing branches on model names.
// Weight names are relative to the first prefix under which `embed` exists; `{l}` is the layer.

export type Norm = 'layer' | 'rms';
export type Linear = 'in_out' /* GPT-2 Conv1D: W [in, out] */ | 'out_in' /* nn.Linear: W [out, in] */;

export interface ArchSpec {
  modelTypes: readonly string[];
  /** Tried in order; the first under which `weights.embed` exists is used. */
  prefixes: readonly string[];
  norm: Norm;
  linear: Linear;
  /** Attention and MLP both read ln1's output and add to the residual together (GPT-J). */
  parallel: boolean;
  /** The MLP is act(gate(x)) * up(x) (Llama) rather than act(up(x)). */
  gatedMlp: boolean;
  positions: 'learned' | 'rotary';
  /** 'half': rotate_half on [x1, x2] halves (Llama); 'interleaved': pairs (x0, x1), (x2, x3)… (GPT-J). */
  rotary?: 'half' | 'interleaved';
  /** Config fields, first present wins (see dims.ts for defaults). */
  config: {
    layers: readonly string[];
    dModel: readonly string[];
    heads: readonly string[];
    kvHeads?: readonly string[];
    headDim?: readonly string[];
    dMlp: readonly string[];
    maxPositions: readonly string[];
    eps: readonly string[];
    activation: readonly string[];
    /** Rotary dims per head (GPT-J); absent = the whole head. */
    rotaryDim?: readonly string[];
    /** Default activation when the config names none. */
    defaultActivation: string;
    /** Default tie_word_embeddings when the config does not say. */
    defaultTied: boolean;
  };
  /**
   * Weights whose bias the architecture always has: a checkpoint without one of them is refused
   * (it would run as if the bias were zero). Other biases are read when present.
   */
  biases: readonly BiasedWeight[];
  weights: {
    embed: string;
    positions?: string;
    finalNorm: string;
    /** Relative to the checkpoint root (no prefix); absent or tied → embed is the unembedding. */
    lmHead: string;
    block: {
      ln1: string;
      ln2?: string;
      /** Fused q|k|v projection (GPT-2 c_attn) or separate ones. */
      qkv?: string;
      q?: string;
      k?: string;
      v?: string;
      o: string;
      gate?: string;
      up: string;
      down: string;
    };
  };
}

export type BiasedWeight = keyof ArchSpec['weights']['block'] | 'finalNorm';

const LLAMA_LIKE = {
  prefixes: ['model.', ''],
  norm: 'rms',
  linear: 'out_in',
  parallel: false,
  gatedMlp: true,
  positions: 'rotary',
  rotary: 'half',
  biases: [],
  config: {
    layers: ['num_hidden_layers'],
    dModel: ['hidden_size'],
    heads: ['num_attention_heads'],
    kvHeads: ['num_key_value_heads'],
    headDim: ['head_dim'],
    dMlp: ['intermediate_size'],
    maxPositions: ['max_position_embeddings'],
    eps: ['rms_norm_eps'],
    activation: ['hidden_act'],
    defaultActivation: 'silu',
    defaultTied: false,
  },
  weights: {
    embed: 'embed_tokens.weight',
    finalNorm: 'norm',
    lmHead: 'lm_head',
    block: {
      ln1: 'layers.{l}.input_layernorm',
      ln2: 'layers.{l}.post_attention_layernorm',
      q: 'layers.{l}.self_attn.q_proj',
      k: 'layers.{l}.self_attn.k_proj',
      v: 'layers.{l}.self_attn.v_proj',
      o: 'layers.{l}.self_attn.o_proj',
      gate: 'layers.{l}.mlp.gate_proj',
      up: 'layers.{l}.mlp.up_proj',
      down: 'layers.{l}.mlp.down_proj',
    },
  },
} as const satisfies Omit<ArchSpec, 'modelTypes'>;

export const SPECS: readonly ArchSpec[] = [
  {
    modelTypes: ['gpt2'],
    prefixes: ['transformer.', ''],
    norm: 'layer',
    linear: 'in_out',
    parallel: false,
    gatedMlp: false,
    positions: 'learned',
    biases: ['ln1', 'ln2', 'qkv', 'o', 'up', 'down', 'finalNorm'],
    config: {
      layers: ['n_layer'],
      dModel: ['n_embd'],
      heads: ['n_head'],
      dMlp: ['n_inner'],
      maxPositions: ['n_positions'],
      eps: ['layer_norm_epsilon'],
      activation: ['activation_function'],
      defaultActivation: 'gelu_new',
      defaultTied: true,
    },
    weights: {
      embed: 'wte.weight',
      positions: 'wpe.weight',
      finalNorm: 'ln_f',
      lmHead: 'lm_head',
      block: { ln1: 'h.{l}.ln_1', ln2: 'h.{l}.ln_2', qkv: 'h.{l}.attn.c_attn', o: 'h.{l}.attn.c_proj', up: 'h.{l}.mlp.c_fc', down: 'h.{l}.mlp.c_proj' },
    },
  },
  {
    modelTypes: ['gptj'],
    prefixes: ['transformer.', ''],
    norm: 'layer',
    linear: 'out_in',
    parallel: true,
    gatedMlp: false,
    positions: 'rotary',
    rotary: 'interleaved',
    biases: ['ln1', 'up', 'down', 'finalNorm'],
    config: {
      layers: ['n_layer'],
      dModel: ['n_embd'],
      heads: ['n_head'],
      dMlp: ['n_inner'],
      maxPositions: ['n_positions'],
      eps: ['layer_norm_epsilon'],
      activation: ['activation_function'],
      rotaryDim: ['rotary_dim'],
      defaultActivation: 'gelu_new',
      defaultTied: false,
    },
    weights: {
      embed: 'wte.weight',
      finalNorm: 'ln_f',
      lmHead: 'lm_head',
      block: { ln1: 'h.{l}.ln_1', q: 'h.{l}.attn.q_proj', k: 'h.{l}.attn.k_proj', v: 'h.{l}.attn.v_proj', o: 'h.{l}.attn.out_proj', up: 'h.{l}.mlp.fc_in', down: 'h.{l}.mlp.fc_out' },
    },
  },
  { modelTypes: ['llama'], ...LLAMA_LIKE },
  { modelTypes: ['mistral'], ...LLAMA_LIKE },
  { modelTypes: ['qwen2'], ...LLAMA_LIKE, biases: ['q', 'k', 'v'], config: { ...LLAMA_LIKE.config, defaultTied: false } },
];

export const SUPPORTED_MODEL_TYPES = SPECS.flatMap((s) => s.modelTypes);

export function specFor(modelType: string): ArchSpec | undefined {
  return SPECS.find((s) => s.modelTypes.includes(modelType));
}
