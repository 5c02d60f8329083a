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
import { recommendLayer, traceLayerSummary } from '../../src/core/analysis/layerRule';
import { TRACE_MIN_CLEAN, TRACE_MIN_DROP, causalTrace, defaultTraceWindow, subjectRange, traceInformative } from '../../src/core/analysis/causalTrace';

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
    if (r.informative) assert.ok(r.recommendedLayer! >= 0 && r.recommendedLayer! < L);
    else assert.equal(r.recommendedLayer, undefined, 'a trace that is not informative recommends no layer');
    const again = await causalTrace(model, { prompt, subject: 'cat', samples: 4, window: 2 });
    assert.deepEqual(again.scores, r.scores);
    await model.release();
  });
}

test('the default window is ROME\'s 10 of 48 layers, scaled by depth', () => {
  assert.deepEqual([48, 28, 32, 6, 4, 96].map(defaultTraceWindow), [10, 6, 7, 1, 1, 10]);
});

// Informativeness (issue: a layer recommended from noise). The bundled model knows its world's
// facts ("Baekhyndvaes Drondraes was born in" → " Qu…", clean P ≈ 1, corrupted ≈ 0.45).
const bundled = path.join(repo, 'models', 'default');

test('a trace of a fact the bundled model knows is informative and recommends a layer', async () => {
  const model = LoadedModel.open(bundled, { provider: 'cpu', threads: 1 });
  const r = await causalTrace(model, { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes', samples: 10 });
  await model.release();
  assert.equal(r.answer.text, ' Qu');
  assert.ok(r.cleanProb > 0.9 && r.cleanProb - r.corruptedProb > 0.3, `clean ${r.cleanProb}, corrupted ${r.corruptedProb}`);
  assert.equal(r.informative, true, r.reason);
  assert.equal(r.reason, undefined);
  // The recommended layer is layerRule.ts's rule on the scores (test/unit/guidedPath.test.ts checks the rule).
  assert.equal(r.recommendedLayer, recommendLayer(traceLayerSummary(r)));
});

test('a trace of an answer the model does not know, or that does not depend on the subject, recommends no layer', async () => {
  const model = LoadedModel.open(bundled, { provider: 'cpu', threads: 1 });
  // Another person's birthplace: the model gives it ~0 %.
  const unknown = await causalTrace(model, { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes', answer: 'Vyswick', samples: 10 });
  // " of" after "likes the color" does not depend on who likes it: corruption changes nothing.
  const unrelated = await causalTrace(model, { prompt: 'My friend Bob likes the color', subject: 'Bob', samples: 10 });
  await model.release();
  assert.ok(unknown.cleanProb < TRACE_MIN_CLEAN, `clean ${unknown.cleanProb}`);
  assert.equal(unknown.informative, false);
  assert.equal(unknown.recommendedLayer, undefined);
  assert.match(unknown.reason!, /does not know this fact/);
  // The answer is cut to its first token: the result says so.
  assert.equal(unknown.answer.text, ' Vys');
  assert.deepEqual(unknown.answerGiven, { text: 'Vyswick', tokens: model.tokenizer.encode(' Vyswick', false).length });
  assert.ok(unknown.answerGiven!.tokens > 1);
  assert.ok(unrelated.cleanProb >= TRACE_MIN_CLEAN && unrelated.cleanProb - unrelated.corruptedProb < TRACE_MIN_DROP, `clean ${unrelated.cleanProb}, corrupted ${unrelated.corruptedProb}`);
  assert.equal(unrelated.informative, false);
  assert.equal(unrelated.recommendedLayer, undefined);
  assert.match(unrelated.reason!, /does not depend on the subject/);
  assert.equal(unrelated.answerGiven, undefined, 'the model\'s own top-1 is one token');
});

test('the informativeness rule: clean P at least 0.1 and a drop of at least 0.05', () => {
  assert.equal(traceInformative(0.5, 0.1).informative, true);
  assert.equal(traceInformative(TRACE_MIN_CLEAN, TRACE_MIN_CLEAN - TRACE_MIN_DROP).informative, true);
  assert.equal(traceInformative(0.09, 0).informative, false);
  assert.equal(traceInformative(0.9, 0.87).informative, false);
  assert.equal(traceInformative(Number.NaN, 0).informative, false);
  assert.equal(traceInformative(0.9, Number.NaN).informative, false);
});
