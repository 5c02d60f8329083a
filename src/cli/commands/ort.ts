// `mechedit ort`: ORT diagnostics (core/diagnostics/ortRun.ts).

import { parseShard } from '../../core/diagnostics/runner';
import type { OrtResult } from '../../core/diagnostics/ort';
import { runOrtTargets } from '../../core/diagnostics/ortRun';
import * as path from 'node:path';
import { checkRunFolder } from '../../core/outputs';
import { intOption, modelHelp, modelOptions, openModel, requireString, stacks, type Command } from '../common';

export function formatOrt(results: OrtResult[]): string {
  const lines = ['| target | set | form | items | loss_prob before | after | change | token acc. before | after | change |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    for (const row of r.rows) {
      const a = row.after;
      const d = (x: number | undefined, y: number) => (x === undefined ? '–' : (x - y >= 0 ? '+' : '') + (x - y).toFixed(4));
      lines.push(`| ${r.target} | ${row.set} | ${row.form} | ${row.before.items} | ${row.before.lossProb.toFixed(4)} | ${a ? a.lossProb.toFixed(4) : '–'} | ${d(a?.lossProb, row.before.lossProb)} | ${row.before.tokenAccuracy.toFixed(3)} | ${a ? a.tokenAccuracy.toFixed(3) : '–'} | ${d(a?.tokenAccuracy, row.before.tokenAccuracy)} |`);
    }
  }
  return lines.join('\n');
}

export const ort: Command = {
  summary: 'ORT diagnostics: does unlearning hold in every form (cloze, question, adversarial, multiple choice, true/false, character by character)?',
  help: [
    'mechedit ort --model DIR --target DIR [--edits FILE …] [--limit N] [--out DIR] [--resume] [--shard i/n] [--json]',
    modelHelp,
    '  --target DIR         Target/<n>_<Name>/ (forget_level1.json … neighbor_mcp.json), or Target/ with many',
    '  --limit N            the first N targets',
    '  --out DIR            run folder: run.json, cases.jsonl (one line per target), issues.json, summary.json',
    '  --resume             continue a run folder after a crash or cancel (same model, edits, targets, limit, shard)',
    '  --shard i/n          only targets i, i+n, i+2n, … (0 ≤ i < n); merge the folders with mechedit merge',
    'Scores are measured without the edits and with them; forget: lower is better, neighbour: higher.',
  ].join('\n'),
  options: { ...modelOptions, target: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, shard: { type: 'string' } },
  async run(values) {
    const target = requireString(values, 'target');
    const shard = parseShard(values.shard as string | undefined);
    const limit = values.limit === undefined ? undefined : intOption(values, 'limit', 0, 1, 10_000_000);
    const model = await openModel(values);
    const out = values.out as string | undefined;
    if (out) checkRunFolder(out, model.checkpoint);
    const result = await runOrtTargets(model, stacks.get(model)!, {
      target,
      out,
      resume: !!values.resume,
      shard,
      limit,
      log: (m) => process.stderr.write(`mechedit: ${m}\n`),
      onProgress: (p) => process.stderr.write(`mechedit ort: ${p.done}/${p.total} targets\n`),
    });
    return { ...(result.out ? { out: path.resolve(result.out) } : {}), targets: result.targets };
  },
  format: (r) => formatOrt((r as { targets: OrtResult[] }).targets),
};
