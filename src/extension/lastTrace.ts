// The causal traces run in this window (the Causal Tracing panel), kept per model, prompt and
// subject, so that the Edit Result view can show each layer's effect from a trace of the same
// prompt instead of its fast probe. In memory only (a trace is minutes of work on big models,
// seconds on the bundled one: it is not worth a file).

import { decodeCausalTrace, type CausalTraceWire } from '../protocol/wire';

export interface KeptTrace {
  prompt: string;
  subject: string;
  answer: string;
  recommendedLayer?: number;
  /** Edits applied when it ran. */
  edits: number;
  /** P(answer) with the subject corrupted. */
  corruptedProb: number;
  /** Per layer: the indirect effect at the subject's last token, P(answer) with the MLP window restored there (the trace's MLP map) minus corruptedProb. */
  effects: { layer: number; value: number }[];
}

const kept = new Map<string, KeptTrace>();
const key = (model: string, prompt: string, subject: string) => JSON.stringify([model, prompt.trim(), subject.trim()]);

/** Keeps a finished trace of `model` (the newest per prompt and subject). */
export function keepTrace(model: string | undefined, p: { prompt: string; subject: string }, wire: CausalTraceWire, edits: number): void {
  if (!model) return;
  const r = decodeCausalTrace(wire);
  const last = r.subject[1] - 1;
  kept.set(key(model, p.prompt, p.subject), {
    prompt: p.prompt, subject: p.subject, answer: r.answer.text, recommendedLayer: r.recommendedLayer, edits, corruptedProb: r.corruptedProb,
    effects: r.scores.mlp.map((row, layer) => ({ layer, value: row[last] - r.corruptedProb })),
  });
}

/** The kept trace of this prompt and subject on `model`, if one was run. */
export function traceOf(model: string | undefined, prompt: string, subject: string): KeptTrace | undefined {
  return model ? kept.get(key(model, prompt, subject)) : undefined;
}
