// One engine, many requests: a long run (diagnostics, an "edits off" trace) works on its own copy
// of the user's edit stack. What the user does meanwhile (predict, toggle, revert) sees and
// changes the user's stack, and the run neither sees those changes nor undoes them.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/extension/engine/client';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { writeEdit, readEdit } from '../../src/core/edits/editFile';
import { predict } from '../../src/core/runtime/run';

const repo = path.join(__dirname, '..', '..', '..');
const defaultModel = path.join(repo, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-isolation-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

const PROMPT = 'Baekhyndvaes Drondraes was born in';

/** A strong rank-one edit of layer 2's MLP output on the default model (changes the prediction). */
function pushEdit(model: LoadedModel, id: string): string {
  const w = model.plan.blocks[2].down;
  const U = Float32Array.from({ length: w.out }, (_, i) => Math.sin(i) * 3);
  const V = Float32Array.from({ length: w.in }, (_, i) => Math.cos(i) * 3);
  return writeEdit(path.join(tmp, 'edits'), {
    json: { format: 'mechedit-edit/1', id, label: id, method: 'manual', modelFingerprint: model.checkpoint.fingerprint, targets: [{ layer: 2, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString() },
    tensors: [{ U, V }],
  }, () => ({ out: w.out, in: w.in }), model.checkpoint);
}

test('a view and a fork never change the model or stack they come from', async () => {
  const model = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  const stack = new EditStack(model);
  stack.apply(readEdit(pushEdit(model, 'view-push')));
  const edited = await predict(stack.model, PROMPT, 3);
  assert.equal(model.edits.size, 0, 'the stack changed the model it was made from');
  const fork = stack.fork();
  fork.setEnabled('view-push', false);
  assert.deepEqual(stack.list().map((e) => e.enabled), [true], 'the fork toggles its own copy only');
  assert.deepEqual((await predict(stack.model, PROMPT, 3)).next, edited.next, 'the stack\'s model keeps its edits');
  const bare = await predict(model.bare(), PROMPT, 3);
  assert.deepEqual((await predict(fork.model, PROMPT, 3)).next, bare.next, 'the fork runs without the edit');
  assert.notDeepEqual(bare.next, edited.next);
  stack.revertAll();
  assert.deepEqual((await predict(fork.model, PROMPT, 3)).next, bare.next, 'a fork is not changed by its origin');
  await model.release();
});

test('diagnostics and edits-off traces run on their own copy while the user predicts and toggles', async () => {
  const model = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  const file = pushEdit(model, 'push');
  await model.release();
  await client.request('model/open', { path: defaultModel });
  const unedited = await client.request('model/predict', { prompt: PROMPT, top: 3 });
  await client.request('edits/apply', { file });
  const edited = await client.request('model/predict', { prompt: PROMPT, top: 3 });
  assert.notDeepEqual(edited.next, unedited.next, 'the edit changes the prediction');

  // While the ORT diagnostics measure the unedited model, the user predicts, then switches the edit off.
  let during: Promise<unknown> | undefined;
  const run = client.request('diagnostics/run', { kind: 'ort', outDir: path.join(tmp, 'diag') }, {
    onProgress: () => {
      during ??= (async () => {
        const p = await client.request('model/predict', { prompt: PROMPT, top: 3 });
        await client.request('edits/setEnabled', { id: 'push', enabled: false });
        return p;
      })();
    },
  });
  const result = await run;
  assert.ok(during, 'the run reported progress');
  const seen = (await during) as typeof edited;
  assert.deepEqual(seen.next, edited.next, 'a predict during the run sees the user\'s edit');
  assert.ok('targets' in result && result.enabledEdits === 1, 'the run measured the stack as it was when it started');
  assert.deepEqual((await client.request('edits/list', {})).items.map((e) => [e.id, e.enabled]), [['push', false]], 'the user\'s toggle made during the run is kept');
  assert.deepEqual((await client.request('model/predict', { prompt: PROMPT, top: 3 })).next, unedited.next);

  // An "edits off" trace does not switch the user's edits off for anyone else.
  await client.request('edits/setEnabled', { id: 'push', enabled: true });
  const [off, on] = await Promise.all([
    client.request('model/trace', { prompt: PROMPT, top: 1, edits: 'off' }),
    client.request('model/predict', { prompt: PROMPT, top: 3 }),
  ]);
  assert.ok(off.tokens.length > 0);
  assert.deepEqual(on.next, edited.next, 'a predict next to an edits-off trace sees the edit');
  assert.deepEqual((await client.request('edits/list', {})).items.map((e) => [e.id, e.enabled]), [['push', true]]);
  await client.request('edits/revertAll', {});
});

test('opening another model during a run lets the run finish on the model it started on', async () => {
  await client.request('model/open', { path: defaultModel });
  const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
  let opened: Promise<unknown> | undefined;
  const result = await client.request('diagnostics/run', { kind: 'ort', outDir: path.join(tmp, 'diag-switch') }, {
    onProgress: () => {
      opened ??= client.request('model/open', { path: tiny });
    },
  });
  assert.ok(opened, 'the run reported progress');
  await opened;
  assert.ok('targets' in result && result.targets.length > 0 && result.targets.every((t) => t.rows.length > 0), 'the run finished with its results');
  assert.equal((await client.request('model/info', {}))?.path, tiny, 'the newly opened model is the open one');
});
