// Causal tracing names the edits it runs with (model/causalTrace's `edits`): an empty list traces
// the model without edits while edits are applied, and equals the trace of the unedited model (in
// the engine before any edit, and in this process with core's causalTrace on a bare view); a list
// of one traces that edit alone. The user's stack — ids, order, enabled flags, strengths — is the
// same after, and a predict made while the bare trace runs still sees the edits. The result says
// which edits were on, and carries the model's greedy answer whose first token is the traced one.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/extension/engine/client';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { writeEdit, readEdit } from '../../src/core/edits/editFile';
import { causalTrace } from '../../src/core/analysis/causalTrace';
import { TRACE_ANSWER_MAX_TOKENS } from '../../src/core/analysis/traceAnswer';
import { generate } from '../../src/core/runtime/run';
import { decodeCausalTrace } from '../../src/protocol/wire';
import { TRACE_EXAMPLE } from '../../src/protocol/traceExample';

const repo = path.join(__dirname, '..', '..', '..');
const defaultModel = path.join(repo, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-trace-edits-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

const { prompt, subject } = TRACE_EXAMPLE;
const SAMPLES = 3;

/** A strong rank-one edit of an MLP output on the default model (changes what it predicts). */
function pushEdit(model: LoadedModel, id: string, layer: number, phase: number): string {
  const w = model.plan.blocks[layer].down;
  const U = Float32Array.from({ length: w.out }, (_, i) => Math.sin(i + phase) * 3);
  const V = Float32Array.from({ length: w.in }, (_, i) => Math.cos(i + phase) * 3);
  return writeEdit(path.join(tmp, 'edits'), {
    json: { format: 'mechedit-edit/1', id, label: `label of ${id}`, method: 'manual', modelFingerprint: model.checkpoint.fingerprint, targets: [{ layer, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString() },
    tensors: [{ U, V }],
  }, () => ({ out: w.out, in: w.in }), model.checkpoint);
}

const grids = (r: { scores: Record<'resid' | 'mlp' | 'attn', number[][]> }) => [r.scores.resid, r.scores.mlp, r.scores.attn].flat(2);
function assertClose(actual: number[], expected: number[], what: string, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, what);
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(worst <= tol, `${what}: largest difference ${worst} > ${tol}`);
}

test('a trace with an explicit empty edit list is the bare trace while edits stay applied; the user\'s stack is unchanged', async () => {
  const local = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  const fileA = pushEdit(local, 'push-a', 2, 0);
  const fileB = pushEdit(local, 'push-b', 1, 1);
  const trace = async (edits?: string[], onProgress?: () => void) => {
    const r = await client.request('model/causalTrace', { prompt, subject, samples: SAMPLES, ...(edits ? { edits } : {}) }, onProgress ? { onProgress } : {});
    return { ...decodeCausalTrace(r), edits: r.edits, greedy: r.greedy };
  };

  await client.request('model/open', { path: defaultModel });
  const unedited = await trace();
  assert.deepEqual(unedited.edits, [], 'no edit is applied yet');

  await client.request('edits/apply', { file: fileA });
  await client.request('edits/apply', { file: fileB });
  await client.request('edits/scale', { id: 'push-b', strength: 0.5 });
  const stackBefore = (await client.request('edits/list', {})).items;
  const predictEdited = await client.request('model/predict', { prompt, top: 3 });

  const edited = await trace();
  assert.deepEqual(edited.edits, [{ id: 'push-a', label: 'label of push-a', strength: 1 }, { id: 'push-b', label: 'label of push-b', strength: 0.5 }], 'the result names the edits it ran with');
  assert.notDeepEqual(grids(edited), grids(unedited), 'the edits change the trace');

  // The bare trace, with a predict made while it runs.
  let during: Promise<Awaited<ReturnType<typeof client.request<'model/predict'>>>> | undefined;
  const bare = await trace([], () => (during ??= client.request('model/predict', { prompt, top: 3 })));
  assert.ok(during, 'the trace reported progress');
  assert.deepEqual((await during).next, predictEdited.next, 'a predict during the bare trace sees the user\'s edits');
  assert.deepEqual(bare.edits, [], 'the result says no edit was on');
  assert.deepEqual(grids(bare), grids(unedited), 'the bare trace equals the trace made before any edit (same numbers)');
  assert.equal(bare.cleanProb, unedited.cleanProb);
  assert.equal(bare.recommendedLayer, unedited.recommendedLayer);
  assert.deepEqual(bare.greedy, unedited.greedy, 'and the same greedy answer');

  // Independent of the engine: core's causalTrace in this process on a view without edits, and on a stack holding only push-a.
  const reference = await causalTrace(local.bare(), { prompt, subject, samples: SAMPLES });
  assertClose(grids(bare), grids(reference), 'bare trace vs core causalTrace on the bare model');
  const onlyA = new EditStack(local);
  onlyA.apply(readEdit(fileA));
  const referenceA = await causalTrace(onlyA.model, { prompt, subject, samples: SAMPLES });
  const traceA = await trace(['push-a']);
  assert.deepEqual(traceA.edits.map((e) => e.id), ['push-a']);
  assertClose(grids(traceA), grids(referenceA), 'trace with ["push-a"] vs core causalTrace with push-a alone');
  assert.notDeepEqual(grids(traceA), grids(edited), 'push-b left out changes the trace');

  // An id not in the stack is named; nothing changes.
  await assert.rejects(trace(['push-a', 'gone']), (e: Error & { data?: { field?: string } }) => /No edit "gone" in the stack/.test(e.message) && e.data?.field === 'edits');
  assert.deepEqual((await client.request('edits/list', {})).items, stackBefore, 'the user\'s stack (ids, order, enabled, strengths) is as it was');
  assert.deepEqual((await client.request('model/predict', { prompt, top: 3 })).next, predictEdited.next, 'and still applied');

  // The greedy answer: the model's own continuation, whose first token is the traced one.
  for (const r of [unedited, edited]) {
    assert.ok(r.greedy.tokens.length >= 1 && r.greedy.tokens.length <= TRACE_ANSWER_MAX_TOKENS);
    assert.equal(r.greedy.tokens[0].id, r.answer.id, 'the traced token is the greedy answer\'s first');
  }
  const generated = await generate(local.bare(), prompt, { maxTokens: unedited.greedy.tokens.length, temperature: 0 });
  assert.equal(unedited.greedy.text, generated.text, 'the greedy answer is core generate\'s at temperature 0');
  console.log(`greedy answer of the bare model: ${JSON.stringify(unedited.greedy.text)} (traced token ${JSON.stringify(unedited.answer.text)}); edited: ${JSON.stringify(edited.greedy.text)}; recommended layer bare ${unedited.recommendedLayer}, edited ${edited.recommendedLayer}`);
  await client.request('edits/revertAll', {});
  await local.release();
});
