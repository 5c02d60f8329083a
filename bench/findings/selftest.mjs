#!/usr/bin/env node
// Checks of bench/findings-lib.mjs's bootstrap against independent references; exits 1 on a failure.
//   1. A Bernoulli sample (60 of 100): the percentile interval of the mean is within 0.015 of the
//      normal approximation p ± 1.96 √(p(1 − p)/n) = [0.504, 0.696].
//   2. A continuous sample through numpy (/usr/bin/python3; its own generator, 20000 resamples): the
//      two intervals' ends agree within 0.2 standard errors of the mean.
//   3. Paired: b = a − 0.25 on every case gives exactly 0.25 with a zero-width interval; a = b gives 0.
//   4. quantile() is numpy's linear interpolation (np.quantile of 0…9 at 0.025 and 0.975).
//   5. The same seed gives the same interval.
//
//   node bench/findings/selftest.mjs

import { spawnSync } from 'node:child_process';
import { bootMean, bootPaired, quantile, rng } from '../findings-lib.mjs';

let failed = 0;
const check = (what, ok, detail) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${detail}`);
  if (!ok) failed++;
};
const close = (a, b, tol) => Math.abs(a - b) <= tol;

const rand = rng(5);
const xs = Array.from({ length: 100 }, (_, i) => (i < 60 ? 1 : 0)).sort(() => rand() - 0.5);
const ci = bootMean(xs, { seed: 11 });
const se = Math.sqrt((0.6 * 0.4) / 100);
check('Bernoulli 60/100 vs normal approximation', ci.value === 0.6 && close(ci.lo, 0.6 - 1.96 * se, 0.015) && close(ci.hi, 0.6 + 1.96 * se, 0.015), `[${ci.lo.toFixed(3)}, ${ci.hi.toFixed(3)}] vs [${(0.6 - 1.96 * se).toFixed(3)}, ${(0.6 + 1.96 * se).toFixed(3)}]`);

const py = 'import numpy as np, json, sys\nx=np.array(json.loads(sys.argv[1]))\nr=np.random.default_rng(0)\nm=x[r.integers(0,len(x),(20000,len(x)))].mean(1)\nprint(*np.quantile(m,[0.025,0.975]), *np.quantile(np.arange(10.0),[0.025,0.975]))';
const cont = Array.from({ length: 80 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 7));
const r = spawnSync('/usr/bin/python3', ['-c', py, JSON.stringify(cont)], { encoding: 'utf8' });
if (r.status !== 0) check('numpy reference', false, `python failed: ${r.stderr.trim().split('\n').at(-1)}`);
else {
  const [lo, hi, q1, q2] = r.stdout.trim().split(/\s+/).map(Number);
  const mine = bootMean(cont, { seed: 3 });
  // Tolerance 0.2 standard errors of the mean: ≈ 3 × the Monte Carlo error of a 2.5 % quantile at
  // 2000 resamples; a 90 % interval in place of the 95 % one would be off by ≈ 0.3 standard errors.
  const m = cont.reduce((x, y) => x + y, 0) / cont.length;
  const sem = Math.sqrt(cont.reduce((x, y) => x + (y - m) ** 2, 0) / (cont.length - 1) / cont.length);
  check('continuous sample vs numpy bootstrap', close(mine.lo, lo, 0.2 * sem) && close(mine.hi, hi, 0.2 * sem), `[${mine.lo.toFixed(3)}, ${mine.hi.toFixed(3)}] vs numpy [${lo.toFixed(3)}, ${hi.toFixed(3)}] (tolerance ${(0.2 * sem).toFixed(3)})`);
  const sorted = Array.from({ length: 10 }, (_, i) => i);
  check('quantile = numpy linear', close(quantile(sorted, 0.025), q1, 1e-12) && close(quantile(sorted, 0.975), q2, 1e-12), `${quantile(sorted, 0.025)}, ${quantile(sorted, 0.975)} vs ${q1}, ${q2}`);
}

const a = cont;
const shifted = bootPaired(a, a.map((x) => x - 0.25), { seed: 1 });
check('paired constant shift', close(shifted.value, 0.25, 1e-12) && close(shifted.lo, 0.25, 1e-12) && close(shifted.hi, 0.25, 1e-12), `${shifted.value} [${shifted.lo}, ${shifted.hi}]`);
const same = bootPaired(a, a, { seed: 1 });
check('paired identical', same.value === 0 && same.lo === 0 && same.hi === 0, `${same.value} [${same.lo}, ${same.hi}]`);
const nan = bootPaired([1, NaN, 0], [0, 1, NaN]);
check('paired drops NaN cases', nan.n === 1 && nan.value === 1, `n ${nan.n}, value ${nan.value}`);

const again = bootMean(xs, { seed: 11 });
check('seeded', again.lo === ci.lo && again.hi === ci.hi, `[${again.lo}, ${again.hi}]`);
process.exit(failed ? 1 : 0);
