// `mechedit sequential`: lifelong editing — N fact edits one after another (or in batches), each
// on the model as edited so far, with the curve of what survives every K edits
// (core/diagnostics/sequential.ts). Prints the curve table as the points arrive; --json prints
// the points as JSON at the end. Ctrl-C stops cleanly after the current step (--resume continues).

import * as path from 'node:path';
import { badInput } from '../../core/errors';
import { runSequential, type CurvePoint, type SequentialRequest } from '../../core/diagnostics/sequential';
import { readSequentialRequests } from '../../core/diagnostics/sequentialData';
import type { ConsolidationPolicy } from '../../core/edits/consolidate';
import { FACT_METHODS, isFactMethod } from '../../core/methods/factEditors';
import { checkRunFolder } from '../../core/outputs';
import { intOption, layerList, modelHelp, modelOptions, openModel, requireString, type Command } from '../common';

const HELP = [
  `mechedit sequential --model DIR|--default --method ${FACT_METHODS.join('|')} --requests FILE|--world-counterfactuals N`,
  '                    [--batch B] [--every K] --out DIR [--resume] [--layer L | --layers …] [--lambda X] [--steps S]',
  '                    [--consolidate exact|svd:TOL|off] [--json]',
  modelHelp,
  '  --method M           the fact editor; each edit is computed on the model as edited so far (its own stack,',
  '                       on the checkpoint without --edits)',
  '  --requests FILE      fact requests, as for mechedit edit (JSON Lines or a JSON array); a record may carry',
  '                       "paraphrases" (or CounterFact\'s "paraphrase_prompts"): filled prompts also measured',
  '  --world-counterfactuals N  the first N of eval/counterfactuals.json beside the model (the bundled world:',
  '                       1,934, one per fact, shuffled; with paraphrases, unrelated facts and skill probes)',
  '  --batch B            requests per edit (MEMIT, AlphaEdit; ROME and DiKE: 1)',
  '  --every K            measure every K requests (default 100), and at 0 and at the end',
  '  --out DIR            run folder: run.json, edits/ (one edit file per batch), curve.jsonl (one point per line)',
  '  --resume             continue a run folder after a crash or Ctrl-C (the same curve as an uninterrupted run)',
  '  --layer / --layers / --lambda / --steps  override the method\'s defaults (v* steps: --steps)',
  '  --consolidate P      how the stack folds a module\'s edits once their summed rank passes min(d_out, d_in):',
  '                       exact (default: one dense ΔW), svd:TOL (a truncated SVD within relative Frobenius',
  '                       error TOL, e.g. svd:0.01; the run measures, and edits, the truncated model), off',
  'Each point, on first-token top-1: efficacy (o* after the prompts of all edits so far; at 0, all the run\'s',
  'requests before editing), paraphrase (their held-out paraphrases), specificity (unrelated facts the unedited',
  'model answers that it still answers), skills (multiple choice, true/false, two-hop probes of subjects never',
  'edited), ‖ΔW‖/‖W‖ (the largest per module, all edits summed).',
].join('\n');

const cell = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');

export const CURVE_HEADER = ['| edits | efficacy | paraphrase | specificity | multiple choice | true/false | two-hop | max ‖ΔW‖/‖W‖ | seconds |', '|---:|---:|---:|---:|---:|---:|---:|---|---:|'];

export function curveRow(p: CurvePoint): string {
  const worst = p.health.reduce<{ module: string; relNorm: number } | undefined>((a, h) => (!a || h.relNorm > a.relNorm ? h : a), undefined);
  return `| ${p.edits} | ${cell(p.efficacy)} | ${cell(p.paraphrase)} | ${cell(p.specificity)} | ${cell(p.skills.choice)} | ${cell(p.skills.trueFalse)} | ${cell(p.skills.twoHop)} | ${worst ? `${worst.relNorm.toFixed(3)} (${worst.module})` : '–'} | ${Math.round(p.seconds)} |`;
}

