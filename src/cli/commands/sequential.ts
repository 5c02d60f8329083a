// `mechedit sequential`: lifelong editing — N fact edits one after another (or in batches), each
// on the model as edited so far, with the curve of what survives every K edits
// (core/diagnostics/sequential.ts). Prints the curve table as the points arrive; --json prints
// the points as JSON at the end. Ctrl-C stops cleanly after the current step (--resume continues).

import * as path from 'node:path';
import type { CurvePoint } from '../../core/diagnostics/sequential';
import { checkSequentialInput, runSequentialJob, SEQUENTIAL_DESCRIPTOR, SEQUENTIAL_EDIT_SETTINGS, SEQUENTIAL_METHODS, SEQUENTIAL_SETTINGS } from '../../core/jobs/sequentialJob';
import { checkRunFolder, FORCE_SETTING } from '../../core/outputs';
import { modelHelp, modelOptions, openModel, requireString, type Command } from '../common';
import { methodSettings, settingsHelp, settingOptions } from '../registryFlags';
import { watchTermination } from '../preempt';
import { cancelled } from '../../core/errors';

const HELP = [
  `mechedit sequential --model DIR|--default --method ${SEQUENTIAL_METHODS.join('|')} --requests FILE|--world-counterfactuals N`,
  '                    [--batch B] [--every K] --out DIR [--resume] [--force] [--layer L | --layers …] [--lambda X] [--steps S]',
  '                    [--consolidate exact|svd:TOL|off] [--json]',
  modelHelp,
  ...settingsHelp(SEQUENTIAL_SETTINGS),
  'each edit (the method\'s defaults when left out; each edit is computed on its own stack, on the checkpoint without --edits):',
  ...settingsHelp(SEQUENTIAL_EDIT_SETTINGS),
  '  --out DIR                run folder: run.json, edits/ (one edit file per batch), curve.jsonl (one point per line)',
  '  --resume                 continue a run folder after a crash or Ctrl-C (the same curve as an uninterrupted run: every',
  '                           saved point and edit is checked; a lost point is measured again from the edit files)',
  ...settingsHelp([FORCE_SETTING]),
  'A svd:TOL consolidation measures, and edits, the truncated model; it is recorded in run.json (a resume must use the same).',
  'Each point, on first-token top-1: efficacy (o* after the prompts of all edits so far; at 0, all the run\'s',
  'requests before editing), paraphrase (their held-out paraphrases), specificity (unrelated facts the unedited',
  'model answers that it still answers), skills (multiple choice, true/false, two-hop probes of subjects never',
  'edited), ‖ΔW‖/‖W‖ (the largest per module, all edits summed). The engine\'s \'lifelong/run\' runs the same job.',
].join('\n');

const cell = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

export const CURVE_HEADER = ['| edits | efficacy | paraphrase | specificity | multiple choice | true/false | two-hop | max ‖ΔW‖/‖W‖ | seconds |', '|---:|---:|---:|---:|---:|---:|---:|---|---:|'];

export function curveRow(p: CurvePoint): string {
  const worst = p.health.reduce<{ module: string; relNorm: number } | undefined>((a, h) => (!a || h.relNorm > a.relNorm ? h : a), undefined);
  return `| ${p.edits} | ${cell(p.efficacy)} | ${cell(p.paraphrase)} | ${cell(p.specificity)} | ${cell(p.skills.choice)} | ${cell(p.skills.trueFalse)} | ${cell(p.skills.twoHop)} | ${worst ? `${worst.relNorm.toFixed(3)} (${worst.module})` : '–'} | ${Math.round(p.seconds)} |`;
}

const RUN_NAMES = new Set(SEQUENTIAL_SETTINGS.map((x) => x.name));

/** The run's and the edits' raw settings from the flags (strings; the job checks them). */
function rawOf(values: Record<string, unknown>) {
  const all = methodSettings(SEQUENTIAL_DESCRIPTOR, values, [SEQUENTIAL_DESCRIPTOR]);
  const pickBy = (run: boolean) => Object.fromEntries(Object.entries(all).filter(([k]) => RUN_NAMES.has(k) === run));
  return { settings: pickBy(true), edit: pickBy(false) };
}

export const sequential: Command = {
  summary: 'lifelong editing: N fact edits one after another, and the curve of what survives',
  help: HELP,
  options: { ...modelOptions, ...settingOptions(SEQUENTIAL_DESCRIPTOR.settings), out: { type: 'string' }, resume: { type: 'boolean' }, ...settingOptions([FORCE_SETTING]) },
  fields: SEQUENTIAL_DESCRIPTOR.settings,
  async run(values, ctx) {
    const raw = rawOf(values);
    checkSequentialInput(raw); // a bad flag fails before the model opens
    const out = requireString(values, 'out');
    const model = await openModel(values);
    checkRunFolder(out, model.checkpoint, '--out', values.force === true);
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write('mechedit sequential: stopping after the current step (Ctrl-C again to quit now); continue with --resume\n');
    };
    process.on('SIGINT', onSigint);
    // SIGTERM (a cluster's preemption): the same clean stop, then exit 75 (cli/preempt.ts).
    const terminated = watchTermination(() => {
      stop = true;
    });
    let header = false;
    let last = 0;
    try {
      const r = await runSequentialJob(model, { ...raw, out, resume: values.resume === true, force: values.force === true }, {
        onPoint: (p) => {
          if (ctx.json) return;
          if (!header) process.stdout.write(`${CURVE_HEADER.join('\n')}\n`);
          header = true;
          process.stdout.write(`${curveRow(p)}\n`);
        },
        onProgress: (done, total, phase) => {
          if (Date.now() - last < 2000 && phase === 'edit') return;
          last = Date.now();
          process.stderr.write(`mechedit sequential: ${done}/${total} requests applied${phase === 'edit' ? '' : ` (${phase})`}\n`);
        },
        isCancelled: () => stop,
      });
      if (r.cancelled && terminated()) throw cancelled(`Stopped by SIGTERM; the edits so far are saved in ${path.resolve(r.folder)}: continue with the same command and --resume.`);
      return { out: path.resolve(r.folder), method: r.method, batch: r.batch, every: r.every, consolidation: r.consolidation ?? { mode: 'exact' }, cancelled: r.cancelled, edits: r.edits, points: r.points };
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
  format: (r) => {
    const x = r as { out: string; cancelled: boolean; edits: number; points: CurvePoint[] };
    const measured = x.points.length ? x.points[x.points.length - 1].edits : 0;
    return x.cancelled ? `Stopped after ${x.edits} edit(s), saved in ${x.out} (last point at ${measured} edits): continue with the same command and --resume` : `${x.edits} edits; run folder ${x.out} (run.json, edits/, curve.jsonl)`;
  },
};
