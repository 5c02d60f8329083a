// The edit stack at scale: forward latency and apply / revert latency against the number of
// random rank-one edits on one module (the bundled model's layer-0 mlp.out, d_out 128 × d_in 512),
// for each consolidation policy of EditStack:
//   off     every edit stacked (rank N fed to the graph);
//   exact   ΔW formed densely once the summed rank exceeds min(d_out, d_in) (rank 128 fed);
//   svd     a truncated SVD within --tolerance of ΔW (rank and error printed).
// apply: mean over the applies that brought the stack to N; revert top / revert first: revert the
// last-applied / the first edit and apply it again (only the revert is timed; reverting anything
// but the top refolds the module from all its edits). forward: median of --runs runs of a
// 32-token prompt. Prints a markdown table. Not a test: nothing fails.
//
// Usage: npx tsc -p . && node bench/stack-scale.mjs [--sizes 1,10,100,1000,3000] [--policies off,exact,svd]
//                                                  [--tolerance 0.3] [--runs 20] [--threads 1]
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values: opt } = parseArgs({ options: {
  sizes: { type: 'string', default: '1,10,100,1000,3000' }, policies: { type: 'string', default: 'off,exact,svd' },
  tolerance: { type: 'string', default: '0.3' }, runs: { type: 'string', default: '20' }, threads: { type: 'string', default: '1' },
} });
process.env.MECHEDIT_CACHE ??= path.join(os.homedir(), '.cache', 'mechedit-bench', 'mechedit');
const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');

const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: Number(opt.threads) });
const w = model.plan.blocks[0].down;
const sizes = opt.sizes.split(',').map(Number);
const runs = Number(opt.runs);
const log = (m) => process.stderr.write(`[bench:stack-scale] ${m}\n`);
const ms = (x) => (x < 1 ? `${(x * 1000).toFixed(0)} µs` : `${x.toFixed(x < 10 ? 2 : 1)} ms`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let seed = 12345;
const rand = (n, scale) => Float32Array.from({ length: n }, () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return (seed / 2 ** 32 - 0.5) * 2 * scale;
});
const edits = Array.from({ length: Math.max(...sizes) }, (_, i) => ({
  json: {
    format: 'mechedit-edit/1', id: `r${i}`, label: `r${i}`, method: 'manual', modelFingerprint: model.checkpoint.fingerprint,
    targets: [{ layer: 0, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: `r${i}.safetensors`, created: new Date(0).toISOString(),
  },
  tensors: [{ U: rand(w.out, 0.01), V: rand(w.in, 0.01) }],
}));
const ids = model.tokenizer.encode('The quick brown fox jumps over the lazy dog. '.repeat(4)).slice(0, 32);
const batch = model.makeBatch([ids]);

async function forward(m) {
  await m.run({ logits: 'last' }, batch); // warm
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await m.run({ logits: 'last' }, batch);
    t.push(performance.now() - t0);
  }
  return median(t);
}

function timed(f) {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

const bare = await forward(model.bare());
const rows = [];
for (const name of opt.policies.split(',')) {
  const policy = name === 'svd' ? { mode: 'svd', tolerance: Number(opt.tolerance) } : { mode: name };
  const stack = new EditStack(model.withEdits(model.edits));
  stack.setConsolidation(policy);
  let applied = 0;
  for (const n of sizes) {
    const from = applied;
    const applyMs = timed(() => { while (applied < n) stack.apply(edits[applied++]); }) / Math.max(n - from, 1);
    const revertTop = timed(() => stack.revert(edits[n - 1].json.id));
    stack.apply(edits[n - 1]);
    const revertFirst = timed(() => stack.revert(edits[0].json.id));
    stack.apply(edits[0]);
    const info = stack.consolidation().get('0:mlp.out');
    const fwd = await forward(stack.model);
    rows.push({ policy: name === 'svd' ? `svd ${opt.tolerance}` : name, n, fed: info.rank, kind: info.kind, error: info.error, applyMs, revertTop, revertFirst, fwd });
    log(`${name} N=${n}: fed rank ${info.rank} (${info.kind}), apply ${ms(applyMs)}, forward ${ms(fwd)}`);
  }
}

console.log(`\nmodels/default, layer-0 mlp.out (${w.out} × ${w.in}), ${ids.length}-token prompt, ${opt.threads} thread(s), CPU; forward without edits: ${ms(bare)}\n`);
console.log('| policy | edits | rank fed | fold | rel. error | apply (mean) | revert top | revert first | forward |');
console.log('|---|---:|---:|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.policy} | ${r.n} | ${r.fed} | ${r.kind} | ${r.error.toFixed(3)} | ${ms(r.applyMs)} | ${ms(r.revertTop)} | ${ms(r.revertFirst)} | ${ms(r.fwd)} |`);
}
model.release();
