// Declarative architecture specs: which weights a block has, what they are called, how the block
// is wired. The graph builder reads these; nothing branches on model names.
// Weight names are relative to the first prefix under which `embed` exists; `{l}` is the layer.

export type Norm = 'layer' | 'rms';
export type Linear = 'in_out' /* GPT-2 Conv1D: W [in, out] */ | 'out_in' /* nn.Linear: W [out, in] */;

export interface ArchSpec {
  modelTypes: readonly string[];
  /** The text model's settings sit in this section of config.json (multimodal Gemma 3: text_config). */
  nestedConfig?: string;
  /**
   * Hugging Face's config-class defaults, under config.json (a key present, null included, wins).
   * Multimodal Gemma 3 checkpoints write a sparse text_config that relies on them.
   */
  classDefaults?: Readonly<Record<string, unknown>>;
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
  /** RMSNorm scales by (offset + w): 1 for Gemma's x̂·(1 + w), absent = x̂·w. */
  normOffset?: number;
  /** Token embeddings are multiplied by √d_model, rounded to float32 (Gemma). */
  embedScale?: boolean;
  /** RMSNorm of q and k before RoPE: per head over head_dim (Qwen3, Gemma 3) or over the whole projection (OLMo 2). */
  qkNorm?: 'head' | 'projection';
  /**
   * Which layers attend through config.json's `sliding_window` when `layer_types` does not list
   * them: 'all' (Mistral, Phi-3), 'from_max_window_layers' (Qwen2/3: layers ≥ max_window_layers,
   * and only with use_sliding_window), or a pattern: layer l slides unless (l + 1) is a multiple
   * of `sliding_window_pattern` (default `every`: Gemma 2 alternates, Gemma 3 has 5 local : 1 global).
   */
  sliding?: 'all' | 'from_max_window_layers' | { every: number };
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
    /** Attention scores × query_pre_attn_scalar^-½ instead of head_dim^-½ (Gemma). */
    queryScalar?: readonly string[];
    /** Soft-capping c·tanh(x / c) of the attention scores and of the final logits (Gemma 2). */
    attnSoftcap?: readonly string[];
    finalSoftcap?: readonly string[];
    /** RoPE base of sliding-window layers, without rope_scaling (Gemma 3's rope_local_base_freq). */
    localRopeTheta?: readonly string[];
    /** Per-layer list, 1 = this layer uses RoPE (SmolLM3's no_rope_layers; default: every 4th layer has none). */
    ropeLayers?: readonly string[];
    /**
     * Hugging Face's config-class defaults for the fields above, used when config.json lacks the
     * key (an explicit null keeps its meaning: no cap): Gemma's query_pre_attn_scalar 256 and
     * sliding_window 4096, Gemma 2's caps 50 and 30.
     */
    defaults?: { queryScalar?: number; attnSoftcap?: number; finalSoftcap?: number; slidingWindow?: number };
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
      /** Norm before attention (absent in OLMo 2). */
      ln1?: string;
      /** Norm before the MLP (Gemma: pre_feedforward_layernorm). */
      ln2?: string;
      /** Norms of the attention / MLP output inside the residual branch (Gemma's sandwich, OLMo 2). */
      postAttnNorm?: string;
      postMlpNorm?: string;
      qNorm?: string;
      kNorm?: string;
      /** Fused q|k|v projection (GPT-2 c_attn) or separate ones. */
      qkv?: string;
      q?: string;
      k?: string;
      v?: string;
      o: string;
      gate?: string;
      /** Fused gate | up projection (Phi-3 gate_up_proj: the first d_mlp rows are the gate). */
      gateUp?: string;
      up?: string;
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

export const SPECS: ArchSpec[] = [
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
  { modelTypes: ['mistral'], ...LLAMA_LIKE, sliding: 'all' },
  { modelTypes: ['qwen2'], ...LLAMA_LIKE, sliding: 'from_max_window_layers', biases: ['q', 'k', 'v'], config: { ...LLAMA_LIKE.config, defaultTied: false } },
];

/** Gemma 2 and 3: sandwich norms with (1 + w), scaled embeddings, GeGLU, query_pre_attn_scalar. */
const GEMMA_LIKE = {
  ...LLAMA_LIKE,
  normOffset: 1,
  embedScale: true,
  config: {
    ...LLAMA_LIKE.config,
    activation: ['hidden_activation', 'hidden_act'],
    defaultActivation: 'gelu_pytorch_tanh',
    defaultTied: true,
    queryScalar: ['query_pre_attn_scalar'],
    attnSoftcap: ['attn_logit_softcapping'],
    finalSoftcap: ['final_logit_softcapping'],
    defaults: { queryScalar: 256, slidingWindow: 4096 },
  },
  weights: {
    ...LLAMA_LIKE.weights,
    block: {
      ...LLAMA_LIKE.weights.block,
      ln2: 'layers.{l}.pre_feedforward_layernorm',
      postAttnNorm: 'layers.{l}.post_attention_layernorm',
      postMlpNorm: 'layers.{l}.post_feedforward_layernorm',
    },
  },
} as const satisfies Omit<ArchSpec, 'modelTypes'>;

const QK_NORMS = { qNorm: 'layers.{l}.self_attn.q_norm', kNorm: 'layers.{l}.self_attn.k_norm' } as const;

/** Gemma3TextConfig's defaults (transformers' configuration_gemma3.py). */
const GEMMA3_DEFAULTS = {
  vocab_size: 262208, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4,
  head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', max_position_embeddings: 131072, rms_norm_eps: 1e-6, bos_token_id: 2, eos_token_id: 1,
  tie_word_embeddings: true, rope_theta: 1000000, rope_local_base_freq: 10000, query_pre_attn_scalar: 256, sliding_window: 4096,
  final_logit_softcapping: null, attn_logit_softcapping: null, rope_scaling: null,
};

const GEMMA3 = {
  ...GEMMA_LIKE,
  classDefaults: GEMMA3_DEFAULTS,
  qkNorm: 'head',
  sliding: { every: 6 },
  config: { ...GEMMA_LIKE.config, localRopeTheta: ['rope_local_base_freq'] },
  weights: { ...GEMMA_LIKE.weights, block: { ...GEMMA_LIKE.weights.block, ...QK_NORMS } },
} as const satisfies Omit<ArchSpec, 'modelTypes'>;

// Today's open models (issue 34). Their special parts are listed by archFeatures (features.ts).
SPECS.push(
  { modelTypes: ['qwen3'], ...LLAMA_LIKE, qkNorm: 'head', sliding: 'from_max_window_layers', weights: { ...LLAMA_LIKE.weights, block: { ...LLAMA_LIKE.weights.block, ...QK_NORMS } } },
  { modelTypes: ['gemma2'], ...GEMMA_LIKE, sliding: { every: 2 }, config: { ...GEMMA_LIKE.config, defaults: { queryScalar: 256, attnSoftcap: 50, finalSoftcap: 30, slidingWindow: 4096 } } },
  { modelTypes: ['gemma3_text'], ...GEMMA3 },
  // Multimodal Gemma 3 checkpoints: the language model's weights and its text_config.
  { modelTypes: ['gemma3'], ...GEMMA3, nestedConfig: 'text_config', prefixes: ['model.language_model.', 'language_model.model.'], weights: { ...GEMMA3.weights, lmHead: 'language_model.lm_head' } },
  { modelTypes: ['smollm3'], ...LLAMA_LIKE, config: { ...LLAMA_LIKE.config, ropeLayers: ['no_rope_layers'], defaultTied: true } },
  {
    modelTypes: ['olmo2'],
    ...LLAMA_LIKE,
    qkNorm: 'projection',
    weights: {
      ...LLAMA_LIKE.weights,
      block: { ...LLAMA_LIKE.weights.block, ...QK_NORMS, ln1: undefined, ln2: undefined, postAttnNorm: 'layers.{l}.post_attention_layernorm', postMlpNorm: 'layers.{l}.post_feedforward_layernorm' },
    },
  },
  {
    modelTypes: ['phi3'],
    ...LLAMA_LIKE,
    sliding: 'all',
    weights: {
      ...LLAMA_LIKE.weights,
      block: { ...LLAMA_LIKE.weights.block, q: undefined, k: undefined, v: undefined, qkv: 'layers.{l}.self_attn.qkv_proj', gate: undefined, up: undefined, gateUp: 'layers.{l}.mlp.gate_up_proj' },
    },
  },
);

export const SUPPORTED_MODEL_TYPES = SPECS.flatMap((s) => s.modelTypes);

export function specFor(modelType: string): ArchSpec | undefined {
  return SPECS.find((s) => s.modelTypes.includes(modelType));
}
