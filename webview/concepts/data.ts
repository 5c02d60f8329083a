// Pure data of the Concepts panel: the probe's projections as a layer × token grid, prompt lists
// from text, and CSV. No DOM, so the unit tests import it in Node.

import type { ConceptResult } from '../../src/protocol/concepts';
import type { Grid } from '../shared/heatmap';

/** Non-empty trimmed lines. */
export function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** values[layer · tokens + token] = the probe token's resid_post · d̂_layer. */
export function projectionGrid(r: ConceptResult): Grid | undefined {
  if (!r.probe) return undefined;
  const tokens = r.probe.tokens.length;
  const values = new Float32Array(r.layers.length * tokens);
  r.probe.values.forEach((row, l) => row.forEach((v, t) => (values[l * tokens + t] = v)));
  return { layers: r.layers.length, tokens, values };
}

/** One row per layer: layer, auc (training prompts), held-out auc, norm, lens top tokens, largest edit cosine. */
export function conceptCsv(r: ConceptResult): string {
  const rows = r.layers.map((l) => `${l.layer},${l.auc},${l.heldOutAuc},${l.norm},${JSON.stringify(l.lens.map((t) => t.text).join(' '))},${l.cosEdits.length ? Math.max(...l.cosEdits.map((c) => c.cos)) : ''}`);
  return `layer,auc,held_out_auc,norm,lens_top,max_edit_cos\n${rows.join('\n')}\n`;
}
