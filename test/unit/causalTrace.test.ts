// Causal tracing: exact properties that any correct implementation has.
//  - restoring the residual after the last layer at the last token gives the clean probability;
//  - restoring any state before the subject changes nothing (those states are not corrupted);
//  - the corrupted run differs from the clean one; results are reproducible for a seed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { causalTrace, defaultTraceWindow, subjectRange } from '../../src/core/analysis/causalTrace';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-trace-'));

for (const name of ['gpt2-tiny', 'llama-gqa', 'gptj-tiny']) {
  test(`causal tracing on ${name}`, async () => {
    const model = LoadedModel.open(path.join(repo, 'test', 'fixtures', 'models', name), { provider: 'cpu', threads: 1 });
    const prompt = 'the big cat sat on the';
    const [s0, s1] = subjectRange(model, prompt, 'cat');
    assert.ok(s1 > s0 && s0 > 0);
    assert.equal(model.tokenizer.decode(model.tokenizer.encode(prompt).slice(s0, s1)).trim(), 'cat');
    assert.deepEqual(subjectRange(model, 'cat on the mat', 'cat')[0], model.tokenizer.encode('').length);
    const r = await causalTrace(model, { prompt, subject: 'cat', samples: 4, window: 2 });
    const L = model.dims.layers;
    const S = r.tokens.length;
    assert.deepEqual(r.subject, [s0, s1]);
    assert.notEqual(r.corruptedProb, r.cleanProb);
    assert.ok(Math.abs(r.scores.resid[L - 1][S - 1] - r.cleanProb) < 1e-5, `restoring the final residual: ${r.scores.resid[L - 1][S - 1]} vs clean ${r.cleanProb}`);
    for (const kind of ['resid', 'mlp', 'attn'] as const) {
      for (let l = 0; l < L; l++) {
        for (let t = 0; t < s0; t++) assert.ok(Math.abs(r.scores[kind][l][t] - r.corruptedProb) < 1e-6, `${kind} (${l}, ${t}) before the subject should change nothing`);
      }
    }
    assert.ok(r.recommendedLayer >= 0 && r.recommendedLayer < L);
    const again = await causalTrace(model, { prompt, subject: 'cat', samples: 4, window: 2 });
    assert.deepEqual(again.scores, r.scores);
    await model.release();
  });
}

test('the default window is ROME\'s 10 of 48 layers, scaled by depth', () => {
  assert.deepEqual([48, 28, 32, 6, 4, 96].map(defaultTraceWindow), [10, 6, 7, 1, 1, 10]);
});
