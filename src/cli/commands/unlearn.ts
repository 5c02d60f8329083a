// `mechedit unlearn`: gradient unlearning (GA, GradDiff, NPO, RT, DPO, RMU) as a low-rank edit
// file (core/train/unlearn.ts), with the loss curve, the forget / retain top-1 before and after
// and, for an ORT target folder, the per-form table without and with the edit
// (core/train/unlearnEval.ts). `mechedit unlearn sweep-uipe` trains once and measures the edit
// at strength 1 + α for each α (UIPE's extrapolation, no retraining).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../../core/errors';
import { checkEditOut, writeEdit, type Edit } from '../../core/edits/editFile';
import { editHealth, type EditHealth } from '../../core/edits/health';
import type { LoadedModel } from '../../core/runtime/model';
import type { EditStack } from '../../core/edits/stack';
import { computeUnlearn, UNLEARN_DEFAULTS, UNLEARN_METHODS, type UnlearnMethod, type UnlearnResult, type UnlearnSettings } from '../../core/train/unlearn';
import { defaultRetain, parseForms, readUnlearnMaterial, type TrainItem, type UnlearnMaterial } from '../../core/train/unlearnData';
import { evaluateUnlearn, type UnlearnEval } from '../../core/train/unlearnEval';
import { intOption, layerList, modelHelp, modelOptions, openModel, requireString, stacks, weightDims, type Command } from '../common';

const HELP = [
  'mechedit unlearn --model DIR --method ga|graddiff|npo|rt|dpo|rmu --forget FILE|ORT_DIR [--retain FILE] [--forms qa,cloze,…]',
  '                 [--layers 2,3] [--rank R] [--steps N] [--lr X] [--retain-weight W] [--beta B] [--uipe A] [--seed S]',
  '                 [--unrelated FILE] [--label T] --out FILE|DIR [--json]',
  'mechedit unlearn sweep-uipe … --alphas 0,0.5,1,2,4 [--out FILE|DIR] [--json]',
  modelHelp,
  '  --method M           ga (gradient ascent), graddiff (ascent on forget + descent on retain), npo, rt (refusal',
  '                       tuning), dpo (refusal preferred over the answer), rmu (activations steered at a layer)',
  '  --forget FILE|DIR    JSONL of {prompt, answer}, or an ORT target folder (Target/<n>_<Name>/)',
  '  --retain FILE        facts to keep (JSONL); when the method has a retain weight (graddiff, npo and rmu by default)',
  '                       and none is given: <model>/eval/unlearn/retain.jsonl',
  '  --forms F,…          train only on these forms of the forget material (qa, cloze, adversarial, mcq, tf, passage, …)',
  '  --layers L,…         layers whose MLP output projection gets the LoRA pair; --rank R its rank',
  '  --steps N, --lr X    the training budget and the learning rate; --seed S the initialisation and batching',
  '  --retain-weight W    weight of the retain term (0 = none); --beta B the NPO / DPO temperature',
  '  --uipe A             write the extrapolated edit θ₀ + (1 + A)(θ_u − θ₀) (UIPE)',
  "  --unrelated FILE     unrelated facts (JSONL) whose top-1 is reported; default <model>/eval/unlearn/unrelated.jsonl",
  '  --out FILE|DIR       where <id>.json and <id>.safetensors go (a folder), or a name ending in .json',
  '  --alphas A,…         sweep-uipe: the α values; the edit is measured at strength 1 + α (trained once, at α = 0)',
  'Training progress goes to stderr (not with --json). With an ORT folder the per-form table (loss_prob, top-1) is',
  'printed without and with the edit; forget: lower is better, neighbour and unrelated: higher.',
].join('\n');

function numberOption(values: Record<string, unknown>, name: string, o: { min: number; above?: boolean }): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n) || (o.above ? n <= o.min : n < o.min)) {
    throw badInput(`--${name} must be a number ${o.above ? 'above' : 'from'} ${o.min}${o.above ? '' : ' up'}, got "${raw}"`, { field: `--${name}` });
  }
  return n;
}

function listOption(values: Record<string, unknown>, name: string): string[] | undefined {
  const raw = values[name] as string | undefined;
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((x) => x.trim()).filter(Boolean);
  if (parts.length === 0) throw badInput(`--${name} is empty`, { field: `--${name}` });
  return parts;
}

interface Parsed {
  sweep: boolean;
  settings: UnlearnSettings;
  forget: string;
  retain?: string;
  forms?: string[];
  unrelated?: string;
  out?: string;
  alphas: number[];
}

