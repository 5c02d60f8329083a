#!/usr/bin/env node
// GLAME against ROME (and MEMIT) on the bundled model: does an edit carry over to knowledge
// connected to the new object? Each method computes every case's own edit on the unedited model
// (caseEdit.ts), scores it, and reverts, in two suites:
//   EVOKE (eval/evoke.json)   efficacy, paraphrase, multi-hop EOS / AMS (the portability question
//                             through o*: the new answer beats o* / beats the original answer), prefix distraction EOS, relation specificity
//   probes (eval/probes.json) two-hop portability through o* (the world's two-hop facts: the answer
//                             through o* beats the one through o, and top-1), reversal gap,
//                             context–memory conflict, consistency across forms, same-subject R-Loc
// The last row, "in context", is no edit: the unedited model with the new fact stated before
// every probe prompt (the probes' in-context view of the first method's run) — what a perfect
// in-context statement of the fact reaches on the same questions.
//   s/edit   wall seconds per case of both suites (compute + score), this machine, one process
//
//   node bench/glame.mjs [--limit 20] [--probe-limit 54] [--methods rome,glame,memit] [--lti] [--out DIR] [--model DIR] [--threads 0] [--preset P]
// A method may name its preset, glame@tuned, glame@cf_plus (else --preset, else its default).
// Needs `npx tsc -p .` (reads out/). Run folders per suite and method under --out (resumable).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { runEvoke } = out('core/diagnostics/evokeRun.js');
const { runProbes } = out('core/diagnostics/probesRun.js');

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '20' },
    'probe-limit': { type: 'string', default: '54' },
    methods: { type: 'string', default: 'rome,glame,memit' },
    lti: { type: 'boolean' },
    out: { type: 'string' },
    model: { type: 'string' },
    threads: { type: 'string', default: '0' },
    preset: { type: 'string' },
  },
});
const modelDir = values.model ?? path.join(repo, 'models', 'default');
const outDir = values.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'glame-bench-'));
const model = LoadedModel.open(modelDir, { provider: 'cpu', threads: Number(values.threads) });
const limit = Number(values.limit);
const probeLimit = Number(values['probe-limit']);

/** Seconds spent filling a run folder, summed over the runs that filled it (a resumed run adds its share). */
function addTime(dir, seconds, cases) {
  const file = path.join(dir, 'bench-times.json');
  const earlier = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { seconds: 0, cases: 0 };
  const t = { seconds: earlier.seconds + seconds, cases: earlier.cases + cases };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(t));
  return t;
}

const rows = [];
let inContext;
for (const entry of values.methods.split(',').map((m) => m.trim()).filter(Boolean)) {
  const [method, preset = values.preset] = entry.split('@');
  for (const lti of values.lti ? [false, true] : [false]) {
    const name = `${method}${preset ? `@${preset}` : ''}${lti ? '+lti' : ''}`;
    const perCase = () => ({ stack: new EditStack(model), lti, preset });
    const progress = (suite) => (done, total) => process.stderr.write(`\r${name} ${suite}: ${done}/${total}   `);

    const evokeDir = path.join(outDir, `evoke-${name}`);
    let t0 = performance.now();
    const before = fs.existsSync(path.join(evokeDir, 'cases.jsonl')) ? fs.readFileSync(path.join(evokeDir, 'cases.jsonl'), 'utf8').split('\n').filter(Boolean).length : 0;
    const evoke = await runEvoke(model, {
      data: path.join(modelDir, 'eval', 'evoke.json'),
      method,
      limit,
      out: evokeDir,
      resume: fs.existsSync(path.join(evokeDir, 'run.json')),
      perCase: perCase(),
      onProgress: (p) => progress('EVOKE')(p.done, p.total),
      log: (m) => process.stderr.write(`\n${name}: ${m}\n`),
    });
    const te = addTime(evokeDir, (performance.now() - t0) / 1000, evoke.cases - before);

    // A finished probes folder of the same limit is read back (the probes run has no --resume).
    const probesDir = path.join(outDir, `probes-${name}-${probeLimit}`);
    t0 = performance.now();
    const doneFile = path.join(probesDir, 'bench-probes.json');
    const probes = fs.existsSync(doneFile) && JSON.parse(fs.readFileSync(doneFile, 'utf8')).limit === probeLimit ? JSON.parse(fs.readFileSync(doneFile, 'utf8')) : await runProbes(model, {
      cases: path.join(modelDir, 'eval', 'probes.json'),
      method,
      limit: probeLimit,
      out: probesDir,
      perCase: perCase(),
      onProgress: (p) => progress('probes')(p.done, p.total),
      log: (m) => process.stderr.write(`\n${name}: ${m}\n`),
    });
    const fresh = !probes.limit;
    if (fresh) fs.writeFileSync(doneFile, JSON.stringify({ limit: probeLimit, summary: probes.summary }));
    const tp = addTime(probesDir, fresh ? (performance.now() - t0) / 1000 : 0, fresh ? probes.summary.cases : 0);
    process.stderr.write('\n');
    rows.push({ name, evoke: evoke.summary, probes: probes.summary.parametric, conflict: probes.summary.conflict, perEdit: (te.seconds + tp.seconds) / Math.max(1, te.cases + tp.cases) });
    inContext ??= probes.summary.inContext;
  }
}

const f = (x) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(1));
const ind = (s, task, k) => f(s[task]?.indicators?.[k]);
console.log(`\nGLAME bench, ${path.relative(repo, modelDir) || modelDir}, first ${limit} EVOKE cases and first ${probeLimit} probe cases, ${os.cpus().length} cores (${os.cpus()[0].model.trim()}), ${new Date().toISOString().slice(0, 10)}; run folders in ${outDir}\n`);
console.log('| method | efficacy (EVOKE) | paraphrase | **two-hop portability** (top-1) | multi-hop EOS | multi-hop AMS | prefix distraction EOS | specificity | reversal gap | edit wins over old fact in context | consistency | same-subject R-Loc | s / edit |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const p = r.probes;
  console.log(`| ${r.name} | ${ind(r.evoke, 'efficacy', 'success')} | ${ind(r.evoke, 'paraphrase', 'success')} | **${f(p.ripple.success)}** (${f(p.ripple.top1)}) | ${ind(r.evoke, 'multihop', 'eos')} | ${ind(r.evoke, 'multihop', 'ams')} | ${ind(r.evoke, 'prefix', 'eos')} | ${ind(r.evoke, 'relationSpecificity', 'eos')} | ${p.reversal.cases ? `${f(p.reversal.gap)} (n ${p.reversal.cases})` : '– (no case)'} | ${f(r.conflict.editWinsOverOldContext)} | ${f(p.agreement)} | ${f(p.rloc)} | ${r.perEdit.toFixed(1)} |`);
}
if (inContext) {
  const p = inContext;
  console.log(`| in context (no edit) | ${f(p.efficacy)} (probes) | – | **${f(p.ripple.success)}** (${f(p.ripple.top1)}) | – | – | – | – | ${p.reversal.cases ? f(p.reversal.gap) : '– (no case)'} | – | ${f(p.agreement)} | ${f(p.rloc)} | – |`);
}
console.log('\nEfficacy/paraphrase: P(o*) > P(o) (EVOKE). Two-hop portability: the two-hop answer through o* beats the one through o (probes ripple). Multi-hop EOS: the new two-hop answer beats the edit target o* (not overfit to o*); AMS: the new two-hop answer beats the original. Prefix distraction EOS: after "s r o*." the neighbour keeps its own answer over o*. Reversal gap: forward − reverse efficacy on relations whose inverse has one answer.');
