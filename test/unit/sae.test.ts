// Sparse autoencoders (src/core/sae/): SAELens-format folders written by an independent script
// (tools/sae_reference.py → test/fixtures/sae/ref-*, test/fixtures/golden/sae.json) and by
// MechEdit's trainer (test/fixtures/sae/ours-*), read back and run on gpt2-tiny: the hook's
// activations, the feature activations, the reconstructions, explained variance and L0 must match
// the script's float64 reading. Also: refusals of mismatched SAEs, the save → load round trip,
// the trainer on data with a known sparse structure, and a feature ablation that applies and
// reverts bit-identically.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { hookActivations } from '../../src/core/sae/activations';
import { loadSae, openSae, saveSae } from '../../src/core/sae/saeFile';
import { parseHook, runSae } from '../../src/core/sae/sae';
import { fvu, initialState, tokenStep, trainSae } from '../../src/core/sae/train';
import { preActivations, saeInput } from '../../src/core/sae/sae';
import { featureAblation } from '../../src/core/sae/ablateFeature';
import { mulberry32 } from '../../src/core/runtime/run';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-sae-'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-sae-out-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Wire { dims: number[]; data: string }
function unwire(w: Wire): Float32Array {
  const b = Buffer.from(w.data, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'sae.json'), 'utf8')) as {
  model: string; ids: number[][];
  saes: { folder: string; hook: string; x: Wire; acts: Wire; recon: Wire; explainedVariance: number; l0: number; mse: number }[];
};
const model = LoadedModel.open(path.join(repo, golden.model), { provider: 'cpu', threads: 1 });
after(() => model.release());

describe('SAELens-format SAEs against tools/sae_reference.py', () => {
  test('the golden covers SAEs from both writers and both architectures', () => {
    const names = golden.saes.map((s) => path.basename(s.folder)).sort();
    assert.deepEqual(names, ['ours-jumprelu', 'ours-topk', 'ref-jumprelu', 'ref-topk']);
  });
  for (const g of golden.saes) {
    test(`${path.basename(g.folder)} (${g.hook}) reads, runs on gpt2-tiny and matches`, async () => {
      const sae = openSae(path.join(repo, g.folder), model.dims);
      assert.equal(`blocks.${sae.hook.layer}.${sae.hook.tap}`, g.hook);
      const { x } = await hookActivations(model, sae.hook, golden.ids);
      const want = unwire(g.x);
      assert.ok(maxDiff(x, want) <= 1e-4 * maxAbs(want), `activations differ by ${maxDiff(x, want)}`);
      const { codes, recon } = runSae(sae, want);
      const acts = new Float32Array(codes.length * sae.dSae);
      codes.forEach((c, t) => c.ids.forEach((f, a) => (acts[t * sae.dSae + f] = c.values[a])));
      const wantActs = unwire(g.acts);
      assert.ok(maxDiff(acts, wantActs) <= 1e-4 * maxAbs(wantActs), `feature activations differ by ${maxDiff(acts, wantActs)}`);
      const wantRecon = unwire(g.recon);
      assert.ok(maxDiff(recon, wantRecon) <= 1e-4 * maxAbs(wantRecon), `reconstructions differ by ${maxDiff(recon, wantRecon)}`);
      const m = await fvu(sae, want);
      assert.ok(Math.abs(1 - m.fvu - g.explainedVariance) < 1e-4, `explained variance ${1 - m.fvu} vs ${g.explainedVariance}`);
      assert.ok(Math.abs(m.l0 - g.l0) < 1e-9, `L0 ${m.l0} vs ${g.l0}`);
    });
  }
});

describe('refusals and the round trip', () => {
  const ref = path.join(repo, 'test', 'fixtures', 'sae', 'ref-topk');
  function variant(name: string, change: (cfg: Record<string, unknown>) => void): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ref, 'sae_weights.safetensors'), path.join(dir, 'sae_weights.safetensors'));
    const cfg = JSON.parse(fs.readFileSync(path.join(ref, 'cfg.json'), 'utf8'));
    change(cfg);
    fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(cfg));
    return dir;
  }
  test('a hook of another width is refused, naming d_in', () => {
    const dir = variant('wide', (c) => ((c.metadata as Record<string, unknown>).hook_name = 'blocks.0.mlp.hook_post'));
    assert.throws(() => openSae(dir, model.dims), (e: Error) => /d_in 48.*192 wide/.test(e.message));
  });
  test('an unknown hook and a layer beyond the model are refused', () => {
    assert.throws(() => openSae(variant('z', (c) => ((c.metadata as Record<string, unknown>).hook_name = 'blocks.1.attn.hook_z')), model.dims), /Unknown hook/);
    assert.throws(() => openSae(variant('deep', (c) => ((c.metadata as Record<string, unknown>).hook_name = 'blocks.7.hook_resid_post')), model.dims), /layers 0…2/);
  });
  test('cfg d_in that does not match the tensors, and other architectures, are refused', () => {
    assert.throws(() => openSae(variant('din', (c) => (c.d_in = 47)), model.dims), /W_enc has shape \[48,96\], expected \[47,96\]/);
    assert.throws(() => openSae(variant('gated', (c) => (c.architecture = 'gated')), model.dims), /architecture "gated" is not supported/);
    assert.throws(() => openSae(path.join(tmp, 'nowhere'), model.dims), /SAE folder not found/);
  });
  test('save then load gives the same tensors and a SAELens cfg.json', () => {
    const sae = loadSae(ref, 3);
    const dir = saveSae(path.join(tmp, 'resaved'), sae);
    const back = loadSae(dir, 3);
    for (const k of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) assert.deepEqual(back[k], sae[k]);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8'));
    assert.equal(cfg.hook_name, 'blocks.1.hook_resid_post');
    assert.equal(cfg.metadata.hook_name, 'blocks.1.hook_resid_post');
    assert.deepEqual([cfg.architecture, cfg.d_in, cfg.d_sae, cfg.k, cfg.hook_layer, cfg.dtype, cfg.normalize_activations], ['topk', 48, 96, 6, 1, 'float32', 'none']);
    assert.deepEqual(parseHook('blocks.2.mlp.hook_post', 3), { layer: 2, tap: 'mlp.key' });
  });
});

