// DiKE: the KRD module's gradients (finite differences), its loss falling on a tiny checkpoint,
// facts files with bad records, and DKE on the bundled model with its shipped KRD: the closed form
// meets its normal equations, the edit takes and reverts bit-identically, and a missing KRD is a
// clear error.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { krdBackward, krdForward, readKrd, trainKrd, type KrdSample } from '../../src/core/edits/krd';
import { readKrdFacts } from '../../src/core/edits/krdFacts';
import { computeDike, defaultKrdFile } from '../../src/core/edits/dike';
import { statsFor } from '../../src/core/edits/rome';
import { computeFactEdit } from '../../src/core/methods/factEditors';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { mulberry32 } from '../../src/core/runtime/run';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const defaultModel = path.join(repo, 'models', 'default');
const tinyModel = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const tinyFacts = path.join(repo, 'test', 'fixtures', 'dike', 'facts.jsonl');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-dike-'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-dike-files-'));

describe('KRD module', () => {
  test('gradients of L_ctr + β L_recon + ⟨g, z⟩ match central finite differences (float64)', () => {
    const d = 6;
    const dz = 5;
    const rand = mulberry32(3);
    const rnd = (n: number, s = 1) => Float64Array.from({ length: n }, () => (2 * rand() - 1) * s);
    const W = [rnd(dz * d), rnd(dz * d), rnd(dz * d), rnd(dz * d), rnd(d * dz), rnd(d * dz)];
    const samples: KrdSample[] = [0, 0, 1, 2].map((group) => ({ h: rnd(d, 2), q: rnd(d, 2), group }));
    const ext = { gzr: samples.map(() => rnd(dz)), gzu: samples.map(() => rnd(dz)) };
    const hp = { tau: 0.3, beta: 0.7, inBatch: true };
    const loss = () => {
      const fw = samples.map((s) => krdForward(W, d, dz, s.h, s.q));
      const head = krdBackward(W, d, dz, samples, fw, hp);
      let lin = 0;
      fw.forEach((f, i) => f.zr.forEach((z, t) => (lin += z * ext.gzr[i][t] + f.zu[t] * ext.gzu[i][t])));
      return head.ctr + hp.beta * head.recon + lin;
    };
    const fw = samples.map((s) => krdForward(W, d, dz, s.h, s.q));
    const { grads } = krdBackward(W, d, dz, samples, fw, hp, ext);
    let worst = 0;
    for (let m = 0; m < 6; m++) {
      for (let j = 0; j < W[m].length; j++) {
        const keep = W[m][j];
        const eps = 1e-5;
        W[m][j] = keep + eps;
        const up = loss();
        W[m][j] = keep - eps;
        const down = loss();
        W[m][j] = keep;
        const numeric = (up - down) / (2 * eps);
        worst = Math.max(worst, Math.abs(numeric - grads[m][j]) / Math.max(1e-3, Math.abs(numeric)));
      }
    }
    assert.ok(worst < 1e-5, `worst relative error ${worst}`);
  });

  test('the loss falls while training on a tiny checkpoint (L_con through the model above the layer)', async () => {
    const model = LoadedModel.open(tinyModel, { provider: 'cpu', threads: 1 });
    try {
      const { facts } = readKrdFacts(tinyFacts);
      const r = await trainKrd(model, facts, { layer: 0, hparams: { steps: 60, batchSize: 6, lr: 2e-2, warmup: 0 } });
      const c = r.result.curve;
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(c.slice(0, 5).map((p) => p.loss));
      const last = mean(c.slice(-5).map((p) => p.loss));
      assert.ok(last < 0.9 * first, `loss ${first} → ${last}`);
      // Each term falls (the random tiny model's NLLs stay high: L_con falls the least).
      for (const [term, factor] of [['con', 0.95], ['ctr', 0.7], ['recon', 0.7]] as const) {
        const a = mean(c.slice(0, 5).map((p) => p.metrics[term]));
        const b = mean(c.slice(-5).map((p) => p.metrics[term]));
        assert.ok(b < factor * a, `L_${term} ${a} → ${b}`);
      }
      assert.equal(r.subjects, 6);
      assert.equal(r.krd.W[0].length, 48 * 48);
    } finally {
      model.release();
    }
  });

  test('a facts file with a bad record names the line and the field', () => {
    const write = (name: string, lines: unknown[]) => {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
      return f;
    };
    const ok = { subject: 'Ada', relation: 'birthplace', prompt: '{} was born in', object: 'Paris' };
    const cases: [string, unknown[], RegExp, string][] = [
      ['no-object.jsonl', [ok, { subject: 'Ada', relation: 'job', prompt: '{} works as a' }], /Line 2: "object" is missing/, 'line 2: object'],
      ['not-json.jsonl', [ok, '{oops'], /Line 2 is not JSON/, 'line 2'],
      ['no-subject-in-prompt.jsonl', [{ ...ok, prompt: 'Bob was born in' }], /neither "\{\}" nor the subject/, 'line 1: prompt'],
      ['one-relation.jsonl', [ok, { ...ok, prompt: '{} is from' }], /No subject in the facts file has facts of two relations/, 'relation'],
    ];
    for (const [name, lines, message, field] of cases) {
      const f = write(name, lines);
      assert.throws(() => readKrdFacts(f), (e: MechEditError) => message.test(e.message) && e.data.code === 'bad-input' && e.data.field === field && e.data.file === f, name);
    }
    assert.throws(() => readKrdFacts(path.join(tmp, 'missing.jsonl')), /The facts file is not there/);
    // The user format also takes "answer" (facts.jsonl) and the subject written out in the prompt.
    const f = write('good.jsonl', [ok, { subject: 'Ada', relation: 'job', prompt: 'Ada works as a', answer: 'baker' }]);
    assert.deepEqual(readKrdFacts(f).facts[1], { subject: 'Ada', relation: 'job', prompt: '{} works as a', object: 'baker' });
  });
});

