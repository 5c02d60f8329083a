// Activation patching, attribution patching and head taps against an independent PyTorch
// computation (tools/patching_reference.py → test/fixtures/golden/patching.json) on the bundled
// model and two prompt pairs of its world, plus exact properties of the head taps on GQA /
// rotary models.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { patchExact } from '../../src/core/analysis/patching';
import { attributionPatch } from '../../src/core/analysis/attribution';
import { attentionPatterns } from '../../src/core/analysis/heads';
import { headTapName, headsTapName, patternTapName } from '../../src/core/graph/patchGraph';
import { tapName } from '../../src/core/graph/taps';
import { MechEditError } from '../../src/core/errors';
import { decodeAttention, decodePatching, type AttentionResult, type PatchGrid, type PatchingResult } from '../../src/protocol/patching';
import { EngineClient } from '../../src/extension/engine/client';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-patching-'));

interface GoldenPair {
  clean: string; corrupt: string; answer: string; wrong: string;
  ids: number[]; corruptIds: number[]; answerId: number; wrongId: number;
  cleanMetric: number; corruptMetric: number;
  exact: Record<string, number[][]>; atp: Record<string, number[][]>;
  igSteps: number; atpIg: Record<string, number[][]>;
}
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'patching.json'), 'utf8')) as {
  pairs: GoldenPair[];
  heads: { prompt: string; layers: Record<string, { headOut: number[][]; pattern: number[][][] }> };
};
const openDefault = () => LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });

function maxDiff(grid: PatchGrid, want: number[][]): number {
  assert.equal(grid.raw.length, want.length, `${grid.kind}: rows`);
  let worst = 0;
  grid.raw.forEach((row, i) => row.forEach((v, t) => (worst = Math.max(worst, Math.abs(v - want[i][t])))));
  return worst;
}

test('exact patching (resid, mlp, attn, heads) equals the PyTorch reference within 1e-4', async () => {
  const model = openDefault();
  for (const p of golden.pairs) {
    assert.deepEqual(model.tokenizer.encode(p.clean), p.ids, 'MechEdit\'s tokenizer and the world\'s BPE agree');
    const r = await patchExact(model, { clean: p.clean, corrupt: p.corrupt, answer: p.answer, wrong: p.wrong, nodes: ['resid', 'mlp', 'attn', 'heads'] });
    assert.equal(r.answer.id, p.answerId);
    assert.equal(r.wrong?.id, p.wrongId);
    assert.ok(Math.abs(r.clean - p.cleanMetric) < 1e-4 && Math.abs(r.corrupt - p.corruptMetric) < 1e-4, `metric ${r.clean}/${r.corrupt} vs ${p.cleanMetric}/${p.corruptMetric}`);
    for (const g of r.grids) {
      const d = maxDiff(g, p.exact[g.kind]);
      assert.ok(d < 1e-4, `${p.clean}: ${g.kind} differs by ${d}`);
    }
    const resid = r.grids[0];
    const L = resid.rows.length;
    const S = r.tokens.length;
    assert.ok(Math.abs(resid.normalized[L - 1][S - 1]! - 1) < 1e-5, 'the last residual at the last token restores the clean metric');
  }
  await model.release();
});

test('attribution patching (AtP) equals (clean − corrupt) · autograd gradient of the reference within 1e-4', async () => {
  const model = openDefault();
  for (const p of golden.pairs) {
    const r = await attributionPatch(model, { clean: p.clean, corrupt: p.corrupt, answer: p.answer, wrong: p.wrong, nodes: ['resid', 'mlp', 'attn', 'heads'] });
    assert.equal(r.method, 'atp');
    for (const g of r.grids) {
      const want = p.atp[g.kind];
      const scale = Math.max(...want.flat().map(Math.abs));
      const d = maxDiff(g, want.map((row) => row.map((v) => v + r.corrupt)));
      assert.ok(d < 1e-4, `${p.clean}: AtP ${g.kind} differs by ${d} (largest ${scale})`);
    }
  }
  await model.release();
});

