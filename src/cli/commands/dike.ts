// `mechedit dike train`: trains DiKE's KRD module (core/edits/krd.ts) for a model and edit layer on
// same-subject facts, with progress on stderr, Ctrl-C to cancel, and the loss curve printed and
// saved (<out>.curve.json beside the module). `mechedit edit dike` uses the module.

import * as path from 'node:path';
import { badInput } from '../../core/errors';
import { FORCE_SETTING, makeOutFolder, refuseForeignFile, refuseInsideCheckpoint, refuseNotAFolder, writeOut } from '../../core/outputs';
import { settingOptions, settingsHelp } from '../registryFlags';
import { defaultEditLayer } from '../../core/edits/rome';
import { KRD_BOUNDS, KRD_DEFAULTS, isKrdFile, trainKrd, writeKrd, type KrdHparams } from '../../core/edits/krd';
import { defaultKrdFactsFile, readKrdFacts } from '../../core/edits/krdFacts';
import type { CurvePoint } from '../../core/train/trainer';
import { intOption, modelHelp, modelOptions, openModel, requireString, stacks, type Command } from '../common';
import { readInputJson } from '../../core/inputs';

const HELP = [
  'mechedit dike train --model DIR [--facts FILE] [--layer L] --out FILE.safetensors',
  '                    [--steps N] [--lr X] [--batch N] [--alpha A] [--beta B] [--tau T] [--negatives N] [--seed S] [--json]',
  modelHelp,
  "  --facts FILE   same-subject facts: JSON Lines of {subject, relation, prompt, object} (prompt with \"{}\" or the",
  "                 subject), or a world.json; default the model's world.json, else its facts.jsonl",
  "  --layer L      the edit layer (default the checkpoint's, as ROME's); the module is for that layer only",
  '  --out FILE     the module (safetensors W1…W6 + metadata); the full loss curve goes to FILE minus .safetensors + .curve.json.',
  ...settingsHelp([FORCE_SETTING]),
  '                 MechEdit never writes into the checkpoint folder: to make it the default for `edit dike`, copy it',
  '                 there as krd-L<layer>.safetensors.',
  `  --steps N (${KRD_DEFAULTS.steps}), --lr X (${KRD_DEFAULTS.lr}), --batch N facts per step (${KRD_DEFAULTS.batchSize}), --alpha A weight of L_con (${KRD_DEFAULTS.alpha}),`,
  `  --beta B weight of L_recon (${KRD_DEFAULTS.beta}), --tau T InfoNCE temperature (${KRD_DEFAULTS.tau}),`,
  `  --negatives N other relations per fact in L_con (${KRD_DEFAULTS.negatives}), --seed S (${KRD_DEFAULTS.seed})`,
  'Progress goes to stderr (not with --json); Ctrl-C cancels (nothing is written).',
].join('\n');

function num(values: Record<string, unknown>, name: keyof typeof KRD_BOUNDS): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const b = KRD_BOUNDS[name];
  if (raw === '' || !Number.isFinite(n) || (b.exclusiveMin ? n <= b.min : n < b.min) || n > b.max) throw badInput(`--${name} must be a number ${b.exclusiveMin ? 'above' : 'from'} ${b.min} up to ${b.max}, got "${raw}"`, { field: `--${name}` });
  return n;
}

export interface DikeTrainOutput {
  file: string;
  curveFile: string;
  layer: number;
  facts: { file: string; used: number; subjects: number };
  hparams: KrdHparams;
  training: { steps: number; stoppedBy: string; ms: number; first?: CurvePoint; last?: CurvePoint };
  curve: CurvePoint[];
}