/** Every argument checked before the model is opened: a bad one fails at once, naming it. */
function parse(values: Record<string, unknown>, positionals: string[]): Parsed {
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'sweep-uipe')) {
    throw badInput(`Unknown unlearn mode ${JSON.stringify(positionals.join(' '))}`, { field: 'mode', hint: 'mechedit unlearn … trains; mechedit unlearn sweep-uipe … sweeps UIPE\'s α.' });
  }
  const sweep = positionals[0] === 'sweep-uipe';
  const method = values.method as string | undefined;
  if (method === undefined) throw badInput('--method is required', { field: '--method', hint: `One of ${UNLEARN_METHODS.join(', ')}.` });
  if (!(UNLEARN_METHODS as readonly string[]).includes(method)) throw badInput(`--method must be one of ${UNLEARN_METHODS.join(', ')}, got "${method}"`, { field: '--method' });
  const forget = requireString(values, 'forget');
  if (!fs.existsSync(forget)) throw badInput('The forget material is not there', { file: path.resolve(forget), field: '--forget', hint: 'Give a JSONL file of {prompt, answer} or an ORT target folder.' });
  const retain = values.retain as string | undefined;
  if (retain !== undefined && !fs.existsSync(retain)) throw badInput('The retain material is not there', { file: path.resolve(retain), field: '--retain', hint: 'Give a JSONL file of {prompt, answer}.' });
  const unrelated = values.unrelated as string | undefined;
  if (unrelated !== undefined && !fs.existsSync(unrelated)) throw badInput('The unrelated facts file is not there', { file: path.resolve(unrelated), field: '--unrelated', hint: 'Give a JSONL file of {prompt, answer}.' });
  const forms = parseForms(values.forms as string | undefined);
  const out = values.out as string | undefined;
  if (!sweep && out === undefined) throw badInput('--out is required', { field: '--out', hint: 'A folder for <id>.json and <id>.safetensors, or a name ending in .json.' });
  if (sweep && values.uipe !== undefined) throw badInput('--uipe and sweep-uipe are alternatives', { field: '--uipe', hint: 'The sweep measures each α of --alphas itself.' });
  if (!sweep && values.alphas !== undefined) throw badInput('--alphas belongs to mechedit unlearn sweep-uipe', { field: '--alphas' });
  const alphas = sweep ? (listOption(values, 'alphas') ?? ['0', '0.5', '1', '2', '4']).map((a) => {
    const n = Number(a);
    if (a === '' || !Number.isFinite(n) || n < 0) throw badInput(`--alphas must list numbers from 0 up, got "${a}"`, { field: '--alphas' });
    return n;
  }) : [];
  const settings: UnlearnSettings = {
    method: method as UnlearnMethod,
    layers: layerList(values),
    rank: values.rank === undefined ? undefined : intOption(values, 'rank', 8, 1, 4096),
    steps: values.steps === undefined ? undefined : intOption(values, 'steps', 1, 1, 1_000_000),
    lr: numberOption(values, 'lr', { min: 0, above: true }),
    retainWeight: numberOption(values, 'retain-weight', { min: 0 }),
    beta: numberOption(values, 'beta', { min: 0, above: true }),
    uipe: numberOption(values, 'uipe', { min: 0 }),
    seed: values.seed === undefined ? undefined : intOption(values, 'seed', 0, 0, 2 ** 31),
    label: values.label as string | undefined,
  };
  for (const k of Object.keys(settings) as (keyof UnlearnSettings)[]) if (settings[k] === undefined) delete settings[k];
  return { sweep, settings, forget, retain, forms, unrelated, out, alphas };
}

/** Whether the method trains a retain term with these settings (then a retain set is needed). */
function needsRetain(s: UnlearnSettings): boolean {
  return (s.retainWeight ?? UNLEARN_DEFAULTS.retainWeight[s.method]) > 0;
}

function isDir(f: string): boolean {
  return fs.statSync(f).isDirectory();
}

/** --unrelated, else <model>/eval/unlearn/unrelated.jsonl when the checkpoint has it. */
function unrelatedItems(model: LoadedModel, file: string | undefined): TrainItem[] | undefined {
  const f = file ?? path.join(model.checkpoint.dir, 'eval', 'unlearn', 'unrelated.jsonl');
  if (!fs.existsSync(f)) return undefined;
  return readUnlearnMaterial({ forget: f }).forget;
}

interface Trained {
  material: UnlearnMaterial;
  result: UnlearnResult;
  health: EditHealth;
  file?: string;
  /** The stack the edit was trained on (--edits), without the edit: evaluations fork it. */
  base: EditStack;
  unrelated?: TrainItem[];
  ortDir?: string;
  before?: UnlearnEval;
}