test('AtP-IG equals the reference\'s integrated gradients along the embedding path within 1e-4', async () => {
  const model = openDefault();
  for (const p of golden.pairs) {
    const r = await attributionPatch(model, { clean: p.clean, corrupt: p.corrupt, answer: p.answer, wrong: p.wrong, nodes: ['resid', 'mlp', 'attn', 'heads'], igSteps: p.igSteps });
    assert.equal(r.method, 'atp-ig');
    for (const g of r.grids) {
      const d = maxDiff(g, p.atpIg[g.kind].map((row) => row.map((v) => v + r.corrupt)));
      assert.ok(d < 1e-4, `${p.clean}: AtP-IG ${g.kind} differs by ${d}`);
    }
    // IG is not plain AtP: the path matters on a trained model.
    const plain = await attributionPatch(model, { clean: p.clean, corrupt: p.corrupt, answer: p.answer, wrong: p.wrong, nodes: ['resid'] });
    assert.ok(maxDiff(plain.grids[0], r.grids[0].raw) > 0.1);
  }
  await model.release();
});

test('per-head outputs and attention patterns equal the reference', async () => {
  const model = openDefault();
  const ids = model.tokenizer.encode(golden.heads.prompt);
  const S = ids.length;
  for (const [layer, want] of Object.entries(golden.heads.layers)) {
    const l = Number(layer);
    const names = want.headOut.map((_, h) => headTapName(l, h));
    const out = await model.run({ taps: [...names, patternTapName(l)], logits: 'last' }, model.makeBatch([ids]));
    const d = model.dims.dModel;
    want.headOut.forEach((row, h) => {
      const got = (out[names[h]].data as Float32Array).subarray((S - 1) * d, S * d);
      row.forEach((v, j) => assert.ok(Math.abs(got[j] - v) < 1e-4, `L${l}H${h}[${j}]: ${got[j]} vs ${v}`));
    });
    const a = await attentionPatterns(model, { prompt: golden.heads.prompt, layer: l });
    a.patterns.forEach((m, h) => m.forEach((row, q) => row.forEach((v, k) => assert.ok(Math.abs(v - want.pattern[h][q][k]) < 1e-5, `pattern L${l}H${h}[${q}][${k}]`))));
  }
  await model.release();
});

for (const name of ['llama-gqa', 'gptj-tiny']) {
  test(`head outputs sum to attn_out and patterns are causal distributions (${name})`, async () => {
    const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', name), { provider: 'cpu', threads: 1 });
    const ids = model.tokenizer.encode('the big cat sat on the mat');
    const S = ids.length;
    const { heads: H, dModel: d } = model.dims;
    const out = await model.run({ taps: [headsTapName(1), tapName(1, 'attn_out'), patternTapName(1)], logits: 'last' }, model.makeBatch([ids]));
    const all = out[headsTapName(1)].data as Float32Array;
    const attn = out[tapName(1, 'attn_out')].data as Float32Array;
    for (let i = 0; i < S * d; i++) {
      let sum = 0;
      for (let h = 0; h < H; h++) sum += all[h * S * d + i];
      assert.ok(Math.abs(sum - attn[i]) < 1e-5, `Σ heads ${sum} vs attn_out ${attn[i]} at ${i}`);
    }
    const p = out[patternTapName(1)].data as Float32Array;
    for (let h = 0; h < H; h++) for (let q = 0; q < S; q++) {
      let rowSum = 0;
      for (let k = 0; k < S; k++) {
        const v = p[(h * S + q) * S + k];
        if (k > q) assert.equal(v, 0);
        rowSum += v;
      }
      assert.ok(Math.abs(rowSum - 1) < 1e-5);
    }
    await model.release();
  });
}

