// The core trainer (src/core/train/trainer.ts): per-step lr, loss, gradient norm and final
// parameters against PyTorch AdamW + LambdaLR (HF schedules) + clip_grad_norm_ in float64
// (test/fixtures/golden/trainer.json, written by tools/trainer_golden.py); seeded batching; early
// stop, budget, cancel and divergence.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { train, type Param, type StepOutcome, type TrainerHparams, type TrainOptions } from '../../src/core/train/trainer';
import { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');

/** One case of trainer.json (layout in tools/trainer_golden.py's docstring). */
interface Case {
  name: string;
  objective: 'softmax-ce' | 'least-squares';
  classes: number;
  features: number;
  hparams: Omit<TrainerHparams, 'batchSizes' | 'seed'>;
  params: { name: string; dims: number[]; decay: boolean; init: number[] }[];
  data: { x: number[][][]; y: (number | number[])[][] }; // x [steps][B][F]; y [steps][B] or [steps][B][C]
  lr: number[];
  loss: number[];
  grad_norm: number[];
  clipped: boolean[];
  final: Record<string, number[]>;
}
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'trainer.json'), 'utf8')) as { cases: Case[] };

/** The case's loss at step k and its gradients with respect to W [C, F] and b [C], in float64. */
function lossAndGrads(c: Case, W: Float32Array, b: Float32Array, k: number): StepOutcome {
  const C = c.classes;
  const F = c.features;
  const xs = c.data.x[k];
  const gW = new Float64Array(C * F);
  const gb = new Float64Array(C);
  let loss = 0;
  xs.forEach((x, i) => {
    const z = Array.from({ length: C }, (_, r) => b[r] + x.reduce((s, xf, f) => s + W[r * F + f] * xf, 0));
    let dz: number[]; // d loss_i / d z
    if (c.objective === 'softmax-ce') {
      const y = c.data.y[k][i] as number;
      const top = Math.max(...z);
      const e = z.map((zr) => Math.exp(zr - top));
      const sum = e.reduce((s, v) => s + v, 0);
      loss += Math.log(sum) - (z[y] - top);
      dz = e.map((er, r) => er / sum - (r === y ? 1 : 0));
    } else {
      const y = c.data.y[k][i] as number[];
      dz = z.map((zr, r) => zr - y[r]);
      loss += 0.5 * dz.reduce((s, d) => s + d * d, 0);
    }
    dz.forEach((d, r) => {
      gb[r] += d / xs.length;
      x.forEach((xf, f) => (gW[r * F + f] += (d * xf) / xs.length));
    });
  });
  return { loss: loss / xs.length, grads: [Float32Array.from(gW), Float32Array.from(gb)] };
}

async function runCase(c: Case, clip = c.hparams.clip) {
  const params: Param[] = c.params.map((p) => ({ name: p.name, value: Float32Array.from(p.init), decay: p.decay }));
  const res = await train(params, { ...c.hparams, clip, batchSizes: [], seed: 0 }, {
    pools: [],
    compute: async (_batches, k) => lossAndGrads(c, params[0].value, params[1].value, k),
  });
  return { res, params };
}

