// Sequential (lifelong) editing as a listed diagnostic, and its settings: the one descriptor that
// `mechedit sequential`, 'lifelong/run' and the registry share. It runs through its own job
// (jobs/sequentialJob.ts; diagnostics/sequential.ts keeps its crash-safe run folder), not runDiagnostic.

import type { MethodDescriptor, SettingSpec } from '../../../protocol/registry';
import type { DiagnosticPlugin } from './types';
import { factMethodIds } from '../../methods/factEditors';
import { LAMBDA, LAYER, LAYERS, STEPS } from '../../methods/specs';
import { beside, PRESET_SETTING } from './common';
import CURVE_POINT_SCHEMA from '../../../../schemas/runs/sequential.schema.json';

/** The fact editors a sequential run may use: those whose descriptor has the `sequential` capability. */
export const SEQUENTIAL_METHODS: readonly string[] = factMethodIds('sequential');

/** The settings of the run itself (the engine's 'lifelong/run' fields; the CLI's flags in kebab case). */
export const SEQUENTIAL_SETTINGS: readonly SettingSpec[] = [
  { name: 'method', type: 'enum', options: SEQUENTIAL_METHODS, optionsFrom: 'a fact editor with capabilities.sequential (mechedit methods)', required: true, doc: 'the fact editor; each edit is computed on the model as edited so far' },
  { name: 'requestsFile', cli: 'requests', type: 'file', doc: 'fact requests (JSON Lines or a JSON array, as for mechedit edit); a record may carry "paraphrases" (or CounterFact\'s "paraphrase_prompts")' },
  { name: 'worldCounterfactuals', type: 'int', min: 1, max: 10_000_000, doc: 'the first N of eval/counterfactuals.json beside the model (the bundled world), instead of a requests file' },
  { name: 'batch', type: 'int', min: 1, max: 100_000, default: 1, doc: 'requests per edit (batch editors only; one-fact editors: 1)' },
  { name: 'every', type: 'int', min: 1, max: 10_000_000, default: 100, doc: 'measure every K requests, and at 0 and at the end' },
  { name: 'consolidate', type: 'string', default: 'exact', doc: 'how the stack folds a module\'s edits once their summed rank passes min(d_out, d_in): exact (one dense ΔW), svd:TOL (a truncated SVD within relative Frobenius error TOL, e.g. svd:0.01), off' },
];

/** The settings passed to every edit of the run (the engine's `settings` object; the CLI's flags). */
export const SEQUENTIAL_EDIT_SETTINGS: readonly SettingSpec[] = [LAYER, LAYERS, LAMBDA, STEPS, { ...PRESET_SETTING, doc: "every edit's preset (a preset of the method: mechedit methods lists them); absent: the method's default preset" }];

export const SEQUENTIAL_DESCRIPTOR: MethodDescriptor = {
  id: 'sequential', label: 'Sequential editing', family: 'diagnostic', kind: 'diagnostic',
  description: 'lifelong editing: N fact edits one after another (or in batches), and the curve of what survives every K edits',
  settings: [...SEQUENTIAL_SETTINGS, ...SEQUENTIAL_EDIT_SETTINGS], presets: [],
  outputs: ['a run folder: run.json, edits/ (one edit file per batch), curve.jsonl (one point per line)'],
  doc: 'docs/diagnostics/sequential.md',
  measured: 'ROME after 300 edits: 1.3 % still land, unrelated facts 0.5 % (`mechedit sequential --default --method rome --world-counterfactuals 1000 --every 100 --out D`, 2026-12-04)',
};

export const sequentialPlugin: DiagnosticPlugin = {
  descriptor: SEQUENTIAL_DESCRIPTOR,
  dataSetting: 'requestsFile',
  defaultData: (m) => beside(m, 'counterfactuals.json', 'requestsFile', 'fact requests file', 'Give --requests FILE, or a model with eval/counterfactuals.json for --world-counterfactuals N.'),
  records: CURVE_POINT_SCHEMA,
  renderer: 'lifelong.curve',
};
