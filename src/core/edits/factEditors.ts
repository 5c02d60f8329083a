// One entry point for the fact editors (ROME, MEMIT, AlphaEdit, DiKE, GLAME), so that the CLI, the
// engine, EVOKE / FINE-KED runs and the benches pick a method by name and call the same code.
// Each method keeps its own module (rome.ts, memit.ts, alphaedit.ts, dike.ts, glame.ts); this file only
// maps the shared settings onto their options.

import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import type { EditStack } from './stack';
import type { Edit } from './editFile';
import type { VStarResult, VStarStep } from './vstar';
import { computeRome, type FactRequest } from './rome';
import { computeMemit } from './memit';
import { computeAlphaEdit } from './alphaedit';
import { computeDike } from './dike';
import { computeGlame } from './glame';

export const FACT_METHODS = ['rome', 'memit', 'alphaedit', 'dike', 'glame'] as const;
export type FactMethod = (typeof FACT_METHODS)[number];

/** Methods that edit one fact at a time (the others take a batch). */
export const SINGLE_FACT_METHODS: readonly FactMethod[] = ['rome', 'dike', 'glame'];

export interface FactEditSettings {
  /** ROME / DiKE: the edit layer (default: the checkpoint's or the papers'). */
  layer?: number;
  /** MEMIT / AlphaEdit: the edit layers. */
  layers?: number[];
  lti?: boolean;
  /** MEMIT: mom2_update_weight; AlphaEdit: its λ (the ridge on the projected system, × the mean eigenvalue of C). */
  lambda?: number;
  /** AlphaEdit: eigenvalue threshold for the null space of the key statistics (× their mean eigenvalue). */
  threshold?: number;
  /** DiKE: the KRD module file (default: krd-L{layer}.safetensors beside the checkpoint; none there is an error saying to run `mechedit dike train`). */
  krd?: string;
  /** GLAME: the knowledge graph file (default: world.json beside the checkpoint; knowledgeGraph.ts) and the subgraph size n. */
  graph?: string;
  subgraphSize?: number;
  corpus?: string[];
  /** Key vectors averaged for the statistics (default 10 × d_mlp). */
  samples?: number;
  /** Steps of the v* / δ optimisation (default: the method's). */
  steps?: number;
  seed?: number;
  label?: string;
  onStep?: (s: VStarStep) => void;
  isCancelled?: () => boolean;
}

export interface FactEditResult {
  edit: Edit;
  /** The v* (or δ) optimisation of each request. */
  vstar: VStarResult[];
  timing: Record<string, number>;
}

export function isFactMethod(m: unknown): m is FactMethod {
  return typeof m === 'string' && (FACT_METHODS as readonly string[]).includes(m);
}

export async function computeFactEdit(method: FactMethod, model: LoadedModel, stack: EditStack, requests: FactRequest[], s: FactEditSettings = {}): Promise<FactEditResult> {
  if (SINGLE_FACT_METHODS.includes(method) && requests.length !== 1) {
    throw badInput(`${{ rome: 'ROME', dike: 'DiKE', glame: 'GLAME' }[method as 'rome' | 'dike' | 'glame']} edits one fact at a time; got ${requests.length}`, { field: 'requests', hint: 'Use MEMIT or AlphaEdit for several facts.' });
  }
  const run = { onStep: s.onStep, isCancelled: s.isCancelled, lti: s.lti, corpus: s.corpus, samples: s.samples, seed: s.seed, label: s.label };
  const steps = s.steps ? { steps: s.steps } : {};
  switch (method) {
    case 'rome': {
      const r = await computeRome(model, stack, requests[0], { ...run, layer: s.layer, hparams: steps });
      return { edit: r.edit, vstar: [r.report.vstar], timing: r.report.timing };
    }
    case 'memit': {
      const r = await computeMemit(model, stack, requests, { ...run, layers: s.layers, hparams: { ...steps, ...(s.lambda ? { lambda: s.lambda } : {}) } });
      return { edit: r.edit, vstar: r.report.vstar, timing: r.report.timing };
    }
    case 'alphaedit': {
      const r = await computeAlphaEdit(model, stack, requests, { ...run, layers: s.layers, lambda: s.lambda, threshold: s.threshold, hparams: steps });
      return { edit: r.edit, vstar: r.report.vstar, timing: r.report.timing };
    }
    case 'dike': {
      const r = await computeDike(model, stack, requests[0], { ...run, layer: s.layer, krd: s.krd, hparams: { ...steps, ...(s.lambda ? { lambda: s.lambda } : {}) } });
      return { edit: r.edit, vstar: [r.report.vstar], timing: r.report.timing };
    }
    case 'glame': {
      const r = await computeGlame(model, stack, requests[0], { ...run, layer: s.layer, graph: s.graph, subgraphSize: s.subgraphSize, hparams: steps });
      return { edit: r.edit, vstar: [r.report.vstar], timing: r.report.timing };
    }
  }
}
