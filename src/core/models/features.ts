// The special parts of an opened model's architecture, in words, derived from its spec and
// config (never from its name): what `mechedit info` and the Model view list.

import type { ModelPlan } from './model';

/** Layers as "0, 2, 4" (or "all"). */
function layerList(layers: number[], total: number): string {
  return layers.length === total ? 'all layers' : `layer${layers.length === 1 ? '' : 's'} ${layers.join(', ')}`;
}

export function archFeatures(plan: ModelPlan): string[] {
  const { spec, dims } = plan;
  const v = dims.variants;
  const b = spec.weights.block;
  const out: string[] = [];
  const offset = spec.normOffset ? ` x̂·(${spec.normOffset} + w)` : '';
  const norms = spec.parallel
    ? 'one norm feeding attention and MLP in parallel'
    : b.ln1 && b.postMlpNorm ? 'sandwich norms (before and after attention and MLP)' : b.postMlpNorm ? 'norms after attention and MLP, inside the residual' : 'pre-norm';
  out.push(`${spec.norm === 'rms' ? `RMSNorm${offset}` : 'LayerNorm'}, ${norms}`);
  if (spec.qkNorm) out.push(`q/k RMSNorm ${spec.qkNorm === 'head' ? 'per head over head_dim' : 'over the whole projection'}, before RoPE`);
  if (spec.embedScale) out.push('embeddings × √d_model');
  if (b.qkv || b.gateUp) out.push(`fused ${[b.qkv && 'q|k|v', b.gateUp && 'gate|up'].filter(Boolean).join(' and ')} projection${b.qkv && b.gateUp ? 's' : ''}`);
  if (dims.heads !== dims.kvHeads) out.push(`grouped-query attention (${dims.heads} query / ${dims.kvHeads} key-value heads)`);
  if (dims.heads * dims.headDim !== dims.dModel) out.push(`head_dim ${dims.headDim} (heads × head_dim ≠ d_model)`);
  const sliding = v.windows.flatMap((w, l) => (w === undefined ? [] : [l]));
  if (sliding.length > 0) out.push(`sliding window ${v.windows[sliding[0]]} on ${layerList(sliding, dims.layers)}`);
  if (v.queryScale !== undefined) out.push(`attention scale ${v.queryScale.toPrecision(4)} (query_pre_attn_scalar)`);
  if (v.attnSoftcap !== undefined) out.push(`attention soft-capping ${v.attnSoftcap}`);
  if (v.finalSoftcap !== undefined) out.push(`final logit soft-capping ${v.finalSoftcap}`);
  if (dims.rotaryDim > 0) {
    const noRope = v.layerRope.flatMap((r, l) => (r < 0 ? [l] : []));
    if (dims.rotaryDim < dims.headDim) out.push(`partial RoPE (${dims.rotaryDim} of ${dims.headDim} dims)`);
    if (v.ropes.some((r) => r.long)) out.push(`longrope (long factors past ${v.ropes.find((r) => r.long)!.long!.after} positions)`);
    if (v.ropes.length > 1) out.push(`local RoPE base on ${layerList(v.layerRope.flatMap((r, l) => (r === 1 ? [l] : [])), dims.layers)}`);
    if (noRope.length > 0) out.push(`no RoPE on ${layerList(noRope, dims.layers)}`);
  }
  out.push(`${spec.gatedMlp || b.gateUp ? 'gated MLP' : 'MLP'} (${dims.activation})`);
  out.push(dims.tied ? 'tied embeddings' : 'untied embeddings');
  return out;
}
