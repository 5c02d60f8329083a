// Results that carry tensors, in the form in which they cross engine → extension → webview: each
// large numeric array is one WireTensor (./tensor.ts: base64 of raw float32 bytes), never a JSON
// array. The engine encodes with encode*; the webview decodes with decode* into the plain form
// (number[], number[][]) that core computes, the CLI prints and the panels draw.

import type { CausalTraceResult } from './model';
import type { ConceptLayer, ConceptResult } from './concepts';
import { decodeRows, decodeVector, encodeRows, encodeVector, type WireTensor } from './tensor';

type TraceKind = keyof CausalTraceResult['scores'];
const TRACE_KINDS: TraceKind[] = ['resid', 'mlp', 'attn'];

/** CausalTraceResult on the wire: each score grid a float32 tensor [layers, tokens]. */
export type CausalTraceWire = Omit<CausalTraceResult, 'scores'> & { scores: Record<TraceKind, WireTensor> };

export function encodeCausalTrace<T extends CausalTraceResult>(r: T): Omit<T, 'scores'> & CausalTraceWire {
  const scores = Object.fromEntries(TRACE_KINDS.map((k) => [k, encodeRows(r.scores[k])])) as Record<TraceKind, WireTensor>;
  return { ...r, scores };
}

export function decodeCausalTrace<T extends CausalTraceWire>(r: T): Omit<T, 'scores'> & Pick<CausalTraceResult, 'scores'> {
  const scores = Object.fromEntries(TRACE_KINDS.map((k) => [k, decodeRows(r.scores[k])])) as CausalTraceResult['scores'];
  return { ...r, scores };
}

/** ConceptResult on the wire: each layer's direction a float32 tensor [d_model]; the probe's projections [layers, tokens]. */
export type ConceptWire = Omit<ConceptResult, 'layers' | 'probe'> & {
  layers: (Omit<ConceptLayer, 'direction'> & { direction: WireTensor })[];
  probe?: { tokens: NonNullable<ConceptResult['probe']>['tokens']; values: WireTensor };
};

export function encodeConcepts(r: ConceptResult): ConceptWire {
  return {
    ...r,
    layers: r.layers.map((l) => ({ ...l, direction: encodeVector(l.direction) })),
    probe: r.probe ? { tokens: r.probe.tokens, values: encodeRows(r.probe.values) } : undefined,
  };
}

export function decodeConcepts(r: ConceptWire): ConceptResult {
  return {
    ...r,
    layers: r.layers.map((l) => ({ ...l, direction: decodeVector(l.direction) })),
    probe: r.probe ? { tokens: r.probe.tokens, values: decodeRows(r.probe.values) } : undefined,
  };
}