describe('DKE on the bundled model (its shipped KRD)', () => {
  const model = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  after(() => model.release());
  const subject = 'Baekhyndvaes Drondraes';
  const request = { subject, prompt: '{} was born in', target: 'Daekgrad' };

  test('the shipped KRD is found beside the checkpoint and belongs to this model', () => {
    const krd = readKrd(defaultKrdFile(model, 0), model);
    assert.equal(krd.layer, 0);
    assert.equal(krd.dz, model.dims.dModel);
  });

  test('the closed form meets its normal equations; the edit takes and reverts bit-identically', async () => {
    const stack = new EditStack(model);
    const prompt = `${subject} was born in`;
    const before = await model.run({ logits: 'last' }, model.makeBatch([model.tokenizer.encode(prompt)]));
    const { edit, report } = await computeDike(model, stack, request, { layer: 0 });
    assert.equal(edit.json.method, 'dike');
    assert.match(String((edit.json.hparams!.krd as { sha256: string }).sha256), /^[0-9a-f]{64}$/);

    // ½∇J(Δ) = (I + W3ᵀW3) Δ (k kᵀ + λ C) − r kᵀ for Δ = U Vᵀ: (I + A) U wᵀ − r kᵀ with w = (V·k) k + λ C V.
    const { U, V, K } = edit.tensors[0];
    const d = model.dims.dModel;
    const n = model.dims.dMlp;
    const lambda = edit.json.hparams!.lambda as number;
    const C = (await statsFor(model, 0, {})).C;
    const W3 = readKrd(defaultKrdFile(model, 0)).W[2];
    const vk = V.reduce((s, v, j) => s + v * K![j], 0);
    const w = Float64Array.from({ length: n }, (_, i) => {
      let cv = 0;
      for (let j = 0; j < n; j++) cv += C[i * n + j] * V[j];
      return vk * K![i] + lambda * cv;
    });
    const w3u = Float64Array.from({ length: d }, (_, a) => W3.subarray(a * d, (a + 1) * d).reduce((s, x, j) => s + x * U[j], 0));
    const aU = Float64Array.from({ length: d }, (_, j) => U[j] + w3u.reduce((s, x, a) => s + W3[a * d + j] * x, 0));
    let res2 = 0;
    let ref2 = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < n; j++) {
        const rk = report.r[i] * K![j];
        res2 += (aU[i] * w[j] - rk) ** 2;
        ref2 += rk ** 2;
      }
    }
    assert.ok(Math.sqrt(res2 / ref2) < 1e-3, `relative residual of the normal equations ${Math.sqrt(res2 / ref2)}`);

    const withIt = stack.fork();
    withIt.apply(edit);
    const [score] = await scoreAnswers(withIt.model, [{ prompt, answer: request.target }]);
    assert.ok(score.tokenTop.every(Boolean), `the target is top-1 after the edit (P ${Math.exp(score.meanLogprob)})`);
    withIt.revert(edit.json.id);
    const reverted = await withIt.model.run({ logits: 'last' }, model.makeBatch([model.tokenizer.encode(prompt)]));
    assert.deepEqual(Buffer.from((reverted.logits.data as Float32Array).buffer), Buffer.from((before.logits.data as Float32Array).buffer));
  });

  test('without a KRD module for the layer: an error that says to run dike train', async () => {
    await assert.rejects(computeFactEdit('dike', model, new EditStack(model), [request], { layer: 2 }), (e: MechEditError) => e.data.code === 'bad-input' && /mechedit dike train/.test(e.data.hint ?? '') && /layer 2/.test(e.message));
  });
});
