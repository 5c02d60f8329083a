// The settings the diagnostics share (SettingSpec, protocol/registry.ts), named once: the data,
// the per-case edit (method, LTI, layer, layers, λ, corpus), the run folder (out, resume, shard,
// limit) and the baseline; and the default data beside the checkpoint.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SettingSpec } from '../../../protocol/registry';
import type { LoadedModel } from '../../runtime/model';
import { badInput } from '../../errors';
import { perCaseMethods } from '../caseEdit';
import { FORCE_SETTING } from '../../outputs';

/** Bounds of --limit (cases or targets). */
export const MAX_LIMIT = 10_000_000;
/** Bounds of the per-case λ (MEMIT's mom2 weight, AlphaEdit's ridge). */
export const MAX_LAMBDA = 1e6;

export const dataSetting = (name: string, doc: string, beside: string): SettingSpec => ({ name, type: 'file', doc, fromCheckpoint: `${beside} beside the checkpoint` });

/** The per-case method: none (the stack as it is) or a fact editor computing each case's own edit; `extra` adds the tool's own. */
export const methodSetting = (extra: string[] = []): SettingSpec => ({
  name: 'method', type: 'enum', options: [...perCaseMethods(), ...extra], default: 'none',
  optionsFrom: `none (the stack as it is)${extra.map((x) => `, ${x}`).join('')}, or a fact editor with capabilities.perCase (mechedit methods)`,
  doc: `none measures the stack as it is; a fact editor computes each case's own edit on top of it${extra.length ? ` (${extra.join(', ')}: see the tool's help)` : ''}`,
});

/** The preset of each case's (or each sequential) edit: a preset of the method (mechedit methods lists them); absent: its default preset. */
export const PRESET_SETTING: SettingSpec = { name: 'preset', type: 'string', doc: "the per-case edits' preset (a preset of the method: mechedit methods lists them); absent: the method's default preset" };

export const PER_CASE_SETTINGS: readonly SettingSpec[] = [
  PRESET_SETTING,
  { name: 'lti', type: 'boolean', default: false, doc: "EVOKE's LTI (the in-context teacher) for the per-case edits" },
  { name: 'layer', type: 'layer', doc: 'the per-case edits\' layer (ROME, DiKE, GLAME)', fromCheckpoint: "the checkpoint's edit layer" },
  { name: 'layers', type: 'layers', doc: "the per-case edits' layers (MEMIT, AlphaEdit)", fromCheckpoint: 'the layers before the edit layer, by depth' },
  { name: 'lambda', type: 'number', min: 0, exclusiveMin: true, max: MAX_LAMBDA, doc: "the per-case edits' λ (MEMIT's mom2 weight, AlphaEdit's ridge)", fromCheckpoint: "the method's default for the model" },
  { name: 'corpus', type: 'files', doc: 'key statistics corpus for the per-case edits', fromCheckpoint: 'corpus.txt beside the checkpoint' },
];

export const limitSetting = (what: string): SettingSpec => ({ name: 'limit', type: 'int', min: 1, max: MAX_LIMIT, doc: `the first N ${what}` });

export const RUN_SETTINGS: readonly SettingSpec[] = [
  { name: 'out', type: 'string', doc: 'run folder: run.json, cases.jsonl (one line per case), issues.json, summary.json', fromCheckpoint: 'CLI: mechedit-<tool>-<method>[-lti][-<i>of<n>] in the working folder; engine: <outDir>/<time>-<tool>-<method>[-lti]' },
  { name: 'resume', type: 'boolean', default: false, doc: 'continue a run folder after a crash or cancel (the same run: model, edits, data, settings, limit, shard)' },
  { name: 'shard', type: 'string', doc: 'i/n: only cases i, i+n, i+2n, … (0 ≤ i < n); join the folders with mechedit merge' },
  FORCE_SETTING,
];

export const baselineSetting: SettingSpec = { name: 'baseline', type: 'file', doc: 'a finished run of the same tool (e.g. method none) shown as "before" in report.html' };

/** `eval/<rel>` beside the checkpoint, or a bad-input error (field `field`) saying it is missing and what to give. */
export function beside(model: LoadedModel, rel: string, field: string, what: string, hint: string): string {
  const file = path.join(model.checkpoint.dir, 'eval', rel);
  if (!fs.existsSync(file)) throw badInput(`The model has no eval/${rel} (${file}): give the ${what} ("${field}")`, { field, hint });
  return file;
}
