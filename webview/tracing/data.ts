// Pure data of the Causal Tracing panel: a kind of restoration as a layer × token grid, token
// labels with the subject marked, and CSV. No DOM, so the unit tests import it in Node.

import type { CausalTraceResult, CausalTraceRun } from '../../src/protocol/model';
import type { Grid } from '../shared/heatmap';

export type EffectKind = 'resid' | 'mlp' | 'attn';

export const KINDS: { id: EffectKind; title: string }[] = [
  { id: 'resid', title: 'residual state restored (single layer)' },
  { id: 'mlp', title: 'MLP outputs restored (window of layers)' },
  { id: 'attn', title: 'attention outputs restored (window of layers)' },
];

/** P(answer) with the state at (layer, token) restored: values[layer · tokens + token]. */
export function effectGrid(r: CausalTraceResult, kind: EffectKind): Grid {
  const rows = r.scores[kind];
  const tokens = r.tokens.length;
  const values = new Float32Array(rows.length * tokens);
  rows.forEach((row, l) => row.forEach((v, t) => (values[l * tokens + t] = v)));
  return { layers: rows.length, tokens, values };
}

/** Token labels, the subject's tokens starred (as in ROME's figures). */
export function tokenLabels(r: CausalTraceResult): string[] {
  return r.tokens.map((t, i) => (i >= r.subject[0] && i < r.subject[1] ? `${t.text}*` : t.text));
}

/**
 * The colour domain shared by the three maps: the absolute range of a probability, 0 to 1, so a
 * trace whose restorations all sit near the corrupted level looks flat instead of being stretched
 * to the full scale. The legend marks the clean and corrupted levels (legendMarks).
 */
export function effectDomain(): [number, number] {
  return [0, 1];
}

/** The levels marked on the legend: where the corrupted and the clean P(answer) sit on the scale, 0–1. */
export function legendMarks(r: CausalTraceResult): { id: 'corrupted' | 'clean'; label: string; at: number }[] {
  const [lo, hi] = effectDomain();
  const at = (p: number) => Math.min(1, Math.max(0, (p - lo) / (hi - lo)));
  return [
    { id: 'corrupted', label: `corrupted ${(100 * r.corruptedProb).toFixed(1)} %`, at: at(r.corruptedProb) },
    { id: 'clean', label: `clean ${(100 * r.cleanProb).toFixed(1)} %`, at: at(r.cleanProb) },
  ];
}

/** One row per (kind, layer, token): kind,layer,position,token,subject,p_answer. */
export function tracingCsv(r: CausalTraceResult): string {
  const lines = ['kind,layer,position,token,subject,p_answer'];
  for (const k of KINDS) {
    r.scores[k.id].forEach((row, l) => row.forEach((v, t) => {
      const inSubject = t >= r.subject[0] && t < r.subject[1];
      lines.push(`${k.id},${l},${t},${JSON.stringify(r.tokens[t].text)},${inSubject ? 1 : 0},${v}`);
    }));
  }
  return `${lines.join('\n')}\n`;
}

/** Which model a trace ran on, in words: the edited one with its edits by label, or the bare one. */
export function tracedOn(r: Pick<CausalTraceRun, 'edits'> & { bare: boolean }): string {
  if (r.bare) return 'Traced on the bare model: no edits ("Trace the bare model" was on; your edits stay applied).';
  if (!r.edits.length) return 'Traced on the model without edits (none was applied).';
  const labels = r.edits.map((e) => (e.strength === 1 ? JSON.stringify(e.label) : `${JSON.stringify(e.label)} ×${e.strength}`));
  return `Traced on the edited model: ${r.edits.length} edit${r.edits.length === 1 ? '' : 's'} applied, ${labels.join(', ')}.`;
}