async function trainEdit(p: Parsed, values: Record<string, unknown>, json: boolean): Promise<Trained> {
  const model = await openModel(values);
  const base = stacks.get(model)!;
  if (p.settings.layers?.some((l) => l >= model.dims.layers)) throw badInput(`--layers: the model has ${model.dims.layers} layers (0–${model.dims.layers - 1})`, { field: '--layers' });
  if (p.settings.rank !== undefined && p.settings.rank > model.dims.dModel) throw badInput(`--rank ${p.settings.rank} is above d_model (${model.dims.dModel})`, { field: '--rank' });
  if (p.out !== undefined) checkEditOut(p.out, model.checkpoint);
  let retain = p.retain;
  if (retain === undefined && needsRetain(p.settings)) {
    retain = defaultRetain(model.checkpoint.dir);
    if (retain === undefined) throw badInput(`--retain is required for ${p.settings.method} with a retain weight above 0: this model has no retain set of its own (eval/unlearn/retain.jsonl)`, { field: '--retain', hint: 'Give a JSONL file of facts to keep, {prompt, answer} per line, or --retain-weight 0.' });
  }
  const material = readUnlearnMaterial({ forget: p.forget, retain, forms: p.forms });
  const unrelated = unrelatedItems(model, p.unrelated);
  const ortDir = isDir(p.forget) ? p.forget : undefined;
  const log = (m: string) => process.stderr.write(`mechedit: ${m}\n`);
  // Without the edit: the model with --edits only (θ₀), measured before training.
  const before = ortDir && !p.sweep ? await evaluateUnlearn(base.model, { ortDir, unrelated }) : undefined;
  const result = await computeUnlearn(base.fork(), material, p.settings, {
    log,
    onStep: json ? undefined : (s) => {
      const metrics = Object.entries(s.metrics).map(([k, v]) => ` ${k} ${v.toPrecision(4)}`).join('');
      process.stderr.write(`mechedit unlearn: step ${s.step + 1}/${s.steps} loss ${s.loss.toPrecision(5)} lr ${s.lr.toExponential(2)} |g| ${s.gradNorm.toPrecision(3)}${metrics}\n`);
    },
  });
  const edit: Edit = result.edit;
  base.check(edit);
  const health = await editHealth(model, base, edit);
  edit.json.health = { ...(edit.json.health ?? {}), ...health };
  for (const w of health.warnings) log(`warning: ${w}`);
  const file = p.out === undefined ? undefined : path.resolve(writeEdit(p.out, edit, weightDims(model), model.checkpoint));
  return { material, result, health, file, base, unrelated, ortDir, before };
}

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
  material: string;
  forms: string[];
  /** Items trained on. */
  items: { forget: number; retain: number };
  targets: { layer: number; module: string; rank: number }[];
  hparams?: Record<string, unknown>;
  training: ReturnType<typeof trainingOf>;
  figures: UnlearnResult['figures'];
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

export const unlearn: Command = {
  summary: 'train an unlearning edit (GA, GradDiff, NPO, RT, DPO, RMU) as low-rank factors; sweep-uipe sweeps UIPE\'s α',
  help: HELP,
  options: {
    ...modelOptions, method: { type: 'string' }, forget: { type: 'string' }, retain: { type: 'string' }, forms: { type: 'string' },
    layers: { type: 'string' }, rank: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' }, 'retain-weight': { type: 'string' },
    beta: { type: 'string' }, uipe: { type: 'string' }, seed: { type: 'string' }, unrelated: { type: 'string' }, label: { type: 'string' },
    out: { type: 'string' }, alphas: { type: 'string' },
  },
  allowPositionals: true,
  async run(values, ctx) {
    const p = parse(values, ctx.positionals ?? []);
    const t = await trainEdit(p, values, ctx.json);
    const { edit } = t.result;
    const head: UnlearnOutput = {
      ...(t.file ? { file: t.file } : {}),
      id: edit.json.id,
      method: p.settings.method,
      material: t.material.name,
      forms: t.material.forms,
      items: { forget: t.material.forget.length, retain: t.material.retain.length },
      targets: edit.json.targets.map(({ layer, module, rank }) => ({ layer, module, rank })),
      hparams: edit.json.hparams,
      training: trainingOf(t.result),
      figures: t.result.figures,
      health: t.health,
    };
    if (!p.sweep) {
      if (!t.ortDir) return head;
      const withIt = t.base.fork();
      withIt.apply(edit);
      const after = await evaluateUnlearn(withIt.model, { ortDir: t.ortDir, unrelated: t.unrelated });
      return { ...head, eval: { without: t.before!, with: after } };
    }
    const measure = (m: LoadedModel) => evaluateUnlearn(m, { ortDir: t.ortDir, forget: t.ortDir ? undefined : t.material.forget, unrelated: t.unrelated });
    const rows: SweepRow[] = [sweepRow(null, 0, await measure(t.base.model))];
    const fork = t.base.fork();
    fork.apply(edit);
    for (const alpha of p.alphas) {
      fork.scale(edit.json.id, 1 + alpha);
      if (!ctx.json) process.stderr.write(`mechedit unlearn: measuring α = ${alpha} (strength ${1 + alpha})\n`);
      rows.push(sweepRow(alpha, 1 + alpha, await measure(fork.model)));
    }
    return { ...head, rows };
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
    `forget top-1 ${pct(x.figures.forgetTop1[0])} → ${pct(x.figures.forgetTop1[1])}; retain top-1 ${x.items.retain ? `${pct(x.figures.retainTop1[0])} → ${pct(x.figures.retainTop1[1])}` : '– (no retain set)'}; KL on neutral prompts ${x.health.klNeutral.toFixed(4)}`,
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
