// GLAME (METHODS.md "GLAME"; github.com/Acruxos/GLAME): ROME with its free vector δ replaced by the
// output of a relational graph network over a knowledge subgraph around the new object, so that the
// edit carries what the graph says about o* to the subject.
//   subgraph   knowledgeGraph.ts: the edit triple (s, r, o*) and o*'s outgoing triples, the first n,
//              edges reversed (object → subject): two layers carry neighbour → o* → s;
//   features   each node's and relation's label run alone through the model, resid_post of block
//              `featureLayer` averaged over the label's tokens (reference: block 5 of GPT-2 XL's 48,
//              2 of GPT-J's 28; default ⌊layers · 5/48⌋, block 0 on the bundled model, its edit layer);
//   GNN        rgcn.ts: 2 layers, width d_model, the same seeded initialisation for every edit;
//              `dropout` (the reference's gnn_feat_drop; 0 by default) after each activation, δ
//              included, in the optimisation steps only (the reference's gnn_model.train()); the
//              applied δ is the network's eval-mode output (gnn_model.eval()), its loss measured once
//              more for keepBest. The masks come from a generator seeded by `gnnSeed`, fresh for each
//              edit, so an edit is deterministic;
//   δ          GNN(θ)[s] added to the MLP output at the edit layer (ROME's v* problem, its update in
//              the loop and bare-prompt weight kept), clamped to 4‖v_init‖; AdamW on θ (lr 0.5,
//              weight decay 0.1), no δ-norm penalty (the reference's loss is NLL + 0.0625 KL), stop
//              under 0.04, keep the best δ (vstar.ts with a non-linear basis). The clamp's gradient is
//              its exact one (the reference passes ∂loss/∂δ straight through its in-place clamp;
//              `straightThrough`): AdamW at lr 0.5 grows the raw output far past the clamp
//              (‖GNN(θ)[s]‖ reaches 10³–10⁶ × ‖v_init‖ on the bundled model), where the straight-through
//              step barely turns δ; 4 of 6 birthplace edits took with it, 6 of 6 with the exact one.
//   update     ROME's closed form (rome.ts computeRome with the basis), v* = v_init + δ.
// `features` 'compositeNorm' (the reference's mquake composite_norm): the label's last-token state
// plus its mean state rescaled to the last one's norm, halved. Paper presets: glamePresets.ts.
// The edit file's hparams.subgraph records the triples, n and the feature layer; hparams.gnn the
// dropout, seed and features.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { tapName } from '../graph/taps';
import type { EditStack } from './stack';
import { newEditId, type Edit } from './editFile';
import type { DeltaBasis, VStarRun } from './vstar';
import { checkRequest, computeRome, defaultEditLayer, stepBudget, type FactRequest, type RomeHparams, type RomeReport, type LtiHparams } from './rome';
import { defaultGraphFile, defaultSubgraphSize, extractSubgraph, layoutSubgraph, readKnowledgeGraph, relationOfPrompt, type KnowledgeGraph, type Subgraph } from './knowledgeGraph';
import { RGCN_LAYERS, RRELU_SLOPE, rgcnBackward, rgcnForward, rgcnInit, rgcnParamCount, type RgcnCache } from './rgcn';
import { mulberry32 } from '../runtime/run';
import type { GlameFeatures } from './glamePresets';

/** GLAME's settings over ROME's: the reference's (GPT-2 XL CounterFact) optimiser, no δ decay. */
export const GLAME_HPARAMS: Partial<RomeHparams> = { lr: 0.5, adamWDecay: 0.1, weightDecay: 0, stopLoss: 0.04, keepBest: true };

/** The reference's GNN step budgets (GPT-2 XL 40, GPT-J 35); ROME's budget (stepBudget) elsewhere. */
export function glameSteps(modelType: string, layers: number): number {
  return stepBudget(modelType, layers, modelType === 'gptj' ? 35 : 40);
}

/** The block the features are read at: the reference's 5 of 48 (GPT-2 XL), 2 of 28 (GPT-J). */
export function defaultFeatureLayer(layers: number): number {
  return Math.floor((layers * 5) / 48);
}

