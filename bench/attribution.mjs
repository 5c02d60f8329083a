// Attribution patching against exact activation patching: Spearman's ρ between the AtP (and
// AtP-IG) estimates and the exact effects (patched − corrupted metric) over all nodes (resid_post,
// mlp_out, attn_out and heads at every layer × position), and over the 20 nodes with the largest
// exact |effect|; and the time of each method (after warm-up calls that build the graphs).
// Models: the bundled model (a prompt pair of its world) and a random GPT-2-small-shaped
// checkpoint (12 layers, d_model 768, 12 heads, vocab 50257; tools/random-checkpoint.mjs) with the
// IOI pair — random weights, so its ρ says how well first order works on an untrained network.
// Usage: npx tsc -p . && node bench/attribution.mjs [--threads 2] [--ig-steps 8] [--skip-small]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, 'ig-steps': { type: 'string', default: '8' }, 'skip-small': { type: 'boolean', default: false } } });
const threads = Number(values.threads);
const igSteps = Number(values['ig-steps']);
const { LoadedModel } = out('core/runtime/model.js');
const { patchExact } = out('core/analysis/patching.js');
const { attributionPatch } = out('core/analysis/attribution.js');

const nodes = ['resid', 'mlp', 'attn', 'heads'];

/** Ranks with ties averaged (1-based). */
function ranks(x) {
  const order = x.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const r = new Array(x.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}
function pearson(a, b) {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
const spearman = (a, b) => pearson(ranks(a), ranks(b));
const effects = (r) => r.grids.flatMap((g) => g.raw.flat().map((v) => v - r.corrupt));

async function measure(label, modelDir, pair, warm) {
  const model = LoadedModel.open(modelDir, { provider: 'cpu', threads });
  const req = { ...pair, nodes };
  // Warm-up: the graphs (patch, taps, attribution) are built and opened once; the attribution runs
  // also once at the measured shapes (onnxruntime's first run at a new shape costs seconds on GPT-2
  // small, as much as the run itself); exact patching's thousands of rows dwarf that.
  await patchExact(model, { ...warm, nodes });
  await attributionPatch(model, req);
  await attributionPatch(model, { ...req, igSteps });
  const exact = await patchExact(model, req);
  const atp = await attributionPatch(model, req);
  const ig = await attributionPatch(model, { ...req, igSteps });
  await model.release();
  const e = effects(exact);
  const top = e.map((v, i) => [Math.abs(v), i]).sort((a, b) => b[0] - a[0]).slice(0, 20).map(([, i]) => i);
  const row = (name, r) => {
    const a = effects(r);
    const rho = r === exact ? '— | —' : `${spearman(a, e).toFixed(3)} | ${spearman(top.map((i) => a[i]), top.map((i) => e[i])).toFixed(3)}`;
    return `| ${label} | ${name} | ${e.length} | ${rho} | ${r.rowsRun} | ${(r.ms / 1000).toFixed(2)} |`;
  };
  return [row('exact', exact), row('AtP', atp), row(`AtP-IG (${igSteps} steps)`, ig)];
}

const lines = ['| model | method | nodes | ρ all | ρ top 20 | rows run | seconds |', '|---|---|---|---|---|---|---|'];
lines.push(...await measure('bundled (6 × 128, 4 heads)', path.join(repo, 'models', 'default'),
  { clean: 'Baekpen Jaekdixjol was born in', corrupt: 'Baequa Kaekmyth was born in', answer: 'Grikport', wrong: 'Kurhiassa' },
  { clean: 'Baekhyndvaes Drondraes was born in', corrupt: 'Barnzom Woskbundwaen was born in', answer: 'Quaemgrundport', wrong: 'Vyswick' }));
if (!values['skip-small']) {
  const dir = path.join(os.tmpdir(), 'mechedit-bench-gpt2-small-random');
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    execFileSync(process.execPath, [path.join(repo, 'tools', 'random-checkpoint.mjs'), '--arch', 'gpt2', '--out', dir, '--layers', '12', '--d-model', '768', '--heads', '12', '--tied', '--seed', '7'], { stdio: 'inherit' });
  }
  lines.push(...await measure('random GPT-2-small shape (12 × 768, 12 heads)', dir,
    { clean: 'When John and Mary went to the store, John gave a drink to', corrupt: 'When John and Mary went to the store, Mary gave a drink to', answer: 'Mary', wrong: 'John' },
    { clean: 'John gave it to', corrupt: 'Mary gave it to', answer: 'Mary', wrong: 'John' }));
}
console.log(`node bench/attribution.mjs --threads ${threads} --ig-steps ${igSteps}; ${new Date().toISOString().slice(0, 10)}`);
console.log(lines.join('\n'));
