#!/usr/bin/env node
// The guided path on the bundled model: does a ROME edit at the causal trace's recommended layer
// take? For a seeded draw of facts of models/default's world (a training declarative prompt of a
// (subject, relation), and another entity's answer of that relation as the new target, as
// bench/fact-edits.mjs draws them): trace the fact as the Causal Tracing panel does (its default
// samples, noise and window), then compute a ROME edit (default preset) at EVERY layer and ask
// factOutcome (src/core/edits/outcome.ts, the check the extension and CLI use) whether it took:
// the whole target greedy top-1 on the edit's prompt with length-normalised P ≥ 25 %.
//
// Prints a table: per layer, the share of facts whose edit took there; then, per recommendation
// rule (src/core/analysis/layerRule.ts RECOMMEND_RULES), the share that took at the layer the rule
// recommends, with a 95 % Wilson interval. --json FILE keeps every fact's trace summary and
// per-layer outcome, so rules can be compared on one draw (tune) and reported on another (test).
//
//   node bench/guided-path.mjs [--seed 1] [--n 20] [--layers 0,1,2,3,4,5 | --at recommended] [--json FILE] [--from FILE] [--model DIR]
// --at recommended: edits only at the layer the trace recommends (RECOMMENDED_RULE), one edit per
// fact instead of one per layer (a test draw of the chosen rule); other rules are then not measured.
// --from FILE: re-prints the tables from a --json file without computing (for trying rules).
// Needs `npx tsc -p .` (reads out/).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { counterfactualCases, out, repo as root, seededPicker } from './lib.mjs';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, n: { type: 'string', default: '20' }, layers: { type: 'string' }, json: { type: 'string' }, from: { type: 'string' }, at: { type: 'string' }, model: { type: 'string' }, threads: { type: 'string', default: '0' } } });
const { RECOMMEND_RULES, RECOMMENDED_RULE, recommendLayer, traceLayerSummary } = out('core/analysis/layerRule.js');

/** Wilson 95 % interval of k successes in n. */
function wilson(k, n) {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const den = 1 + (z * z) / n;
  const mid = (p + (z * z) / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / den;
  return [Math.max(0, mid - half), Math.min(1, mid + half)];
}
const pct = (x) => `${(100 * x).toFixed(0)} %`;
const cell = (k, n) => {
  const [lo, hi] = wilson(k, n);
  return `${k}/${n} (${pct(k / Math.max(1, n))}; ${pct(lo)}–${pct(hi)})`;
};

async function measure() {
  const { LoadedModel } = out('core/runtime/model.js');
  const { EditStack } = out('core/edits/stack.js');
  const { computeFactEdit } = out('core/methods/factEditors.js');
  const { factOutcome } = out('core/edits/outcome.js');
  const { causalTrace } = out('core/analysis/causalTrace.js');
  const modelDir = values.model ?? path.join(root, 'models', 'default');
  const stack = new EditStack(LoadedModel.open(modelDir, { provider: 'cpu', threads: Number(values.threads) }));
  const model = stack.model;
  const layers = values.layers ? values.layers.split(',').map(Number) : Array.from({ length: model.dims.layers }, (_, l) => l);
  const facts = fs.readFileSync(path.join(modelDir, 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const { cases } = counterfactualCases(facts, Number(values.n), seededPicker(Number(values.seed)));
  const rows = [];
  for (const [i, c] of cases.entries()) {
    const prompt = c.request.prompt.replace('{}', c.request.subject);
    const trace = await causalTrace(model, { prompt, subject: c.request.subject });
    const row = { prompt, subject: c.request.subject, answer: c.fact.answer, target: c.request.target, trace: traceLayerSummary(trace), took: {}, prob: {} };
    const at = values.at === 'recommended' ? [recommendLayer(row.trace)].filter((l) => l !== undefined) : layers;
    for (const l of at) {
      const t0 = performance.now();
      const r = await computeFactEdit('rome', model, stack, [c.request], { layer: l });
      const o = await factOutcome(stack, r.edit, [c.request]);
      row.took[l] = o.succeeded;
      row.prob[l] = o.efficacy[0].targetProb;
      process.stderr.write(`${i + 1}/${cases.length} ${prompt} → ${c.request.target}: layer ${l} ${o.succeeded ? 'took' : 'failed'} (P ${pct(o.efficacy[0].targetProb)}, ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
    rows.push(row);
    // Written after every fact: a run stopped early keeps the facts done (n says how many were drawn).
    if (values.json) fs.writeFileSync(values.json, `${JSON.stringify({ seed: Number(values.seed), n: cases.length, layers, rows, ...(values.at ? { at: `${values.at} (${RECOMMENDED_RULE})` } : {}) }, null, 1)}\n`);
  }
  return { seed: Number(values.seed), n: cases.length, layers, rows, ...(values.at ? { at: `${values.at} (${RECOMMENDED_RULE})` } : {}) };
}

const data = values.from ? JSON.parse(fs.readFileSync(values.from, 'utf8')) : await measure();
if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(data, null, 1)}\n`);

const { rows, layers } = data;
const measured = (r, l) => l !== undefined && r.took[l] !== undefined;
console.log(`Seed ${data.seed}: ${rows.length} facts of models/default's world${rows.length < data.n ? ` (the first ${rows.length} of the ${data.n} drawn: the run was stopped)` : ''}, ROME (default preset) ${data.at ? `at the layer the trace recommends, ${data.at}` : 'at each layer'}.\n`);
console.log(`| layer | ${layers.join(' | ')} |`);
console.log(`|---|${layers.map(() => '---').join('|')}|`);
console.log(`| took | ${layers.map((l) => { const m = rows.filter((r) => measured(r, l)); return m.length ? cell(m.filter((r) => r.took[l]).length, m.length) : '—'; }).join(' | ')} |`);
console.log(`| recommended (${RECOMMENDED_RULE}) | ${layers.map((l) => rows.filter((r) => recommendLayer(r.trace) === l).length).join(' | ')} |`);
console.log('');
console.log('| rule | took at its layer | no layer recommended (trace not informative) | not measured at its layer | took at some layer |');
console.log('|---|---|---|---|---|');
const some = rows.filter((r) => layers.some((l) => r.took[l])).length;
for (const [id, rule] of Object.entries(RECOMMEND_RULES)) {
  const picks = rows.map((r) => rule.pick(r.trace));
  const none = picks.filter((p) => p === undefined).length;
  const withPick = rows.filter((r, i) => measured(r, picks[i]));
  const took = withPick.filter((r) => r.took[picks[rows.indexOf(r)]]).length;
  console.log(`| \`${id}\`${id === RECOMMENDED_RULE ? ' (the trace\'s rule)' : ''}: ${rule.doc} | ${withPick.length ? cell(took, withPick.length) : '—'} | ${none} | ${rows.length - none - withPick.length} | ${some}/${rows.length} |`);
}
