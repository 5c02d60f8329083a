// `mechedit unlearn`: gradient unlearning (the registry's objectives: GA, GradDiff, NPO, RT, DPO,
// RMU) as a low-rank edit file, through core's runUnlearnJob — the job the engine runs for VS Code,
// with the same settings, bounds and errors; flags and help come from the objectives' specs.
// Printed: the loss curve, the forget / retain (/ unrelated) top-1 before and after and, for an
// ORT target folder, the per-form table without and with the edit (core/train/unlearnEval.ts). `mechedit unlearn sweep-uipe` trains once and measures the edit
// at strength 1 + α for each α (UIPE's extrapolation, no retraining).

import * as fs from 'node:fs';
import { badInput } from '../../core/errors';
import type { EditHealth } from '../../core/edits/health';
import type { LoadedModel } from '../../core/runtime/model';
import { MAX_UIPE, OBJECTIVE_DESCRIPTORS, trainingSettings } from '../../core/methods/objectives';
import { checkUnlearnInput, objectiveDescriptor, runUnlearnJob, type UnlearnJobResult } from '../../core/jobs/unlearnJob';
import type { UnlearnResult } from '../../core/train/unlearn';
import { evaluateUnlearn, type UnlearnEval } from '../../core/train/unlearnEval';
import { modelHelp, modelOptions, openModel, stacks, type Command } from '../common';
import { methodSettings, settingsHelp, settingOptions } from '../registryFlags';
import { FORCE_SETTING } from '../../core/outputs';

const METHODS = OBJECTIVE_DESCRIPTORS.map((d) => d.id);

const HELP = [
  `mechedit unlearn --model DIR --method ${METHODS.join('|')} --forget FILE|ORT_DIR [settings] [--preset ID] --out FILE|DIR [--json]`,
  'mechedit unlearn sweep-uipe … --alphas 0,0.5,1,2,4 [--out FILE|DIR] [--json]',
  modelHelp,
  '  --method M               the objective:',
  ...OBJECTIVE_DESCRIPTORS.map((d) => `                             ${d.id.padEnd(9)}${d.description}`),
  ...settingsHelp(trainingSettings()),
  `  --preset ID              ${OBJECTIVE_DESCRIPTORS[0].presets.map((p) => `${p.id}: ${p.doc}`).join('; ')} (lr ${OBJECTIVE_DESCRIPTORS.map((d) => `${d.id} ${d.presets[0].values.lr}`).join(', ')};`,
  `                           retain weight ${OBJECTIVE_DESCRIPTORS.map((d) => `${d.id} ${d.presets[0].values.retainWeight}`).join(', ')})`,
  '  --out FILE|DIR           where <id>.json and <id>.safetensors go (a folder), or a name ending in .json',
  ...settingsHelp([FORCE_SETTING], '  '),
  '  --alphas A,…             sweep-uipe: the α values; the edit is measured at strength 1 + α (trained once, at α = 0)',
  'A retain weight above 0 needs retain facts: --retain, else the model\'s eval/unlearn/retain.jsonl (also used, when',
  'present, for the retain top-1 figures of every objective). Training progress goes to stderr (not with --json).',
  'With an ORT folder the per-form table (loss_prob, top-1) is printed without and with the edit; forget: lower is',
  'better, neighbour and unrelated: higher. The engine (VS Code) runs the same job with the same settings.',
].join('\n');

interface Parsed {
  sweep: boolean;
  method: string;
  settings: Record<string, unknown>;
  preset?: string;
  out?: string;
  alphas: number[];
}

/** Every argument checked before the model is opened (the job's own checks, without the model's sizes). */
function parse(values: Record<string, unknown>, positionals: string[]): Parsed {
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'sweep-uipe')) {
    throw badInput(`Unknown unlearn mode ${JSON.stringify(positionals.join(' '))}`, { field: 'mode', hint: 'mechedit unlearn … trains; mechedit unlearn sweep-uipe … sweeps UIPE\'s α.' });
  }
  const sweep = positionals[0] === 'sweep-uipe';
  const d = objectiveDescriptor(values.method);
  const settings = methodSettings(d, values, OBJECTIVE_DESCRIPTORS);
  const preset = values.preset as string | undefined;
  checkUnlearnInput({ method: d.id, settings, preset });
  const out = values.out as string | undefined;
  if (!sweep && out === undefined) throw badInput('--out is required', { field: '--out', hint: 'A folder for <id>.json and <id>.safetensors, or a name ending in .json.' });
  if (sweep && values.uipe !== undefined) throw badInput('--uipe and sweep-uipe are alternatives', { field: '--uipe', hint: 'The sweep measures each α of --alphas itself.' });
  if (!sweep && values.alphas !== undefined) throw badInput('--alphas belongs to mechedit unlearn sweep-uipe', { field: '--alphas' });
  const alphas = !sweep ? [] : ((values.alphas as string | undefined) ?? '0,0.5,1,2,4').split(',').map((a) => {
    const n = Number(a.trim());
    if (a.trim() === '' || !Number.isFinite(n) || n < 0 || n > MAX_UIPE) throw badInput(`--alphas must list numbers from 0 up to ${MAX_UIPE} (UIPE's bound in the registry), got "${a}"`, { field: '--alphas' });
    return n;
  });
  return { sweep, method: d.id, settings, preset, out, alphas };
}

