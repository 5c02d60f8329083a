// Tap names: the stable contract between the model, the views and the edits
// (TransformerLens-style). Shapes, with B = batch, S = new positions, T = past + new positions:
//   blocks.{l}.resid_pre   [B, S, d_model]  input of block l
//   blocks.{l}.attn_out    [B, S, d_model]  attention output, after the output projection (+ bias, + edit)
//   blocks.{l}.mlp.key     [B, S, d_mlp]    input of the MLP output projection (what ROME calls k)
//   blocks.{l}.mlp_out     [B, S, d_model]  MLP output, after the output projection (+ bias, + edit)
//   blocks.{l}.resid_post  [B, S, d_model]  output of block l
//   final_norm             [B, S, d_model]  the final norm's output (input of the unembedding)
//   logits                 [B, S, vocab]
// Attention heads (patchGraph.ts; built only when asked for, not in allTapNames):
//   blocks.{l}.attn.head.{h}  [B, S, d_model]     head h's contribution to attn_out, z_h · W_O[h]
//   blocks.{l}.attn.heads     [B, H, S, d_model]  all heads;  blocks.{l}.attn.pattern [B, H, S, T]
// Edit inputs, one pair per output projection (y = W x + Uᵀ (V x); r = 0 means no edit, exactly):
//   blocks.{l}.mlp.out.U [r, d_model], blocks.{l}.mlp.out.V [r, d_mlp]
//   blocks.{l}.attn.out.U [r, d_model], blocks.{l}.attn.out.V [r, heads·head_dim]
// Logit lens (trace graphs), k most likely tokens of final_norm(resid_post) through the unembedding:
//   blocks.{l}.lens.ids [B, S, k] int64, blocks.{l}.lens.logprobs [B, S, k]
//   blocks.{l}.{resid_post|attn_out|mlp_out}.norm [B, S]  L2 norms
// KV cache (generation graphs): past.{l}.key/value [B, kv_heads, P, head_dim] → present.{l}.key/value [B, kv_heads, T, head_dim]

export type BlockTap = 'resid_pre' | 'attn_out' | 'mlp.key' | 'mlp_out' | 'resid_post';
export const BLOCK_TAPS: readonly BlockTap[] = ['resid_pre', 'attn_out', 'mlp.key', 'mlp_out', 'resid_post'];
export type EditModule = 'mlp.out' | 'attn.out';
export const EDIT_MODULES: readonly EditModule[] = ['mlp.out', 'attn.out'];

export const tapName = (layer: number, tap: BlockTap): string => `blocks.${layer}.${tap}`;
export const editInput = (layer: number, module: EditModule, which: 'U' | 'V'): string => `blocks.${layer}.${module}.${which}`;

/**
 * Where the v* graph (ROME / MEMIT's δ) enters: after block `layer` at resid_post, where the MLP
 * output is added to the residual as it is; or, where a norm follows the MLP's output projection
 * inside the residual branch (Gemma, OLMo 2), at block `layer`'s resid_pre, with δ added to that
 * projection's output (mlp_out) before the norm, which is what an edit of the projection changes.
 * Callers feed this tap as the graph's `resid` input.
 */
export function deltaEntryTap(spec: { weights: { block: { postMlpNorm?: string } } }): 'resid_pre' | 'resid_post' {
  return spec.weights.block.postMlpNorm ? 'resid_pre' : 'resid_post';
}

export function allTapNames(layers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < layers; l++) for (const t of BLOCK_TAPS) names.push(tapName(l, t));
  return [...names, 'final_norm', 'logits'];
}