export interface GlameOptions extends VStarRun {
  layer?: number;
  /** The graph file or graph (default: world.json beside the checkpoint). */
  graph?: string | KnowledgeGraph;
  subgraphSize?: number;
  featureLayer?: number;
  /** How a label's states become its feature (default 'avg': the mean over its tokens). */
  features?: GlameFeatures;
  /** Dropout after each GNN layer in the optimisation steps (default 0). */
  dropout?: number;
  /** The edit triple's relation (default: the world relation whose template is the prompt, else the prompt's words). */
  relation?: string;
  /** GLAME's per-case graphs: the case to use (default: the one holding the edit's subject and target). */
  caseId?: string;
  lti?: boolean | Partial<LtiHparams>;
  hparams?: Partial<RomeHparams>;
  /** Seed of the GNN's initialisation (default 0; the same for every edit). */
  gnnSeed?: number;
  /** The reference's gradient through the clamp (∂loss/∂δ as is) instead of the exact one (see the header). */
  straightThrough?: boolean;
  corpus?: string[];
  samples?: number;
  seed?: number;
  label?: string;
}

export interface GlameReport extends RomeReport {
  subgraph: Subgraph;
  relation: string;
  featureLayer: number;
}

/** Graph files as last read, by path (re-read when the file changes): benches edit case after case. */
const graphs = new Map<string, { mtimeMs: number; size: number; graph: KnowledgeGraph }>();