test('prompts of different token lengths: a clear error naming both lengths', async () => {
  const model = openDefault();
  await assert.rejects(
    patchExact(model, { clean: 'Baekpen Jaekdixjol was born in', corrupt: 'Baekhyndvaes Drondraes was born in', answer: 'Grikport' }),
    (e: unknown) => e instanceof MechEditError && e.data.code === 'bad-input' && /8 tokens/.test(e.message) && /9/.test(e.message),
  );
  await model.release();
});

test('the CLI: patch --json gives the golden grid; unequal lengths exit 2 naming both; attention --json', { timeout: 120_000 }, () => {
  const cli = (args: string[]) => spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--default', '--provider', 'cpu', '--json'], { encoding: 'utf8', env: process.env, timeout: 120_000 });
  const p = golden.pairs[0];
  const r = cli(['patch', '--clean', p.clean, '--corrupt', p.corrupt, '--answer', p.answer, '--wrong', p.wrong, '--nodes', 'resid']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as PatchingResult;
  assert.equal(out.method, 'exact');
  assert.deepEqual(out.grids.map((g) => g.kind), ['resid']);
  assert.ok(maxDiff(out.grids[0], p.exact.resid) < 1e-4);
  const bad = cli(['attribute', '--clean', p.clean, '--corrupt', golden.pairs[1].corrupt, '--answer', p.answer]);
  assert.equal(bad.status, 2);
  assert.match(bad.stdout, /clean prompt is 8 tokens and the corrupted prompt 9/);
  const a = cli(['attention', '--prompt', p.clean, '--layer', '2', '--head', '1']);
  assert.equal(a.status, 0, a.stderr);
  const att = JSON.parse(a.stdout) as AttentionResult;
  assert.deepEqual(att.heads, [1]);
  assert.equal(att.patterns[0].length, p.ids.length);
});

test('the engine: model/patch and model/attention cross as tensors; bad requests get bad-input and the engine stays up', { timeout: 120_000 }, async () => {
  const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
  try {
    await client.request('model/open', { path: path.join(repo, 'models', 'default') });
    const p = golden.pairs[0];
    const wire = await client.request('model/patch', { clean: p.clean, corrupt: p.corrupt, answer: p.answer, wrong: p.wrong, nodes: ['resid', 'heads'], method: 'exact' });
    const numberArrays = (x: unknown) => JSON.stringify(x).match(/\[(-?\d[^[\]"{]*,){3,}/g);
    assert.equal(numberArrays(wire), null, 'no JSON array of numbers on the wire');
    const r = decodePatching(wire);
    assert.notEqual(numberArrays(r), null, 'the check finds the decoded grids\' arrays');
    assert.ok(maxDiff(r.grids[0], p.exact.resid) < 1e-4);
    assert.ok(maxDiff(r.grids[1], p.exact.heads) < 1e-4);
    const att = decodeAttention(await client.request('model/attention', { prompt: golden.heads.prompt, layer: 0 }));
    att.patterns.forEach((m, h) => m.forEach((row, q) => row.forEach((v, k) => assert.ok(Math.abs(v - golden.heads.layers['0'].pattern[h][q][k]) < 1e-5))));
    await assert.rejects(client.request('model/patch', { clean: p.clean, corrupt: p.corrupt, answer: p.answer, nodes: ['neurons' as never], method: 'exact' }), (e: unknown) => (e as { data?: { code?: string } }).data?.code === 'bad-input');
    await assert.rejects(client.request('model/patch', { clean: p.clean, corrupt: golden.pairs[1].corrupt, answer: p.answer, method: 'atp' }), (e: unknown) => /8 tokens and the corrupted prompt 9/.test((e as Error).message));
    const again = decodePatching(await client.request('model/patch', { clean: p.clean, corrupt: p.corrupt, answer: p.answer, wrong: p.wrong, method: 'atp-ig', igSteps: p.igSteps }));
    assert.ok(maxDiff(again.grids[0], p.atpIg.resid.map((row) => row.map((v) => v + again.corrupt))) < 1e-4, 'the engine is still up and AtP-IG matches');
  } finally {
    client.dispose();
  }
});
