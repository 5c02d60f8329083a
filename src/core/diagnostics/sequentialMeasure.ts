// What a sequential-editing run (sequential.ts) measures at each point of its curve, on the model
// as edited so far. Every figure is a first-token top-1 rate (the answer's first token, " " +
// answer tokenised apart from the prompt, is the most likely next token), from one batched
// scoreAnswers call per point:
//   efficacy     o* after each applied request's own prompt (at 0 edits: over all the run's
//                requests, the rate before editing — about 0 by construction of the counterfactuals);
//   paraphrase   o* after each applied request's paraphrases (NaN when the requests carry none);
//   specificity  of the unrelated facts the unedited model answers top-1, the share it still does;
//   skills       multiple choice (letter), true/false, two-hop: the share answered top-1;
//   counterfact  CounterFact's efficacy / paraphrase scores P(new) > P(old) and magnitudes over the same
//                requests, when every request has target_true (counterfact.ts; teacher-forced, whole answer);
//   health       ‖ΔW‖_F / ‖W‖_F per edited module, ΔW the sum of all applied edits (formed densely
//                in float64 from their factors).

import type { LoadedModel } from '../runtime/model';
import { readTensorF32 } from '../checkpoint/safetensors';
import { scoreAnswers, type AnswerPair, type AnswerScore } from '../runtime/answers';
import { caseTask, summarizeCounterFact, type CounterFactCase, type CounterFactSummary } from './counterfact';
import type { LifelongPoint } from '../../protocol/lifelong';
import { cancelled } from '../errors';
import { addDense, type FactorPart } from '../edits/consolidate';
import { dot } from '../edits/linalg';
import type { Edit } from '../edits/editFile';
import type { Probe, SequentialProbes, SequentialRequest } from './sequentialData';

export interface PointFigures {
  efficacy: number;
  paraphrase: number;
  specificity: number;
  skills: { choice: number; trueFalse: number; twoHop: number };
  health: { module: string; relNorm: number }[];
  counterfact?: LifelongPoint['counterfact'];
}

const pct = (hits: boolean[]) => (hits.length ? (100 * hits.filter(Boolean).length) / hits.length : NaN);

export const fill = (r: SequentialRequest) => r.prompt.replace('{}', r.subject);

/**
 * Per pair: is the answer's first token the argmax of the next-token logits after the prompt?
 * Only the last position's logits are computed (logits 'last' reads the last *padded* position, so
 * each batch holds prompts of one token length), up to `batch` prompts a run.
 */
export async function firstTokenTop(model: LoadedModel, pairs: AnswerPair[], isCancelled?: () => boolean, batch = 128): Promise<boolean[]> {
  const byLength = new Map<number, { index: number; ids: number[]; want: number }[]>();
  pairs.forEach((p, index) => {
    const ids = model.tokenizer.encode(p.prompt);
    const want = model.tokenizer.encode(` ${p.answer}`, false)[0];
    if (!byLength.has(ids.length)) byLength.set(ids.length, []);
    byLength.get(ids.length)!.push({ index, ids, want });
  });
  const out = new Array<boolean>(pairs.length).fill(false);
  for (const group of byLength.values()) {
    for (let i = 0; i < group.length; i += batch) {
      if (isCancelled?.()) throw cancelled();
      const chunk = group.slice(i, i + batch);
      const r = await model.run({ logits: 'last' }, model.makeBatch(chunk.map((c) => c.ids)));
      const data = r.logits.data as Float32Array;
      const width = r.logits.dims[2];
      const V = Math.min(width, model.dims.vocab);
      chunk.forEach((c, b) => {
        let best = 0;
        for (let v = 1; v < V; v++) if (data[b * width + v] > data[b * width + best]) best = v;
        out[c.index] = best === c.want;
      });
    }
  }
  return out;
}

const asPairs = (probes: Probe[]) => probes.map((p) => ({ prompt: p.prompt, answer: p.answer }));

/** The unrelated facts the unedited model answers top-1: the base of specificity. */
export async function knownProbes(bare: LoadedModel, probes: Probe[]): Promise<Probe[]> {
  const top = await firstTokenTop(bare, asPairs(probes));
  return probes.filter((_, i) => top[i]);
}

