// Model-level results shared by the engine, the CLI (--json output) and the views.

import type { ProviderProbe } from './common';

export interface ModelInfo {
  path: string;
  architecture: string;
  layers: number;
  dModel: number;
  dMlp: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  dtype: string;
  parameters: number;
  tiedEmbeddings: boolean;
  rotaryDim: number;
  /** The architecture's special parts in words (norms, q/k norms, sliding windows, soft-capping, RoPE variants), from its spec and config. */
  features: string[];
  executionProvider: string;
  /** How executionProvider was chosen: each provider, whether it works, or why it failed or was not tried (`mechedit info`). */
  providers?: ProviderProbe[];
  fingerprint: string;
  graphFolder: { path: string; mode: string };
  /** ROME's default layer: from config.json's "mechedit.edit_layer", the papers' settings, or proportional to depth. */
  editLayer: { layer: number; source: 'checkpoint' | 'papers' | 'proportional' };
  /** ROCR's settings when a request gives none: config.json's "mechedit.rocr", else the paper's. */
  rocr: RocrSettings;
  /** Stable tap names (src/core/graph/taps.ts): blocks.{l}.resid_pre … logits. */
  taps: string[];
}

export interface RocrSettings {
  layers: number[];
  lambda: number;
  /** 'last': keys at the concept's last token (the paper's); 'all': at every token of it. */
  positions: 'last' | 'all';
  /** 'identity': the paper's λ I; 'covariance': λ C from key statistics. */
  regularizer: 'identity' | 'covariance';
  /** 'checkpoint': config.json's "mechedit.rocr" set at least one of them; else the papers' / proportional. */
  source: 'checkpoint' | 'papers';
}

export interface Token {
  id: number;
  text: string;
}

export interface PredictResult {
  tokens: Token[];
  /** The k most likely next tokens at the last position, by log-probability. */
  next: (Token & { logprob: number })[];
}

export interface ScoredAnswer {
  text: string;
  tokens: Token[];
  tokenLogprobs: number[];
  meanLogprob: number;
  prob: number;
}

export interface ScoreResult {
  answers: ScoredAnswer[];
}

export interface TraceLayer {
  layer: number;
  /** L2 norms per position of blocks.{l}.resid_post, attn_out, mlp_out. */
  residNorm: number[];
  attnNorm: number[];
  mlpNorm: number[];
  /** Logit-lens probability of the requested target token per position (when one was asked for). */
  targetProb?: number[];
  /** Logit-lens top-1 per position, and the top-k. */
  lens: (Token & { prob: number })[];
  topk: (Token & { prob: number })[][];
}

export interface TraceResult {
  tokens: Token[];
  /** The target token whose probability each layer's targetProb gives (model/trace targetId). */
  target?: Token;
  layers: TraceLayer[];
}

export interface GenerateResult {
  prompt: Token[];
  tokens: Token[];
  text: string;
  stopped: 'eos' | 'budget';
  tokensPerSecond: number;
}

export interface CausalTraceResult {
  tokens: Token[];
  /** Token positions [start, end) of the subject. */
  subject: [number, number];
  answer: Token;
  cleanProb: number;
  corruptedProb: number;
  /** P(answer) with each state restored, [layer][token]: residual, MLP window, attention window. */
  scores: Record<'resid' | 'mlp' | 'attn', number[][]>;
  /**
   * The layer whose MLP restoration at the subject's last token matters most (ROME's edit layer);
   * absent when the trace is not informative.
   */
  recommendedLayer?: number;
  /**
   * Whether the trace can locate the fact: the clean P(answer) is at least 0.1 and corrupting the
   * subject lowers it by at least 0.05 (src/core/analysis/causalTrace.ts, TRACE_MIN_*).
   */
  informative: boolean;
  /** Why the trace is not informative (absent when it is). */
  reason?: string;
  /** The answer as given, when it is several tokens: only its first token (`answer`) is traced. */
  answerGiven?: { text: string; tokens: number };
  noiseStd: number;
}

/**
 * What the engine adds to a causal trace (model/causalTrace): the model it ran on, and the
 * model's own answer on the clean prompt, so that a first token such as " Qu" reads in full.
 */
export interface CausalTraceRun {
  /** The edits the trace ran with (enabled, strength ≠ 0), in stack order; empty: the model without edits. */
  edits: { id: string; label: string; strength: number }[];
  /**
   * The same model's greedy answer on the clean prompt: at most TRACE_ANSWER_MAX_TOKENS tokens,
   * ending at the first token that holds a newline or a period. Its first token is the traced
   * one unless an answer was given.
   */
  greedy: { text: string; tokens: Token[] };
}
