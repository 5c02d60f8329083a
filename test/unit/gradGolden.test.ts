// The v* graph end to end against the PyTorch reference (tools/grad_golden.py → 
// test/fixtures/golden/grad.json, float64 autograd): from the residual after layer 0, with δ
// injected at masked positions, the NLL + KL + mid-layer lens KL loss, the target log-probs, and
// the gradients with respect to δ and to the residual, for every architecture.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { loadOrt } from '../../src/core/runtime/ort';
import { decodeTensor } from '../../src/protocol/tensor';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-grad-'));

interface Wire { dims: number[]; data: string }
interface Case {
  model: string; model_dir: string; ids: number[][]; mask: number[][]; positions: number[][];
  resid: Wire; delta: Wire; delta_mask: Wire; kl_teacher: Wire; mid_teacher: Wire; grad_delta: Wire; grad_resid: Wire;
  nll_rows: number[]; nll_targets: number[]; nll_weights: number[]; kl_rows: number[]; kl_weights: number[]; mid_rows: number[]; mid_weights: number[];
  loss: number; loss_nll: number; loss_kl: number; loss_mid: number; nll_logprobs: number[];
}
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'grad.json'), 'utf8')) as { layer: number; mid: number; cases: Case[] };
const f32 = (w: Wire) => decodeTensor({ dtype: 'float32', dims: w.dims, data: w.data }).values as Float32Array;

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / scale;
}

describe('v* graph against the PyTorch reference', () => {
  const opened: LoadedModel[] = [];
  after(async () => Promise.all(opened.map((m) => m.release())));
  assert.ok(golden.cases.length >= 5, 'one case per architecture');

  for (const c of golden.cases) {
    test(c.model, async () => {
      const ort = loadOrt();
      const model = LoadedModel.open(path.join(repo, c.model_dir), { provider: 'cpu', threads: 1 });
      opened.push(model);
      const [B, S] = [c.ids.length, c.ids[0].length];
      const flat = (rows: number[][]) => BigInt64Array.from(rows.flat(), (v) => BigInt(v));
      const batch = { ids: flat(c.ids), mask: flat(c.mask), positions: flat(c.positions), batch: B, seq: S, lengths: c.mask.map((r) => r.reduce((a, b) => a + b, 0)) };
      const V = c.kl_teacher.dims[1];
      const i64 = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [v.length]);
      const tensor = (w: Wire) => new ort.Tensor('float32', f32(w), w.dims);
      const out = await model.run({ delta: { layer: golden.layer, mid: golden.mid, gradResid: true } }, batch, {
        resid: tensor(c.resid), delta: tensor(c.delta), delta_mask: tensor(c.delta_mask),
        nll_rows: i64(c.nll_rows), nll_targets: i64(c.nll_targets), nll_weights: new ort.Tensor('float32', Float32Array.from(c.nll_weights), [c.nll_weights.length]),
        kl_rows: i64(c.kl_rows), kl_teacher: tensor(c.kl_teacher), kl_weights: new ort.Tensor('float32', Float32Array.from(c.kl_weights), [c.kl_weights.length]),
        mid_rows: i64(c.mid_rows), mid_teacher: tensor(c.mid_teacher), mid_weights: new ort.Tensor('float32', Float32Array.from(c.mid_weights), [c.mid_weights.length]),
      });
      assert.equal(out.kl_logprobs.dims[1], V);
      for (const [name, want] of [['loss', c.loss], ['loss_nll', c.loss_nll], ['loss_kl', c.loss_kl], ['loss_mid', c.loss_mid]] as const) {
        const got = Number(out[name].data[0]);
        assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${c.model} ${name}: ${got} vs reference ${want}`);
      }
      assert.ok(maxRelErr(out.nll_logprobs.data as Float32Array, c.nll_logprobs) < 1e-5, `${c.model} nll_logprobs`);
      const gd = maxRelErr(out.grad_delta.data as Float32Array, f32(c.grad_delta));
      const gr = maxRelErr(out.grad_resid.data as Float32Array, f32(c.grad_resid));
      if (process.env.MECHEDIT_PRINT) console.log(c.model, 'grad_delta', gd.toExponential(2), 'grad_resid', gr.toExponential(2));
      assert.ok(gd < 1e-4, `${c.model} grad_delta max error ${gd} of the largest component`);
      assert.ok(gr < 1e-4, `${c.model} grad_resid max error ${gr} of the largest component`);
    });
  }
});