/** --consolidate exact | off | svd:TOL (TOL in [0, 1)). */
export function consolidationOption(text: string | undefined): ConsolidationPolicy | undefined {
  if (text === undefined || text === 'exact') return undefined;
  if (text === 'off') return { mode: 'off' };
  const m = /^svd:(.+)$/.exec(text);
  const tolerance = m ? Number(m[1]) : NaN;
  if (!(tolerance >= 0 && tolerance < 1)) throw badInput(`--consolidate must be exact, off or svd:TOL with TOL in [0, 1), got "${text}"`, { field: '--consolidate', hint: 'For example --consolidate svd:0.01 (1 % relative Frobenius error per module).' });
  return { mode: 'svd', tolerance };
}

function numberOption(values: Record<string, unknown>, name: string): number | undefined {
  if (values[name] === undefined) return undefined;
  const x = Number(values[name]);
  if (!(Number.isFinite(x) && x > 0)) throw badInput(`--${name} must be a number above 0, got "${values[name]}"`, { field: `--${name}` });
  return x;
}

export const sequential: Command = {
  summary: 'lifelong editing: N fact edits one after another, and the curve of what survives',
  help: HELP,
  options: {
    ...modelOptions, method: { type: 'string' }, requests: { type: 'string' }, 'world-counterfactuals': { type: 'string' }, batch: { type: 'string' }, every: { type: 'string' },
    out: { type: 'string' }, resume: { type: 'boolean' }, layer: { type: 'string' }, layers: { type: 'string' }, lambda: { type: 'string' }, steps: { type: 'string' },
    consolidate: { type: 'string' },
  },
  async run(values, ctx) {
    const method = requireString(values, 'method');
    if (!isFactMethod(method)) throw badInput(`--method must be one of ${FACT_METHODS.join(', ')}, got "${method}"`, { field: '--method' });
    const out = requireString(values, 'out');
    if ((values.requests === undefined) === (values['world-counterfactuals'] === undefined)) throw badInput('Give --requests FILE or --world-counterfactuals N (one of the two)', { field: '--requests' });
    const requests: SequentialRequest[] | undefined = values.requests === undefined ? undefined : readSequentialRequests(values.requests as string);
    const worldCounterfactuals = values['world-counterfactuals'] === undefined ? undefined : intOption(values, 'world-counterfactuals', 0, 1, 1_000_000);
    const batch = intOption(values, 'batch', 1, 1, 100_000);
    const every = intOption(values, 'every', 100, 1, 10_000_000);
    const steps = values.steps === undefined ? undefined : intOption(values, 'steps', 0, 1, 100_000);
    const lambda = numberOption(values, 'lambda');
    const consolidation = consolidationOption(values.consolidate as string | undefined);
    const model = await openModel(values);
    checkRunFolder(out, model.checkpoint);
    const layer = values.layer === undefined ? undefined : intOption(values, 'layer', 0, 0, model.dims.layers - 1);
    const settings = { layer, layers: layerList(values), lambda, steps };
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write('mechedit sequential: stopping after the current step (Ctrl-C again to quit now); continue with --resume\n');
    };
    process.on('SIGINT', onSigint);
    let header = false;
    let last = 0;
    try {
      const r = await runSequential(model, { method, requests, worldCounterfactuals, batch, every, out, resume: !!values.resume, consolidation, settings: Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) }, {
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
      return { out: path.resolve(r.folder), method, batch, every, cancelled: r.cancelled, points: r.points };
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
  format: (r) => {
    const x = r as { out: string; cancelled: boolean; points: CurvePoint[] };
    const done = x.points.length ? x.points[x.points.length - 1].edits : 0;
    return x.cancelled ? `Stopped; the edits so far are saved in ${x.out} (last point at ${done} edits): continue with the same command and --resume` : `${done} edits; run folder ${x.out} (run.json, edits/, curve.jsonl)`;
  },
};