/** ‖ΔW‖_F / ‖W‖_F per module the edits touch ("L0 mlp.out"), ΔW = Σ Uᵀ V over all of them. */
export function stackHealth(model: LoadedModel, edits: Edit[]): { module: string; relNorm: number }[] {
  const parts = new Map<string, { layer: number; module: string; parts: FactorPart[] }>();
  for (const e of edits) {
    e.json.targets.forEach((t, i) => {
      const key = `L${t.layer} ${t.module}`;
      if (!parts.has(key)) parts.set(key, { layer: t.layer, module: t.module, parts: [] });
      parts.get(key)!.parts.push({ rank: t.rank, U: e.tensors[i].U, V: e.tensors[i].V, alpha: 1 });
    });
  }
  return [...parts].map(([module, p]) => {
    const w = p.module === 'mlp.out' ? model.plan.blocks[p.layer].down : model.plan.blocks[p.layer].o;
    const W = readTensorF32(w.w);
    const D = addDense(new Float64Array(w.out * w.in), p.parts, w.out, w.in);
    return { module, relNorm: Math.sqrt(dot(D, D) / dot(W, W)) };
  }).sort((a, b) => a.module.localeCompare(b.module, 'en', { numeric: true }));
}

/**
 * The figures of one point. `applied`: the requests applied so far (empty at 0 edits, when
 * `all` — the run's requests — are measured instead); `known`: knownProbes of the specificity facts.
 */
export async function measurePoint(model: LoadedModel, applied: SequentialRequest[], all: SequentialRequest[], known: Probe[], probes: SequentialProbes, edits: Edit[], isCancelled?: () => boolean): Promise<PointFigures> {
  const reqs = applied.length ? applied : all;
  const groups: AnswerPair[][] = [
    reqs.map((r) => ({ prompt: fill(r), answer: r.target })),
    reqs.flatMap((r) => (r.paraphrases ?? []).map((prompt) => ({ prompt, answer: r.target }))),
    asPairs(known),
    asPairs(probes.skills.choice),
    asPairs(probes.skills.trueFalse),
    asPairs(probes.skills.twoHop),
  ];
  const top = await firstTokenTop(model, groups.flat(), isCancelled);
  let at = 0;
  const [efficacy, paraphrase, specificity, choice, trueFalse, twoHop] = groups.map((g) => pct(top.slice(at, (at += g.length))));
  const counterfact = await counterFactPoint(model, reqs, isCancelled);
  return { efficacy, paraphrase, specificity, skills: { choice, trueFalse, twoHop }, health: stackHealth(model, edits), ...(counterfact ? { counterfact } : {}) };
}

/** CounterFact's efficacy and paraphrase scores and magnitudes over the requests (counterfact.ts); undefined unless every request has target_true. */
export async function counterFactPoint(model: LoadedModel, reqs: SequentialRequest[], isCancelled?: () => boolean): Promise<PointFigures['counterfact']> {
  if (!reqs.length || !reqs.every((r) => r.targetTrue)) return undefined;
  const prompts = (r: SequentialRequest) => [fill(r), ...(r.paraphrases ?? [])];
  const pairs = reqs.flatMap((r) => prompts(r).flatMap((prompt) => [{ prompt, answer: r.target }, { prompt, answer: r.targetTrue! }]));
  const scores = await scoreAnswers(model, pairs, { isCancelled });
  let at = 0;
  const cases: CounterFactCase[] = reqs.map((r) => {
    const n = prompts(r).length;
    const pts = Array.from({ length: n }, (): [AnswerScore, AnswerScore] => [scores[at++], scores[at++]]);
    const paraphrase = caseTask(pts.slice(1));
    return { efficacy: caseTask(pts.slice(0, 1)), ...(paraphrase ? { paraphrase } : {}) };
  });
  const s = summarizeCounterFact(cases);
  const pick = (t: CounterFactSummary['efficacy']) => ({ score: t.score, magnitude: t.magnitude, top1: t.top1 ?? NaN });
  return { version: s.version, efficacy: pick(s.efficacy), ...(s.paraphrase.cases ? { paraphrase: pick(s.paraphrase) } : {}) };
}