function graphFile(file: string): KnowledgeGraph {
  const abs = path.resolve(file);
  const st = fs.existsSync(abs) ? fs.statSync(abs) : undefined;
  const hit = graphs.get(abs);
  if (st && hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.graph;
  const graph = readKnowledgeGraph(abs);
  if (st) graphs.set(abs, { mtimeMs: st.mtimeMs, size: st.size, graph });
  return graph;
}

/** The subgraph an edit is given, and the relation named for its edit triple. */
export function glameSubgraph(model: LoadedModel, req: FactRequest, o: Pick<GlameOptions, 'graph' | 'subgraphSize' | 'relation' | 'caseId'> = {}): { subgraph: Subgraph; relation: string } {
  const graph = typeof o.graph === 'object' ? o.graph : graphFile(o.graph ?? defaultGraphFile(model.checkpoint.dir));
  const relation = o.relation ?? relationOfPrompt(graph, req.prompt);
  const n = o.subgraphSize ?? defaultSubgraphSize(model.dims.modelType);
  return { subgraph: extractSubgraph(graph, { subject: req.subject, relation, object: req.target }, n, o.caseId), relation };
}

/**
 * resid_post of block `layer` averaged over each label's own tokens (labels run alone, one batch)
 * [labels, d]; 'compositeNorm': (last + mean · ‖last‖ / ‖mean‖) / 2, last the label's last token.
 */
export async function labelFeatures(model: LoadedModel, layer: number, labels: string[], mode: GlameFeatures = 'avg'): Promise<Float64Array> {
  const d = model.dims.dModel;
  const rows = labels.map((l) => model.tokenizer.encode(l));
  const own = labels.map((l, i) => Math.max(1, Math.min(rows[i].length, model.tokenizer.encode(l, false).length)));
  const b = model.makeBatch(rows);
  const tap = tapName(layer, 'resid_post');
  const data = (await model.run({ taps: [tap], layers: layer + 1 }, b))[tap].data as Float32Array;
  const out = new Float64Array(labels.length * d);
  rows.forEach((row, i) => {
    for (let p = row.length - own[i]; p < row.length; p++) {
      for (let j = 0; j < d; j++) out[i * d + j] += data[(i * b.seq + p) * d + j] / own[i];
    }
    if (mode === 'compositeNorm') {
      const last = data.subarray((i * b.seq + row.length - 1) * d, (i * b.seq + row.length) * d);
      const mean = out.subarray(i * d, (i + 1) * d);
      const nl = Math.hypot(...last);
      const nm = Math.hypot(...mean);
      for (let j = 0; j < d; j++) mean[j] = (last[j] + (nm > 0 ? (mean[j] * nl) / nm : 0)) / 2;
    }
  });
  return out;
}

export async function computeGlame(model: LoadedModel, stack: EditStack, req: FactRequest, o: GlameOptions = {}): Promise<{ edit: Edit; report: GlameReport }> {
  checkRequest(req);
  const dims = model.dims;
  const d = dims.dModel;
  const featureLayer = o.featureLayer ?? defaultFeatureLayer(dims.layers);
  if (!Number.isInteger(featureLayer) || featureLayer < 0 || featureLayer >= dims.layers) throw badInput(`The feature layer must be in 0…${dims.layers - 1}, got ${featureLayer}`, { field: 'featureLayer' });
  const t0 = performance.now();
  const { subgraph, relation } = glameSubgraph(model, req, o);
  const layout = layoutSubgraph(subgraph.triples);
  const s = layout.nodes.indexOf(req.subject);
  if (s < 0) throw badInput(`The subgraph has no node for the subject ${JSON.stringify(req.subject)}`, { file: subgraph.source, field: 'subject', hint: 'A per-case graph\'s triples must include the edit triple (subject, relation, target).' });
  const features = o.features ?? 'avg';
  const dropout = o.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw badInput(`The GNN's dropout must be in [0, 1), got ${dropout}`, { field: 'dropout' });
  const feats = await labelFeatures(model, featureLayer, [...layout.nodes, ...layout.relations], features);
  const x = feats.subarray(0, layout.nodes.length * d);
  const rel = feats.subarray(layout.nodes.length * d);
  const g = { nodes: layout.nodes.length, edges: layout.edges };
  const gnnSeed = o.gnnSeed ?? 0;
  let cache: RgcnCache | undefined;
  let at = new Float64Array(0);
  const drop = dropout > 0 ? { p: dropout, rand: mulberry32((gnnSeed ^ 0x64726f70) >>> 0) } : undefined;
  const evalMode = (theta: Float64Array) => {
    at = Float64Array.from(theta);
    cache = rgcnForward(at, d, g, x, rel);
    return cache.out.slice(s * d, (s + 1) * d);
  };
  const basis: DeltaBasis = {
    dim: rgcnParamCount(d),
    map: (theta) => {
      at = Float64Array.from(theta);
      cache = rgcnForward(at, d, g, x, rel, RGCN_LAYERS, drop);
      return cache.out.slice(s * d, (s + 1) * d);
    },
    adjoint: (grad) => {
      const gOut = new Float64Array(g.nodes * d);
      gOut.set(grad, s * d);
      return rgcnBackward(at, d, g, cache!, gOut);
    },
    nonlinear: { init: rgcnInit(d, gnnSeed), straightThrough: o.straightThrough === true, ...(drop ? { final: evalMode } : {}) },
  };
  const tGraph = performance.now() - t0;
  const r = await computeRome(model, stack, req, {
    ...o,
    layer: o.layer ?? defaultEditLayer(dims).layer,
    hparams: { ...GLAME_HPARAMS, steps: glameSteps(dims.modelType, dims.layers), ...o.hparams },
    basis,
  });
  const json = r.edit.json;
  json.id = newEditId(`glame-${req.subject}`);
  json.method = 'glame';
  json.label = o.label ?? `GLAME: ${req.prompt.replace('{}', req.subject)} → ${req.target}`;
  json.hparams = {
    ...json.hparams,
    subgraph: {
      source: path.basename(subgraph.source),
      ...(subgraph.caseId !== undefined ? { caseId: subgraph.caseId } : {}),
      n: subgraph.n,
      leftOut: subgraph.leftOut,
      featureLayer,
      triples: subgraph.triples.map((t) => [t.subject, t.relation, t.object]),
    },
    gnn: {
      layers: RGCN_LAYERS, width: d, rreluSlope: RRELU_SLOPE, dropout, features, seed: gnnSeed, params: basis.dim, clampGradient: o.straightThrough ? 'straight-through' : 'exact',
      ...(r.report.vstar.finalLoss !== undefined ? { finalLoss: r.report.vstar.finalLoss } : {}),
    },
  };
  return { edit: r.edit, report: { ...r.report, timing: { ...r.report.timing, keys: r.report.timing.keys + tGraph }, subgraph, relation, featureLayer } };
}
