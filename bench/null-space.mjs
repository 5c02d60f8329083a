#!/usr/bin/env node
// AlphaEdit's null-space projector at scale (src/core/edits/nullspace.ts): for each size d, a
// random one-layer GPT-2 checkpoint with d_mlp = d and d_model = d / 4 (d = 6400: GPT-2 XL's
// 1600 / 6400; tools/random-checkpoint.mjs), its key statistics C over the bundled corpus
// (keyStats, 10 × d key vectors unless --samples), then P for τ = --threshold × the mean
// eigenvalue by the matrix-sign iteration on the chosen execution provider. Where d ≤ --exact,
// P_exact from numpy's eigh (/usr/bin/python3) for ‖P − P_exact‖_F and the exact dimension.
//
//   node bench/null-space.mjs [--sizes 512,2048,6400] [--threshold 0.1] [--provider cpu] [--threads 0] [--samples N] [--exact 2048] [--keep DIR]
// Needs `npx tsc -p .` (reads out/). Writes the checkpoints and caches under a temp folder (removed
// unless --keep).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '512,2048,6400' }, threshold: { type: 'string', default: '0.1' }, provider: { type: 'string', default: 'cpu' }, threads: { type: 'string', default: '0' }, samples: { type: 'string' }, exact: { type: 'string', default: '2048' }, keep: { type: 'string' } } });
const work = values.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-null-space-'));
process.env.MECHEDIT_CACHE = path.join(work, 'cache');
const { LoadedModel } = out('core/runtime/model.js');
const { keyStats } = out('core/edits/stats.js');
const { spectralProjector, relativeTau } = out('core/edits/nullspace.js');

/** ‖P − P_exact‖_F and the exact dimension from numpy (undefined without /usr/bin/python3 + numpy). */
function exact(C, P, d, tau) {
  const cFile = path.join(work, 'C.f64');
  const pFile = path.join(work, 'P.f32');
  fs.writeFileSync(cFile, Buffer.from(C.buffer, C.byteOffset, C.byteLength));
  fs.writeFileSync(pFile, Buffer.from(P.buffer, P.byteOffset, P.byteLength));
  const py = `import numpy as np, sys
d=${d}; tau=${tau}
C=np.fromfile(sys.argv[1], dtype=np.float64).reshape(d, d); P=np.fromfile(sys.argv[2], dtype=np.float32).reshape(d, d).astype(np.float64)
w,U=np.linalg.eigh(C); Us=U[:, w < tau]
print(int((w < tau).sum()), np.linalg.norm(P - Us @ Us.T), int(((w > tau / 1.01) & (w < tau * 1.01)).sum()))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, cFile, pFile], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const [dim, err, near] = r.stdout.trim().split(/\s+/).map(Number);
  return { dim, err, near };
}

const rows = [];
for (const d of values.sizes.split(',').map(Number)) {
  const dir = path.join(work, `ckpt-${d}`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    execFileSync(process.execPath, [path.join(repo, 'tools', 'random-checkpoint.mjs'), '--arch', 'gpt2', '--out', dir, '--layers', '1', '--d-model', String(d / 4), '--heads', String(d / 256), '--d-mlp', String(d), '--positions', '128', '--seed', '7'], { stdio: 'ignore' });
  }
  const model = LoadedModel.open(dir, { provider: values.provider, threads: Number(values.threads) });
  const t0 = performance.now();
  const stats = await keyStats(model, { layer: 0, corpus: [path.join(repo, 'models', 'default', 'corpus.txt')], samples: values.samples ? Number(values.samples) : undefined });
  const statsS = (performance.now() - t0) / 1000;
  const tau = relativeTau(stats.C, d, Number(values.threshold));
  const ns = await spectralProjector(stats.C, d, tau, { provider: values.provider, threads: Number(values.threads) });
  const ref = d <= Number(values.exact) ? exact(stats.C, ns.P, d, tau) : undefined;
  rows.push({ d, statsS, ns, ref });
  process.stderr.write(`d ${d}: statistics ${statsS.toFixed(1)} s, projector ${ns.seconds.toFixed(1)} s\n`);
  await model.release();
}

console.log(`\nNull-space projector P (eigenvalues of C below ${values.threshold} × their mean), matrix-sign iteration on ${values.provider}; ${os.cpus().length} CPUs\n`);
console.log('| d_mlp | statistics (s) | method | steps (quintic + cubic) | seconds | null-space dim | exact dim | ‖P − P_exact‖_F | eigenvalues within 1 % of τ |');
console.log('|---:|---:|---|---:|---:|---:|---:|---:|---:|');
for (const { d, statsS, ns, ref } of rows) {
  console.log(`| ${d} | ${statsS.toFixed(1)} | sign iteration (ORT ${values.provider}) | ${ns.quinticSteps} + ${ns.cubicSteps} | ${ns.seconds.toFixed(1)} | ${ns.dimension} | ${ref?.dim ?? '—'} | ${ref ? ref.err.toExponential(2) : '—'} | ${ref?.near ?? '—'} |`);
}
if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
