#!/usr/bin/env node
// FINE-KED on the bundled model (or --model DIR): each method computes every case's own edit on
// the unedited model, scores it on a copy of the stack with that edit, and is measured against
// the model before the edit (fineKedRun.ts). One run folder per method under --out (resumable:
// rerun with the same --out to finish a run that was stopped). Prints one table:
//   efficacy     P(o*) > P(o) on the edit prompt (top-1 in brackets)
//   paraphrase   the same on the case's paraphrases
//   R-Loc        the same subject's facts of other relations still answered as before, per level
//                (easy / middle / hard by how close the relation is to the edited one) and averaged
//   neighbours   other subjects' facts of the edited relation keep P(o) > P(o*)
// Method 'context' is a reference, not an edit: the new fact stated before every prompt.
//   s/edit       wall seconds per case (compute + score), this machine, one process
//
//   node bench/fine-ked.mjs [--limit 30] [--methods rome,memit,memit@10,alphaedit,dike] [--lti] [--out DIR] [--model DIR] [--threads 0]
// Needs `npx tsc -p .` (reads out/).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { runFineKed } = out('core/diagnostics/fineKedRun.js');

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '30' },
    methods: { type: 'string', default: 'rome,memit,alphaedit,dike' },
    lti: { type: 'boolean' },
    out: { type: 'string' },
    model: { type: 'string' },
    data: { type: 'string' },
    threads: { type: 'string', default: '0' },
  },
});
const modelDir = values.model ?? path.join(repo, 'models', 'default');
const data = values.data ?? path.join(modelDir, 'eval', 'fine_ked.json');
const outDir = values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fine-ked-bench-'));
const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: Number(values.threads) });
const limit = Number(values.limit);

const runs = [];
for (const spec of values.methods.split(',').map((m) => m.trim()).filter(Boolean)) {
  // "memit@10": the method with λ = 10 (MEMIT's mom2_update_weight, AlphaEdit's ridge).
  const [method, lambdaText] = spec.split('@');
  const lambda = lambdaText === undefined ? undefined : Number(lambdaText);
  for (const lti of values.lti ? [false, true] : [false]) {
    // LTI applies to every editor's v* (or δ) loop; the in-context reference has none.
    if (lti && method === 'context') continue;
    const name = `${method}${lambda !== undefined ? ` λ=${lambda}` : ''}${lti ? '+lti' : ''}`;
    const dir = path.join(outDir, name.replace(/[ =λ]+/g, '-'));
    const casesFile = path.join(dir, 'cases.jsonl');
    const before = fs.existsSync(casesFile) ? fs.readFileSync(casesFile, 'utf8').split('\n').filter(Boolean).length : 0;
    const t0 = performance.now();
    let done = 0;
    const r = await runFineKed(model, {
      data,
      method,
      limit,
      out: dir,
      resume: fs.existsSync(path.join(dir, 'run.json')),
      perCase: method === 'context' ? undefined : { stack: new EditStack(model), lti, lambda },
      onProgress: (p) => {
        if (p.done > done) process.stderr.write(`\r${name}: ${(done = p.done)}/${p.total}   `);
      },
      log: (m) => process.stderr.write(`\n${name}: ${m}\n`),
    });
    process.stderr.write('\n');
    // Seconds and cases computed, summed over the runs that filled this folder (a resumed run adds its share).
    const timesFile = path.join(dir, 'bench-times.json');
    const earlier = fs.existsSync(timesFile) ? JSON.parse(fs.readFileSync(timesFile, 'utf8')) : { seconds: 0, cases: 0 };
    const times = { seconds: earlier.seconds + (performance.now() - t0) / 1000, cases: earlier.cases + r.cases - before };
    fs.writeFileSync(timesFile, JSON.stringify(times));
    runs.push({ name, summary: r.summary, seconds: times.seconds, fresh: times.cases });
  }
}

const pct = (x) => x.toFixed(1);
console.log(`\nFINE-KED, ${data.replace(repo + path.sep, '')}, first ${limit} cases, ${os.cpus().length} cores (${os.cpus()[0].model.trim()}), ${new Date().toISOString().slice(0, 10)}; run folders in ${outDir}\n`);
console.log('| method | efficacy (top-1) | paraphrase (top-1) | R-Loc easy | R-Loc middle | R-Loc hard | R-Loc average | neighbourhood | s / edit |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const { name, summary: s, seconds, fresh } of runs) {
  const perEdit = fresh > 0 ? (seconds / fresh).toFixed(1) : '–';
  console.log(`| ${name} | ${pct(s.efficacy.success)} (${pct(s.efficacy.top1)}) | ${pct(s.paraphrase.success)} (${pct(s.paraphrase.top1)}) | ${pct(s.levels.easy.rloc)} | ${pct(s.levels.middle.rloc)} | ${pct(s.levels.hard.rloc)} | **${pct(s.average.rloc)}** | ${pct(s.neighbourhood.success)} | ${perEdit} |`);
}
