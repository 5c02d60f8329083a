// FT-M (src/core/edits/ft.ts) through the registry: its first Adam step moves every entry of ΔW
// by lr against the sign of ∂NLL/∂W (checked with central finite differences of the target's NLL,
// measured by scoring, not by the training graph), the loss falls, the norm constraint bounds ΔW,
// and the edit lands on the bundled model through `mechedit edit ft`, reverting bit-identically.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LoadedModel, type EditKey } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeFactEdit } from '../../src/core/methods/factEditors';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { readEdit } from '../../src/core/edits/editFile';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-ft-'));
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-ft-out-'));

describe('FT-M on gpt2-tiny', () => {
  const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny'), { provider: 'cpu', threads: 1 });
  after(() => model.release());
  const req = { subject: 'the cat', prompt: 'Then {} sat on', target: 'the mat today' };
  const text = req.prompt.replace('{}', req.subject);

  /** Mean NLL per target token with ΔW (row-major [d_out, d_in]) added to layer 1's MLP output projection. */
  async function nll(dW: Float32Array): Promise<number> {
    const w = model.plan.blocks[1].down;
    const I = new Float32Array(w.out * w.out);
    for (let i = 0; i < w.out; i++) I[i * w.out + i] = 1;
    const m = model.withEdits(new Map([['1:mlp.out' as EditKey, { rank: w.out, U: I, V: dW }]]));
    const [s] = await scoreAnswers(m, [{ prompt: text, answer: req.target }]);
    return -s.meanLogprob;
  }

  test('one step: ΔW = −lr · sign(∂NLL/∂W) entry by entry (central differences through scoring)', async () => {
    const lr = 1e-3;
    const r = await computeFactEdit('ft', model, new EditStack(model.bare()), [req], { layer: 1, steps: 1, lr });
    const dW = r.edit.tensors[0].V;
    const w = model.plan.blocks[1].down;
    assert.equal(dW.length, w.out * w.in);
    assert.deepEqual(r.edit.json.targets.map((t) => [t.layer, t.module, t.rank]), [[1, 'mlp.out', w.out]]);
    // Adam's first step from zero moments is −lr · g / (|g| + ε): ±lr wherever |g| ≫ 1e-8.
    const order = [...dW.keys()].sort((a, b) => Math.abs(dW[b]) - Math.abs(dW[a]));
    const h = 1e-2;
    for (const i of order.slice(0, 6)) {
      assert.ok(Math.abs(Math.abs(dW[i]) - lr) < 1e-6, `entry ${i}: |ΔW| ${Math.abs(dW[i])} should be lr ${lr}`);
      const plus = new Float32Array(dW.length);
      const minus = new Float32Array(dW.length);
      plus[i] = h;
      minus[i] = -h;
      const g = ((await nll(plus)) - (await nll(minus))) / (2 * h);
      assert.ok(Math.abs(g) > 1e-5, `entry ${i}: the finite difference ${g} is too small to give a sign`);
      assert.equal(Math.sign(dW[i]), -Math.sign(g), `entry ${i}: ΔW ${dW[i]} must step against ∂NLL/∂W ≈ ${g}`);
    }
  });

  test('training lowers the target\'s NLL; normConstraint bounds every entry of ΔW', async () => {
    const before = await nll(new Float32Array(model.plan.blocks[1].down.out * model.plan.blocks[1].down.in));
    const r = await computeFactEdit('ft', model, new EditStack(model.bare()), [req], { layer: 1, steps: 10, lr: 5e-3 });
    const after = await nll(r.edit.tensors[0].V);
    assert.ok(after < before - 0.1, `NLL ${before} → ${after}`);
    const curve = r.vstar[0].steps.map((s) => s.loss);
    assert.ok(Math.abs(curve[0] - before) < 1e-3, `the first step's loss ${curve[0]} is the model's NLL ${before}`);
    const bounded = await computeFactEdit('ft', model, new EditStack(model.bare()), [req], { layer: 1, steps: 10, lr: 5e-3, normConstraint: 2e-3 });
    const max = bounded.edit.tensors[0].V.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert.ok(max <= 2e-3 + 1e-9 && max > 1e-3, `max |ΔW| ${max} within the ±2e-3 box`);
    assert.equal(bounded.edit.json.hparams?.normConstraint, 2e-3);
  });
});

test('mechedit edit ft lands a counterfactual on the bundled model and reverts bit-identically', async () => {
  const cli = path.join(repo, 'out', 'src', 'cli', 'main.js');
  const subject = 'Baekhyndvaes Drondraes';
  const r = spawnSync(process.execPath, [cli, 'edit', 'ft', '--default', '--provider', 'cpu', '--subject', subject, '--prompt', '{} was born in', '--target', 'Daekgrad', '--preset', 'tuned', '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.method, 'ft');
  assert.equal(res.succeeded, true, JSON.stringify(res.efficacy));
  assert.equal(res.hparams.preset, 'tuned');
  const bad = spawnSync(process.execPath, [cli, 'edit', 'ft', '--default', '--provider', 'cpu', '--subject', subject, '--prompt', '{} was born in', '--target', 'Daekgrad', '--lr', '2', '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(JSON.parse(bad.stdout).error.field, '--lr');
  const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
  try {
    const stack = new EditStack(model);
    const prompt = `${subject} was born in`;
    const base = await scoreAnswers(model, [{ prompt, answer: 'Daekgrad' }]);
    stack.apply(readEdit(res.file));
    const edited = await scoreAnswers(stack.model, [{ prompt, answer: 'Daekgrad' }]);
    assert.ok(edited[0].meanLogprob > base[0].meanLogprob + 1, 'the edit raises P(target)');
    stack.revert(res.id);
    const back = await scoreAnswers(stack.model, [{ prompt, answer: 'Daekgrad' }]);
    assert.equal(back[0].meanLogprob, base[0].meanLogprob);
  } finally {
    model.release();
  }
});
