// `mechedit fine-ked`: FINE-KED (DiKE's fine-grained locality) over a data file, as a run folder
// (core/diagnostics/fineKedRun.ts): efficacy, paraphrase, R-Loc per level (easy / middle / hard)
// and averaged, neighbourhood specificity, the worst cases.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../../core/errors';
import { runFineKed, FINE_KED_METHODS } from '../../core/diagnostics/fineKedRun';
import { FINE_LEVELS } from '../../core/diagnostics/fineKedData';
import type { FineKedSummary } from '../../core/diagnostics/fineKed';
import { parseShard, stackRefs } from '../../core/diagnostics/runner';
import { checkRunFolder } from '../../core/outputs';
import { intOption, modelHelp, modelOptions, openModel, perCaseOptions, runFolder, runProgress, stacks, type Command } from '../common';

const HELP = [
  `mechedit fine-ked --model DIR [--data FILE] --method ${FINE_KED_METHODS.join('|')} [--lti]`,
  '                  [--layer L | --layers …] [--lambda X] [--corpus FILE …] [--limit N] [--out DIR] [--resume] [--shard i/n]',
  '                  [--baseline DIR] [--json]',
  modelHelp,
  '  --data FILE          FINE-KED records (default eval/fine_ked.json beside the model): CounterFact\'s',
  '                       requested_rewrite + fine_grained [{level easy|middle|hard, prompt, answer}]',
  '  --method M           none measures the model as it is (with --edits) against the checkpoint without edits;',
  '                       context states the new fact before every prompt (a reference: a perfect edit in the prompt);',
  '                       a fact editor computes each case\'s edit on top of --edits, scores the case, drops the edit',
  '  --lti                EVOKE\'s LTI for the per-case edits; --layer (ROME, DiKE) / --layers (MEMIT, AlphaEdit)',
  '                       and --lambda override the defaults',
  '  --corpus FILE …      key statistics corpus for the per-case edits (default corpus.txt beside the model)',
  '  --limit N            the first N records',
  '  --out DIR            run folder: run.json, cases.jsonl (one line per case), summary.json, report.html',
  '  --resume             continue a run folder after a crash or cancel',
  '  --shard i/n          only cases i, i+n, i+2n, … (0 ≤ i < n); merge the folders with mechedit merge',
  '  --baseline DIR       a finished fine-ked run (e.g. method none) to show as "before" in the report',
  'R-Loc: the share of a same-subject fact\'s answer tokens still predicted top-1 after the edit, over the facts',
  'the model knew before (top-1 on every token); facts it did not know are counted as unknown and left out.',
].join('\n');

export function formatFineKed(s: FineKedSummary): string {
  const f = (x: number) => x.toFixed(1);
  const lines = [
    '| measure | value (×100) |',
    '|---|---|',
    `| efficacy: P(o*) > P(o) / top-1 | ${f(s.efficacy.success)} / ${f(s.efficacy.top1)} |`,
    ...(s.paraphrase.cases ? [`| paraphrase: P(o*) > P(o) / top-1 | ${f(s.paraphrase.success)} / ${f(s.paraphrase.top1)} |`] : []),
    ...FINE_LEVELS.map((l) => `| R-Loc ${l} (${s.levels[l].known} facts) | ${s.levels[l].known ? f(s.levels[l].rloc) : '–'} |`),
    `| R-Loc average | ${f(s.average.rloc)} |`,
    ...(s.neighbourhood.cases ? [`| neighbourhood specificity: P(o) > P(o*) | ${f(s.neighbourhood.success)} |`] : []),
  ];
  const worst = s.worst.slice(0, 5).map((w) => `  case ${w.caseId} ${w.subject}: ${w.targetTrue} → ${w.targetNew}, R-Loc ${f(w.rloc)}${w.lost.length ? `; lost ${w.lost.map((x) => `${x.level} "${x.prompt} ${x.answer}"`).join(', ')}` : ''}`);
  return [lines.join('\n'), ...(worst.length ? ['', 'worst cases:', ...worst] : []), ...(s.unknown ? ['', `${s.unknown} facts unknown to the reference model, left out of R-Loc`] : [])].join('\n');
}

export const fineKed: Command = {
  summary: 'FINE-KED diagnostics: does a fact edit keep the subject\'s other facts (R-Loc easy / middle / hard)?',
  help: HELP,
  options: {
    ...modelOptions, data: { type: 'string' }, method: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, shard: { type: 'string' }, baseline: { type: 'string' },
    lti: { type: 'boolean' }, layer: { type: 'string' }, layers: { type: 'string' }, lambda: { type: 'string' }, corpus: { type: 'string', multiple: true },
  },
  async run(values) {
    const method = (values.method as string | undefined) ?? 'none';
    if (!(FINE_KED_METHODS as readonly string[]).includes(method)) throw badInput(`--method must be one of ${FINE_KED_METHODS.join(', ')}, got "${method}"`, { field: '--method' });
    const shard = parseShard(values.shard as string | undefined);
    const limit = values.limit === undefined ? undefined : intOption(values, 'limit', 0, 1, 10_000_000);
    const lambda = values.lambda === undefined ? undefined : Number(values.lambda);
    if (lambda !== undefined && !(Number.isFinite(lambda) && lambda > 0)) throw badInput(`--lambda must be a number above 0, got "${values.lambda}"`, { field: '--lambda' });
    const model = await openModel(values);
    const data = (values.data as string | undefined) ?? path.join(model.checkpoint.dir, 'eval', 'fine_ked.json');
    if (!fs.existsSync(data)) throw badInput(values.data ? 'The data file does not exist' : 'The model has no eval/fine_ked.json', { file: data, field: '--data', hint: 'Give a FINE-KED data file with --data (mechedit fine-ked --help shows the format).' });
    const stack = stacks.get(model)!;
    const perCase = perCaseOptions(values, model, method !== 'none' && method !== 'context', lambda);
    const out = runFolder(values, 'fine-ked', method, shard);
    checkRunFolder(out, model.checkpoint);
    const result = await runFineKed(model, {
      data,
      method,
      limit,
      shard,
      out,
      resume: !!values.resume,
      edits: stackRefs(stack),
      baseline: values.baseline as string | undefined,
      perCase,
      log: (m) => process.stderr.write(`mechedit: ${m}\n`),
      onProgress: runProgress('fine-ked'),
    });
    return { out: path.resolve(result.out), cases: result.cases, seconds: result.seconds, skippedRecords: result.issues, summary: result.summary };
  },
  format: (r) => {
    const x = r as { out: string; cases: number; seconds: number; skippedRecords: unknown[]; summary: FineKedSummary };
    return `${formatFineKed(x.summary)}\n\n${x.cases} cases in ${x.seconds.toFixed(1)} s, ${x.skippedRecords.length} records skipped; results in ${x.out} (report.html)`;
  },
};
