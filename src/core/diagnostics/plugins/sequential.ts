// Sequential (lifelong) editing as a listed diagnostic: its settings as `mechedit sequential` and
// the Lifelong panel take them. It runs through its own command and 'lifelong/run'
// (sequential.ts has its own crash-safe run folder), not runDiagnostic.

import type { DiagnosticPlugin } from './types';
import { FACT_METHODS } from '../../methods/factEditors';
import { beside, PER_CASE_SETTINGS } from './common';

export const sequentialPlugin: DiagnosticPlugin = {
  descriptor: {
    id: 'sequential',
    label: 'Sequential editing',
    description: 'N fact requests applied one after another (or in batches), the model measured every K: what survives as edits pile up',
    family: 'diagnostic',
    kind: 'diagnostic',
    settings: [
      { name: 'method', type: 'enum', options: FACT_METHODS, required: true, doc: 'the fact editor; each edit is computed on the model as edited so far' },
      { name: 'requests', type: 'file', doc: 'fact requests, as for mechedit edit (JSON Lines or a JSON array)' },
      { name: 'worldCounterfactuals', type: 'int', min: 1, doc: 'the first N of eval/counterfactuals.json beside the model' },
      { name: 'batch', type: 'int', min: 1, default: 1, doc: 'requests per edit (MEMIT, AlphaEdit; ROME, DiKE and GLAME: 1)' },
      { name: 'every', type: 'int', min: 1, default: 100, doc: 'measure every K requests, and at 0 and at the end' },
      ...PER_CASE_SETTINGS.filter((s) => s.name !== 'lti' && s.name !== 'corpus'),
      { name: 'steps', type: 'int', min: 1, doc: "v* optimisation steps (default: the method's)" },
      { name: 'consolidate', type: 'string', default: 'exact', doc: "how the stack folds a module's edits: exact, svd:TOL or off" },
      { name: 'out', type: 'string', required: true, doc: 'run folder: run.json, edits/, curve.jsonl' },
      { name: 'resume', type: 'boolean', default: false, doc: 'continue a run folder after a crash or Ctrl-C' },
    ],
    presets: [],
    outputs: ['a run folder: run.json, edits/ (one edit file per batch), clock.json, curve.jsonl'],
  },
  dataSetting: 'requests',
  defaultData: (m) => beside(m, 'counterfactuals.json', 'requests', 'fact requests file', 'Give --requests FILE, or a model with eval/counterfactuals.json for --world-counterfactuals N.'),
  renderer: 'lifelong.curve',
};