/** max |a − b| / max(|b|, 1) over the final params. */
function finalErr(c: Case, params: Param[]): number {
  let e = 0;
  for (const p of params) p.value.forEach((a, j) => (e = Math.max(e, Math.abs(a - c.final[p.name][j]) / Math.max(Math.abs(c.final[p.name][j]), 1))));
  return e;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe('trainer vs PyTorch (AdamW, LambdaLR with HF schedules, clip_grad_norm_)', () => {
  for (const c of golden.cases) {
    test(`${c.name}: ${c.hparams.schedule} schedule, warm-up ${c.hparams.warmup}, clip ${c.hparams.clip}`, async () => {
      const { res, params } = await runCase(c);
      assert.equal(res.stoppedBy, 'steps');
      assert.equal(res.steps, c.hparams.steps);
      assert.deepEqual(res.curve.map((p) => p.step), c.lr.map((_, k) => k));
      const err = { lr: 0, loss: 0, gradNorm: 0, params: finalErr(c, params) };
      res.curve.forEach((p, k) => {
        err.lr = Math.max(err.lr, Math.abs(p.lr - c.lr[k]));
        err.loss = Math.max(err.loss, rel(p.loss, c.loss[k]));
        err.gradNorm = Math.max(err.gradNorm, rel(p.gradNorm, c.grad_norm[k]));
      });
      console.log(`  ${c.name}: max |Δlr| ${err.lr.toExponential(1)}, loss ${err.loss.toExponential(1)}, grad norm ${err.gradNorm.toExponential(1)} (relative), final params ${err.params.toExponential(1)}`);
      assert.ok(err.lr < 1e-15, `lr differs by ${err.lr}`);
      assert.ok(err.loss < 1e-5, `loss differs by ${err.loss} (relative)`);
      assert.ok(err.gradNorm < 1e-5, `grad norm differs by ${err.gradNorm} (relative)`);
      assert.ok(err.params < 1e-5, `final params differ by ${err.params}`);
      if (c.hparams.clip > 0) {
        // The golden clips on some steps and not others; the trainer saw the same norms.
        assert.ok(c.clipped.includes(true) && c.clipped.includes(false));
        assert.deepEqual(res.curve.map((p) => p.gradNorm > c.hparams.clip), c.clipped);
      }
    });
  }

  test('the comparison sees clipping: without it the clipped cases end far from PyTorch', async () => {
    for (const c of golden.cases.filter((g) => g.hparams.clip > 0)) {
      const { params } = await runCase(c, 0);
      assert.ok(finalErr(c, params) > 1e-3, `${c.name}: ${finalErr(c, params)}`);
    }
  });
});

/** Runs `steps` steps with lr 0 and records each step's batches. */
async function draw(pools: number[], batchSizes: number[], seed: number, steps: number): Promise<number[][][]> {
  const got: number[][][] = [];
  const p: Param = { name: 'p', value: new Float32Array(1), decay: false };
  await train([p], hp({ steps, batchSizes, seed }), {
    pools,
    compute: async (batches) => {
      got.push(batches);
      return { loss: 0, grads: [new Float32Array(1)] };
    },
  });
  return got;
}

function hp(over: Partial<TrainerHparams>): TrainerHparams {
  return { steps: 10, lr: 0, weightDecay: 0, betas: [0.9, 0.999], eps: 1e-8, warmup: 0, schedule: 'constant', clip: 0, batchSizes: [], seed: 0, ...over };
}

describe('seeded batching', () => {
  const pools = [10, 7, 3, 0];
  const sizes = [4, 3, 5, 2];

  test('the same seed gives the same batches; another seed, others', async () => {
    const a = await draw(pools, sizes, 42, 12);
    assert.deepEqual(await draw(pools, sizes, 42, 12), a);
    const b = await draw(pools, sizes, 43, 12);
    assert.notDeepEqual(b.map((s) => s[0]), a.map((s) => s[0]));
    assert.notDeepEqual(b.map((s) => s[1]), a.map((s) => s[1]));
  });

  test('every item comes once per epoch, epochs are reshuffled, batches run across epochs', async () => {
    const steps = await draw(pools, sizes, 7, 12);
    for (const [k, n] of [[0, 10], [1, 7]]) {
      assert.ok(steps.every((s) => s[k].length === sizes[k]));
      const flat = steps.flatMap((s) => s[k]); // 48 and 36 items: 4 and 5 whole epochs
      const epochs = Array.from({ length: Math.floor(flat.length / n) }, (_, e) => flat.slice(e * n, (e + 1) * n));
      for (const e of epochs) assert.deepEqual([...e].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
      assert.ok(new Set(epochs.map((e) => e.join())).size > 1, `pool ${k}: every epoch in the same order`);
      assert.notDeepEqual(epochs[0], Array.from({ length: n }, (_, i) => i));
    }
  });

  test('a batch larger than its pool is the whole pool; an empty pool gives empty batches', async () => {
    const steps = await draw(pools, sizes, 7, 5);
    for (const s of steps) {
      assert.deepEqual(s[2], [0, 1, 2]);
      assert.deepEqual(s[3], []);
    }
  });

  test('one batch size per pool, whole numbers', async () => {
    const p: Param = { name: 'p', value: new Float32Array(1), decay: false };
    const compute = async () => ({ loss: 0, grads: [new Float32Array(1)] });
    await assert.rejects(train([p], hp({ batchSizes: [2] }), { pools: [3, 4], compute }), (e: MechEditError) => e.data.code === 'bad-input' && e.data.field === 'batchSizes');
    await assert.rejects(train([p], hp({ batchSizes: [1.5] }), { pools: [3], compute }), (e: MechEditError) => e.data.code === 'bad-input' && e.data.field === 'batchSizes');
  });
});

describe('stopping', () => {
  const one = (): Param[] => [{ name: 'adapter.U', value: Float32Array.from([1, 2]), decay: true }];
  const ok = async (): Promise<StepOutcome> => ({ loss: 1, grads: [Float32Array.from([0.5, -0.5])], metrics: { forget: 0.3 } });

  test('early stop ends after the step it accepts; onStep sees every step', async () => {
    const seen: number[] = [];
    const o: TrainOptions = { pools: [], compute: ok, onStep: (p) => seen.push(p.step), earlyStop: async (p) => p.step === 4 };
    const res = await train(one(), hp({ steps: 20, lr: 0.01 }), o);
    assert.equal(res.stoppedBy, 'early-stop');
    assert.equal(res.steps, 5);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.deepEqual(res.curve[4].metrics, { forget: 0.3 });
  });

  test('a spent budget stops before the step cap (and never before step 1)', async () => {
    const slow = async () => {
      await sleep(20);
      return ok();
    };
    const res = await train(one(), hp({ steps: 1000, budgetMs: 60 }), { pools: [], compute: slow });
    assert.equal(res.stoppedBy, 'budget');
    assert.ok(res.steps >= 1 && res.steps < 1000);
    const zero = await train(one(), hp({ steps: 5, budgetMs: 0 }), { pools: [], compute: ok });
    assert.deepEqual([zero.stoppedBy, zero.steps], ['budget', 1]);
  });

  test('cancel throws code cancelled, after the steps already taken', async () => {
    let calls = 0;
    const params = one();
    const compute = async () => {
      calls++;
      return ok();
    };
    await assert.rejects(train(params, hp({ steps: 10, lr: 0.1 }), { pools: [], compute, isCancelled: () => calls >= 3 }), (e: MechEditError) => {
      assert.equal(e.data.code, 'cancelled');
      assert.match(e.message, /after 3 steps/);
      return true;
    });
    assert.equal(calls, 3);
    assert.notDeepEqual(Array.from(params[0].value), [1, 2]);
  });

  test('a NaN loss or an infinite gradient names the step and points at the learning rate', async () => {
    const nanAt2 = async (_b: number[][], k: number) => ({ ...(await ok()), loss: k === 2 ? NaN : 1 });
    await assert.rejects(train(one(), hp({ steps: 10 }), { pools: [], compute: nanAt2 }), (e: MechEditError) => {
      assert.equal(e.data.code, 'bad-input');
      assert.match(e.message, /step 2\b.*loss/);
      assert.match(e.data.hint ?? '', /learning rate/);
      return true;
    });
    const infAt1 = async (_b: number[][], k: number) => ({ loss: 1, grads: [Float32Array.from([k === 1 ? Infinity : 0, 0])] });
    await assert.rejects(train(one(), hp({ steps: 10 }), { pools: [], compute: infAt1 }), /step 1\b.*gradient of adapter\.U/);
  });
});