export const dike: Command = {
  summary: "train DiKE's KRD module (the disentangler `mechedit edit dike` uses) on same-subject facts",
  help: HELP,
  options: {
    ...modelOptions, ...settingOptions([FORCE_SETTING]), facts: { type: 'string' }, layer: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, lr: { type: 'string' },
    batch: { type: 'string' }, alpha: { type: 'string' }, beta: { type: 'string' }, tau: { type: 'string' }, negatives: { type: 'string' }, seed: { type: 'string' },
  },
  allowPositionals: true,
  async run(values, ctx) {
    if ((ctx.positionals ?? []).join(' ') !== 'train') throw badInput(`Unknown dike mode ${JSON.stringify((ctx.positionals ?? []).join(' '))}`, { field: 'mode', hint: 'mechedit dike train … trains a KRD module; mechedit edit dike … edits a fact with it.' });
    const out = requireString(values, 'out');
    if (!out.endsWith('.safetensors')) throw badInput('--out must name a .safetensors file', { field: '--out' });
    const hparams: Partial<KrdHparams> = {
      steps: values.steps === undefined ? undefined : intOption(values, 'steps', 1, 1, 1_000_000),
      lr: num(values, 'lr'),
      batchSize: values.batch === undefined ? undefined : intOption(values, 'batch', 1, 1, 4096),
      alpha: num(values, 'alpha'),
      beta: num(values, 'beta'),
      tau: num(values, 'tau'),
      negatives: values.negatives === undefined ? undefined : intOption(values, 'negatives', 1, 0, 64),
      seed: values.seed === undefined ? undefined : intOption(values, 'seed', 0, 0, 2 ** 31),
    };
    if (hparams.tau === 0) throw badInput('--tau must be above 0', { field: '--tau' });
    for (const k of Object.keys(hparams) as (keyof KrdHparams)[]) if (hparams[k] === undefined) delete hparams[k];
    const model = await openModel(values);
    const layer = values.layer === undefined ? defaultEditLayer(model.dims).layer : intOption(values, 'layer', 0, 0, model.dims.layers - 1);
    refuseInsideCheckpoint(out, model.checkpoint, 'The KRD file');
    const force = values.force === true;
    refuseNotAFolder(path.dirname(path.resolve(out)), 'The folder of --out');
    refuseForeignFile(out, isKrdFile, 'a MechEdit KRD module', force);
    const curveFile = out.replace(/\.safetensors$/, '.curve.json');
    refuseForeignFile(curveFile, (f) => f.endsWith('.curve.json') && (readInputJson(f, 'run') as { format?: unknown } | null)?.format === 'mechedit-krd-curve/1', 'a MechEdit KRD curve', force);
    const factsFile = (values.facts as string | undefined) ?? defaultKrdFactsFile(model.checkpoint.dir);
    const facts = readKrdFacts(factsFile);
    let stop = false;
    const onInt = () => {
      stop = true;
      process.stderr.write('mechedit dike: cancelling after this step…\n');
    };
    process.on('SIGINT', onInt);
    let r;
    try {
      r = await trainKrd(stacks.get(model)?.model ?? model, facts.facts, {
        layer,
        hparams,
        source: path.basename(factsFile),
        isCancelled: () => stop,
        onStep: ctx.json ? undefined : (p) => {
          if (p.step % 10 !== 0 && p.step !== p.steps - 1) return;
          const m = Object.entries(p.metrics).map(([k, v]) => ` ${k} ${v.toPrecision(4)}`).join('');
          process.stderr.write(`mechedit dike train: step ${p.step + 1}/${p.steps} loss ${p.loss.toPrecision(5)} lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toPrecision(3)}${m}\n`);
        },
      });
    } finally {
      process.off('SIGINT', onInt);
    }
    makeOutFolder(path.dirname(path.resolve(out)));
    writeKrd(out, r.krd);
    writeOut(curveFile, `${JSON.stringify({ format: 'mechedit-krd-curve/1', module: path.basename(out), curve: r.result.curve })}\n`);
    const curve = r.result.curve;
    const result: DikeTrainOutput = {
      file: path.resolve(out),
      curveFile: path.resolve(curveFile),
      layer,
      facts: { file: path.resolve(factsFile), used: r.facts, subjects: r.subjects },
      hparams: JSON.parse(r.krd.meta.hparams),
      training: { steps: r.result.steps, stoppedBy: r.result.stoppedBy, ms: Math.round(r.result.ms), first: curve[0], last: curve[curve.length - 1] },
      curve,
    };
    return result;
  },
  format(res) {
    const r = res as DikeTrainOutput;
    const every = Math.max(1, Math.ceil(r.curve.length / 10));
    const rows = r.curve.filter((p, i) => i % every === 0 || i === r.curve.length - 1).map((p) =>
      `  ${String(p.step + 1).padStart(6)}  ${p.loss.toFixed(4).padStart(8)}  ${(p.metrics.ctr ?? 0).toFixed(4).padStart(8)}  ${(p.metrics.con ?? 0).toFixed(4).padStart(8)}  ${(p.metrics.recon ?? 0).toFixed(4).padStart(8)}  ${(p.metrics.pRelated ?? 0).toFixed(3).padStart(9)}`);
    return [
      `KRD module for layer ${r.layer}: ${r.file}`,
      `trained on ${r.facts.used} facts of ${r.facts.subjects} subjects (${r.facts.file}), ${r.training.steps} steps (${r.training.stoppedBy}), ${(r.training.ms / 1000).toFixed(1)} s`,
      '    step      loss     L_ctr     L_con   L_recon  P(o|z_r)',
      ...rows,
      `loss curve: ${r.curveFile}`,
    ].join('\n');
  },
};