describe('the trainer', () => {
  // The hand-written backward of one batch (tokenStep) against central finite differences of the
  // batch's mean squared error, for both architectures (JumpReLU: the weights; θ's gradient is a
  // straight-through estimate, not a derivative).
  for (const architecture of ['topk', 'jumprelu'] as const) {
    test(`${architecture}: gradients of W_enc, W_dec, b_enc, b_dec match finite differences`, () => {
      const rand = mulberry32(3);
      const d = 6;
      const n = 5;
      const width = 10;
      const x = Float32Array.from({ length: n * d }, () => rand() - 0.5);
      const st = initialState(x, d, { architecture, width, k: 3, seed: 1 }, { layer: 0, tap: 'resid_post' });
      for (const a of [st.sae.b_enc, st.sae.b_dec]) for (let i = 0; i < a.length; i++) a[i] = 0.1 * (rand() - 0.5);
      if (st.sae.threshold) st.sae.threshold.fill(0.05);
      const loss = (): number => {
        const xin = saeInput(st.sae, x);
        const pre = preActivations(st.sae, xin);
        for (const g of Object.values(st.grads)) g?.fill(0);
        st.gEncT.fill(0);
        let L = 0;
        for (let t = 0; t < n; t++) L += tokenStep(st, x.subarray(t * d, (t + 1) * d), xin.subarray(t * d, (t + 1) * d), pre.subarray(t * width, (t + 1) * width), n, 0, 1e9).se / n;
        return L;
      };
      loss();
      const grads = { W_enc: Float32Array.from({ length: d * width }, (_, i) => st.gEncT[(i % width) * d + Math.floor(i / width)]), W_dec: st.grads.W_dec.slice(), b_enc: st.grads.b_enc.slice(), b_dec: st.grads.b_dec.slice() };
      let checked = 0;
      for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) {
        const p = st.sae[name];
        for (let i = 0; i < p.length; i += 3) {
          const h = 1e-3;
          const o = p[i];
          p[i] = o + h;
          const a = loss();
          p[i] = o - h;
          const b = loss();
          p[i] = o;
          const fd = (a - b) / (2 * h);
          assert.ok(Math.abs(fd - grads[name][i]) < 2e-3 * Math.max(1, Math.abs(fd)), `${name}[${i}]: finite difference ${fd}, backward ${grads[name][i]}`);
          if (grads[name][i] !== 0) checked++;
        }
      }
      assert.ok(checked > 20, `only ${checked} non-zero gradients checked`);
    });
  }

  /** x = Σ of 3 of 24 fixed unit directions in 12 dims with random positive weights, plus an offset; scaled by 40. */
  function sparseData(n: number): Float32Array {
    const rand = mulberry32(5);
    const d = 12;
    const dirs = Array.from({ length: 24 }, () => {
      const v = Array.from({ length: d }, () => rand() - 0.5);
      const s = Math.hypot(...v);
      return v.map((a) => a / s);
    });
    const x = new Float32Array(n * d);
    for (let t = 0; t < n; t++) for (let j = 0; j < 3; j++) {
      const f = Math.floor(rand() * 24);
      const w = 0.5 + rand();
      for (let i = 0; i < d; i++) x[t * d + i] += 40 * (w * dirs[f][i] + 0.2);
    }
    return x;
  }
  for (const architecture of ['topk', 'jumprelu'] as const) {
    test(`${architecture} recovers a sparse structure, unit decoder rows, scale folded`, async () => {
      const x = sparseData(6000);
      const raw = x.slice();
      const r = await trainSae(x, 12, { layer: 0, tap: 'resid_post' }, { architecture, width: 48, k: 3, batch: 200, maxEpochs: 30, lr: 1e-2, threads: 1 });
      for (let f = 0; f < 48; f++) assert.ok(Math.abs(Math.hypot(...r.sae.W_dec.subarray(f * 12, f * 12 + 12)) - 1) < 1e-5);
      const m = await fvu(r.sae, raw.subarray(0, 2000 * 12));
      assert.ok(m.fvu < 0.12, `FVU ${m.fvu} on the raw data (scale folded in)`);
      if (architecture === 'topk') assert.ok(m.l0 <= 3);
      else assert.ok(m.l0 < 6, `JumpReLU L0 ${m.l0} should stay near the target 3`);
    });
  }
});

describe('feature ablation as an edit', () => {
  test('applies, changes the hook, and reverts bit-identically', async () => {
    const sae = openSae(path.join(repo, 'test', 'fixtures', 'sae', 'ours-topk'), model.dims);
    const stack = new EditStack(model);
    const before = (await hookActivations(stack.model, sae.hook, golden.ids)).x;
    const edit = featureAblation(stack.model, sae, 3);
    assert.deepEqual(edit.json.hparams?.layers, [0, 1]);
    stack.apply(edit);
    const during = (await hookActivations(stack.model, sae.hook, golden.ids)).x;
    // d_f is projected out of every writer of resid_post 1 but the embeddings: what is left along d_f is the embeddings' part.
    assert.ok(maxDiff(during, before) > 1e-3);
    stack.revert(edit.json.id);
    const afterRevert = (await hookActivations(stack.model, sae.hook, golden.ids)).x;
    assert.deepEqual(afterRevert, before);
  });
});
