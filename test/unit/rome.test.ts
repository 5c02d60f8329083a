// ROME and MEMIT on the bundled default model: the rank-one solve (W' k = v* exactly at the bare
// prompt's key), the edit's effect on the edit prompt and a held-out paraphrase, revert to
// bit-identical logits, LTI, MEMIT's batch over layers, and request files with bad records.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { computeRome, defaultEditLayer, withSubject } from '../../src/core/edits/rome';
import { computeMemit, defaultMemitLayers, keyEnergyLambda, memitDefaults } from '../../src/core/edits/memit';
import { readRequests, factRequests } from '../../src/core/edits/requests';
import { predict } from '../../src/core/runtime/run';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { tapName } from '../../src/core/graph/taps';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const defaultModel = path.join(repo, 'models', 'default');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-rome-'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-requests-'));

// A fact the default model knows (facts.jsonl) and another city as the counterfactual target.
const subject = 'Baekhyndvaes Drondraes';
const request = { subject, prompt: '{} was born in', target: 'Daekgrad' };
const heldout = `The city where ${subject} was born is`;

describe('ROME and MEMIT on the default model', () => {
  const model = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  after(() => model.release());

  test('default layers follow the papers (GPT-2 XL 17, GPT-J 5, Llama-2 5; MEMIT 13–17, 3–8, 4–8)', () => {
    assert.equal(defaultEditLayer({ modelType: 'gpt2', layers: 48 }).layer, 17);
    assert.equal(defaultEditLayer({ modelType: 'gptj', layers: 28 }).layer, 5);
    assert.equal(defaultEditLayer({ modelType: 'llama', layers: 32 }).layer, 5);
    assert.equal(defaultEditLayer({ modelType: 'gpt2', layers: 4 }).layer, 0);
    assert.deepEqual(defaultEditLayer({ modelType: 'gpt2', layers: 6 }), { layer: 1, source: 'proportional' });
    // The bundled model's config.json recommends layer 0, where causal tracing puts its facts.
    assert.deepEqual(defaultEditLayer(model.dims), { layer: 0, source: 'checkpoint' });
    assert.deepEqual(defaultMemitLayers('gpt2', 48), [13, 14, 15, 16, 17]);
    assert.deepEqual(defaultMemitLayers('gptj', 28), [3, 4, 5, 6, 7, 8]);
    // Elsewhere about 16 % of the layers around ROME's: the bundled model's [0]; 24 layers around 5: 4–7.
    assert.deepEqual(memitDefaults(model.dims), { layers: [0], lambda: 469, clamp: 4, source: 'model' });
    assert.deepEqual(defaultMemitLayers('gpt2', 24, 5), [4, 5, 6, 7]);
    assert.deepEqual(memitDefaults({ modelType: 'gpt2', layers: 48, dMlp: 6400 }), { layers: [13, 14, 15, 16, 17], lambda: 20000, clamp: 0.75, source: 'papers' });
    // λ from the keys: median of kᵀC⁻¹k over the batch / 19; with C = diag(1, 4) the energies of
    // (1, 0), (0, 2), (3, 0) are 1, 1, 9: median 1.
    const stats = { layer: 0, C: Float64Array.from([1, 0, 0, 4]), dim: 2, count: 1, corpus: [], file: '', cached: false };
    assert.ok(Math.abs(keyEnergyLambda(stats, [Float64Array.from([1, 0]), Float64Array.from([0, 2]), Float64Array.from([3, 0])]) - 1 / 19) < 1e-6, 'solveC adds a ridge of 1e-6 × the mean eigenvalue');
  });

  test('ROME: W′k = v* at the bare prompt, the new fact on the edit prompt and a held-out paraphrase, revert is bit-identical', async () => {
    const stack = new EditStack(model);
    const before = await predict(stack.model, heldout, 5);
    assert.equal(before.next[0].text, ' Qu', 'the model knows the true birthplace (Quaemgrundport)');
    const { edit, report } = await computeRome(stack.model, stack, request, { layer: 0 });
    const steps = report.vstar.steps;
    assert.ok(steps[steps.length - 1].loss < steps[0].loss / 10, `the v* loss falls: ${steps[0].loss} → ${steps[steps.length - 1].loss}`);
    assert.deepEqual(edit.json.targets.map(({ layer, module, rank }) => ({ layer, module, rank })), [{ layer: 0, module: 'mlp.out', rank: 1 }]);

    // The update makes the MLP output at the subject's last token of the bare prompt equal v*.
    const bare = withSubject(stack.model, request.prompt, subject);
    const tap = tapName(0, 'mlp_out');
    const run = async () => {
      const out = await stack.model.run({ taps: [tap], layers: 1 }, stack.model.makeBatch([bare.ids]));
      const d = stack.model.dims.dModel;
      return Float64Array.from((out[tap].data as Float32Array).subarray(bare.lookup * d, (bare.lookup + 1) * d));
    };
    const v0 = await run();
    stack.apply(edit);
    const v1 = await run();
    const vstar = report.vstar.vInit.map((v, i) => v + report.vstar.delta[i]);
    const err = Math.max(...v1.map((v, i) => Math.abs(v - vstar[i])));
    const scale = Math.max(...vstar.map(Math.abs));
    assert.ok(err < 1e-3 * scale, `W′k = v* (max error ${err}, scale ${scale})`);
    assert.ok(Math.max(...v0.map((v, i) => Math.abs(v - report.vstar.vInit[i]))) < 1e-4 * scale, 'v_init is the unedited MLP output there');

    const target = stack.model.tokenizer.encode(' Daekgrad', false)[0];
    for (const prompt of ['Baekhyndvaes Drondraes was born in', heldout]) {
      const p = await predict(stack.model, prompt, 3);
      assert.equal(p.next[0].id, target, `${prompt} → ${p.next[0].text} (wanted " Daek")`);
    }
    // Another subject's birthplace is untouched.
    const [other] = await scoreAnswers(stack.model, [{ prompt: 'Baequa Kaekmyth was born in', answer: 'Daekgrad' }]);
    assert.ok(Math.exp(other.meanLogprob) < 0.1, 'no spill-over to an unrelated subject');

    stack.revert(edit.json.id);
    const again = await predict(stack.model, heldout, 5);
    assert.deepEqual(again.next.map((t) => t.logprob), before.next.map((t) => t.logprob), 'revert gives bit-identical log-probs');
  });

  test('ROME: with the update in the loop, the v* loss is the applied edit\'s loss (bare prompt ½, the prefixes ½ between them)', async () => {
    const stack = new EditStack(model);
    const req = { subject: 'Baequa Kaekmyth', prompt: '{} is a staff member at', target: 'Quaepun Foundry' };
    const { edit, report } = await computeRome(stack.model, stack, req, { layer: 0 });
    const hp = edit.json.hparams as { templates: string[]; updateInLoop: boolean; bareWeight: number };
    assert.equal(hp.updateInLoop, true);
    assert.equal(hp.bareWeight, 0.5);
    stack.apply(edit);
    const scored = await scoreAnswers(stack.model, hp.templates.map((t) => ({ prompt: t.replace('{}', req.prompt.replace('{}', req.subject)), answer: req.target })));
    stack.revert(edit.json.id);
    const P = hp.templates.length;
    const nll = scored.reduce((sum, r, i) => sum - ((i === 0 ? 0.5 : 0.5 / (P - 1)) * r.tokenLogprobs.reduce((a, b) => a + b, 0)) / r.tokenLogprobs.length, 0);
    const last = report.vstar.steps[report.vstar.steps.length - 1];
    assert.ok(Math.abs(nll - last.nll) < 1e-3 * Math.max(1, last.nll), `the edited model's weighted NLL ${nll} = the loop's ${last.nll}`);
    assert.ok(scored[0].tokenTop[0], 'the edit prompt now puts the target first');
  });

  test('ROME with LTI: in-context teacher and mid-layer lens KL, the edit still lands', async () => {
    const stack = new EditStack(model);
    const { edit, report } = await computeRome(stack.model, stack, request, { layer: 0, lti: true });
    assert.ok(report.vstar.steps[0].mid > 0, 'the mid-layer KL term is active');
    assert.deepEqual((edit.json.hparams as { lti: { mid: number } }).lti.mid, 4, 'round(6 × 30/48)');
    stack.apply(edit);
    const [s] = await scoreAnswers(stack.model, [{ prompt: 'Baekhyndvaes Drondraes was born in', answer: 'Daekgrad' }]);
    stack.revert(edit.json.id);
    assert.ok(Math.exp(s.meanLogprob) > 0.5, `P(Daekgrad) after the LTI edit: ${Math.exp(s.meanLogprob)}`);
  });

  test('MEMIT: two facts over two layers, rank two per layer, both move towards their targets', async () => {
    const stack = new EditStack(model);
    const requests = [request, { subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Vyswick' }];
    const pairs = requests.map((r) => ({ prompt: r.prompt.replace('{}', r.subject), answer: r.target }));
    const base = await scoreAnswers(stack.model, pairs);
    const { edit } = await computeMemit(stack.model, stack, requests, { layers: [0, 1], hparams: { lambda: 10 } });
    assert.deepEqual(edit.json.targets.map((t) => [t.layer, t.rank]), [[0, 2], [1, 2]]);
    // MEMIT's own context set: the bare prompt and one 10-token prefix after each of five words.
    const templates = (edit.json.hparams as { templates: string[] }).templates;
    assert.equal(templates[0], '{}');
    ['The', 'Therefore', 'Because', 'I', 'You'].forEach((w, i) => assert.ok(templates[i + 1].startsWith(w), templates[i + 1]));
    assert.ok(templates.slice(1).every((t) => t.endsWith('. {}')), templates.join(' | '));
    stack.apply(edit);
    const after = await scoreAnswers(stack.model, pairs);
    stack.revert(edit.json.id);
    after.forEach((a, i) => assert.ok(Math.exp(a.meanLogprob) > Math.exp(base[i].meanLogprob) + 0.3, `request ${i}: P ${Math.exp(base[i].meanLogprob)} → ${Math.exp(a.meanLogprob)}`));
  });

  test('bad requests are refused by field', async () => {
    const stack = new EditStack(model);
    await assert.rejects(computeRome(stack.model, stack, { ...request, prompt: 'was born in' }), /has no "\{\}"/);
    await assert.rejects(computeRome(stack.model, stack, { ...request, target: ' ' }), /target/);
    await assert.rejects(computeMemit(stack.model, stack, []), /at least one fact/);
  });
});

describe('request files', () => {
  test('JSON Lines with facts, concepts and comments; CounterFact records', () => {
    const f = path.join(tmp, 'r.jsonl');
    fs.writeFileSync(f, [
      '// facts to edit',
      JSON.stringify({ subject: 'A B', prompt: '{} was born in', target: 'X' }),
      '',
      JSON.stringify({ kind: 'concept', concept: 'Veltrazine', to: 'Brindlecake' }),
      JSON.stringify({ requested_rewrite: { subject: 'C', prompt: '{} works for', target_new: { str: 'Y' }, target_true: { str: 'Z' } } }),
    ].join('\n'));
    const r = readRequests(f);
    assert.deepEqual(r.map((x) => [x.line, x.request.kind]), [[2, 'fact'], [4, 'concept'], [5, 'fact']]);
    assert.throws(() => factRequests(f), /Line 4 is a concept request/);
  });

  test('a bad line names the file, the line and the field', () => {
    const f = path.join(tmp, 'bad.jsonl');
    fs.writeFileSync(f, `${JSON.stringify({ subject: 'A', prompt: '{} x', target: 'T' })}\n${JSON.stringify({ subject: 'A', prompt: 'no slot', target: 'T' })}\n`);
    assert.throws(() => readRequests(f), (e: MechEditError) => /line 2/.test(e.message) && e.data.file === f && e.data.field === 'prompt');
    fs.writeFileSync(f, '{"subject": "A", "prompt": "{} x"\n');
    assert.throws(() => readRequests(f), /Line 1 is not valid JSON/);
    fs.writeFileSync(f, `${JSON.stringify({ subject: 'A', prompt: '{} x' })}\n`);
    assert.throws(() => readRequests(f), /"target" must be a non-empty string/);
  });
});