const stepLine = (s: { step: number; steps: number; loss: number; lr: number; gradNorm: number; metrics: Record<string, number> }) =>
  `mechedit unlearn: step ${s.step + 1}/${s.steps} loss ${s.loss.toPrecision(5)} lr ${s.lr.toExponential(2)} |g| ${s.gradNorm.toPrecision(3)}${Object.entries(s.metrics).map(([k, v]) => ` ${k} ${v.toPrecision(4)}`).join('')}\n`;

/** The training's summary (curve points are in the edit file and in --json). */
function trainingOf(r: UnlearnResult) {
  return {
    steps: r.curve.length,
    stoppedBy: r.stoppedBy,
    ms: r.ms,
    firstLoss: r.curve[0]?.loss,
    lastLoss: r.curve[r.curve.length - 1]?.loss,
    curve: r.curve,
  };
}

export interface SweepRow {
  /** null: the model without the edit. */
  alpha: number | null;
  strength: number;
  /** Forget loss_prob per form. */
  forgetLossProb: Record<string, number>;
  forgetMeanLossProb?: number;
  forgetTop1?: number;
  neighborTop1?: number;
  unrelatedTop1?: number;
  eval: UnlearnEval;
}

/** What `mechedit unlearn` returns (--json); `eval` with an ORT folder, `rows` for sweep-uipe. */
export interface UnlearnOutput {
  file?: string;
  id: string;
  method: string;
  preset: string;
  material: string;
  forms: string[];
  /** Items trained on (retain: also measured on; unrelated: measured only). */
  items: { forget: number; retain: number; unrelated?: number };
  retainSource?: string;
  targets: { layer: number; module: string; rank: number }[];
  hparams?: Record<string, unknown>;
  training: ReturnType<typeof trainingOf>;
  figures: UnlearnJobResult['figures'];
  /** The forget target's ORT neighbour sets before → after (the job's; the engine's 'unlearn/run' gives the same). */
  neighbours?: UnlearnJobResult['neighbours'];
  health: EditHealth;
  eval?: { without: UnlearnEval; with: UnlearnEval };
  rows?: SweepRow[];
}

function sweepRow(alpha: number | null, strength: number, e: UnlearnEval): SweepRow {
  return {
    alpha,
    strength,
    forgetLossProb: Object.fromEntries(e.forget.map((r) => [r.form, r.lossProb])),
    forgetMeanLossProb: e.mean.forgetLossProb,
    forgetTop1: e.mean.forgetTop1,
    neighborTop1: e.mean.neighborTop1,
    unrelatedTop1: e.unrelated?.top1,
    eval: e,
  };
}

/** The JSON output's head: what was trained, the curve, the figures and the health. */
function head(t: UnlearnJobResult): UnlearnOutput {
  const edit = t.trained.edit;
  return {
    ...(t.file ? { file: t.file } : {}),
    id: edit.json.id,
    method: t.method,
    preset: t.preset,
    material: t.material.name,
    forms: t.material.forms,
    items: { forget: t.material.forget.length, retain: t.material.retain.length, ...(t.unrelated ? { unrelated: t.unrelated.length } : {}) },
    ...(t.retainSource ? { retainSource: t.retainSource } : {}),
    targets: edit.json.targets.map(({ layer, module, rank }) => ({ layer, module, rank })),
    hparams: edit.json.hparams,
    training: trainingOf(t.trained),
    figures: t.figures,
    ...(t.neighbours ? { neighbours: t.neighbours } : {}),
    health: t.health,
  };
}

export const unlearn: Command = {
  summary: `train an unlearning edit (${OBJECTIVE_DESCRIPTORS.map((d) => d.label).join(', ')}) as low-rank factors; sweep-uipe sweeps UIPE's α`,
  help: HELP,
  options: { ...modelOptions, method: { type: 'string' }, ...settingOptions(OBJECTIVE_DESCRIPTORS.flatMap((d) => d.settings)), preset: { type: 'string' }, out: { type: 'string' }, alphas: { type: 'string' }, ...settingOptions([FORCE_SETTING]) },
  allowPositionals: true,
  fields: trainingSettings(),
  async run(values, ctx) {
    const p = parse(values, ctx.positionals ?? []);
    const model = await openModel(values);
    const base = stacks.get(model)!; // the model with --edits only (θ₀); the job trains on its own copy
    const log = (m: string) => process.stderr.write(`mechedit: ${m}\n`);
    const t = await runUnlearnJob(base.fork(), { method: p.method, settings: p.settings, preset: p.preset, outDir: p.out, force: values.force === true }, {
      log, onStep: ctx.json ? undefined : (s) => process.stderr.write(stepLine(s)),
    });
    for (const w of t.health.warnings) log(`warning: ${w}`);
    const edit = t.trained.edit;
    const forget = t.settings.forget as string;
    const ortDir = fs.statSync(forget).isDirectory() ? forget : undefined;
    if (!p.sweep) {
      if (!ortDir) return head(t);
      const withIt = base.fork();
      withIt.apply(edit);
      const without = await evaluateUnlearn(base.model, { ortDir, unrelated: t.unrelated });
      return { ...head(t), eval: { without, with: await evaluateUnlearn(withIt.model, { ortDir, unrelated: t.unrelated }) } };
    }
    const measure = (m: LoadedModel) => evaluateUnlearn(m, { ortDir, forget: ortDir ? undefined : t.material.forget, unrelated: t.unrelated });
    const rows: SweepRow[] = [sweepRow(null, 0, await measure(base.model))];
    const fork = base.fork();
    fork.apply(edit);
    for (const alpha of p.alphas) {
      fork.scale(edit.json.id, 1 + alpha);
      if (!ctx.json) process.stderr.write(`mechedit unlearn: measuring α = ${alpha} (strength ${1 + alpha})\n`);
      rows.push(sweepRow(alpha, 1 + alpha, await measure(fork.model)));
    }
    return { ...head(t), rows };
  },
  format(r) {
    const x = r as UnlearnOutput;
    const lines = [summaryLines(x)];
    if (x.eval) lines.push('', formatEval(x.eval.without, x.eval.with));
    if (x.rows) lines.push('', formatSweep(x.rows));
    return lines.join('\n');
  },
};

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);
const num = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(4));

function summaryLines(x: UnlearnOutput): string {
  const where = x.targets.map((t) => `${t.layer}`).join(',');
  const tr = x.training;
  return [
    `${x.file ? `wrote ${x.file}` : `trained ${x.id} (not written: no --out)`}: ${x.method} on ${x.material} (forms ${x.forms.join(', ')}), rank ${x.targets[0]?.rank ?? 0} at layers ${where} ${x.targets[0]?.module ?? ''}`,
    `training: ${tr.steps} steps, stopped by ${tr.stoppedBy}, loss ${num(tr.firstLoss)} → ${num(tr.lastLoss)}, ${(tr.ms / 1000).toFixed(1)} s`,
    `forget top-1 ${pct(x.figures.forgetTop1[0])} → ${pct(x.figures.forgetTop1[1])}; training retain set top-1 ${x.items.retain ? `${pct(x.figures.retainTop1[0])} → ${pct(x.figures.retainTop1[1])}` : '– (no retain set)'}${x.figures.unrelatedTop1 ? `; unrelated top-1 ${pct(x.figures.unrelatedTop1[0])} → ${pct(x.figures.unrelatedTop1[1])}` : ''}; KL on neutral prompts ${x.health.klNeutral.toFixed(4)}`,
  ].join('\n');
}

/** The per-form table without and with the edit. */
export function formatEval(without: UnlearnEval, withIt: UnlearnEval): string {
  const lines = ['| set | form | items | loss_prob without | with | top-1 without | with |', '|---|---|---|---|---|---|---|'];
  for (const set of ['forget', 'neighbor'] as const) {
    for (const a of without[set]) {
      const b = withIt[set].find((r) => r.form === a.form);
      lines.push(`| ${set} | ${a.form} | ${a.items} | ${num(a.lossProb)} | ${num(b?.lossProb)} | ${pct(a.top1)} | ${pct(b?.top1)} |`);
    }
  }
  if (without.unrelated) lines.push(`| unrelated | – | ${without.unrelated.items} | ${num(without.unrelated.lossProb)} | ${num(withIt.unrelated?.lossProb)} | ${pct(without.unrelated.top1)} | ${pct(withIt.unrelated?.top1)} |`);
  return lines.join('\n');
}

/** UIPE's sweep: one row per α (and the model without the edit first). */
export function formatSweep(rows: SweepRow[]): string {
  const forms = [...new Set(rows.flatMap((r) => Object.keys(r.forgetLossProb)))];
  const lines = [
    `| α | strength | ${forms.map((f) => `${f} loss_prob`).join(' | ')} | mean loss_prob | forget top-1 | neighbour top-1 | unrelated top-1 |`,
    `|---|---|${forms.map(() => '---|').join('')}---|---|---|---|`,
  ];
  for (const r of rows) {
    lines.push(`| ${r.alpha === null ? 'no edit' : r.alpha} | ${r.strength} | ${forms.map((f) => num(r.forgetLossProb[f])).join(' | ')} | ${num(r.forgetMeanLossProb)} | ${pct(r.forgetTop1)} | ${pct(r.neighborTop1)} | ${pct(r.unrelatedTop1)} |`);
  }
  lines.push('', 'mean loss_prob, forget and neighbour top-1: means over the forms (each counts once) but char.');
  return lines.join('\n');
}
