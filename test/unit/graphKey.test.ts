// The graph cache's file names: the hash of the built graph's bytes, so that a change of the
// builder's code, the plan or the options names another file, and no number has to be bumped.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel, graphKey } from '../../src/core/runtime/model';
import { buildForward, type ForwardOptions } from '../../src/core/graph/forward';
import type { ModelPlan } from '../../src/core/models/model';

const repo = path.join(__dirname, '..', '..', '..');
const fixture = (name: string) => path.join(repo, 'test', 'fixtures', 'models', name);
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-graph-key-'));
const model = LoadedModel.open(fixture('gpt2-tiny'), { provider: 'cpu', threads: 1 });
after(() => model.release());

const keyOf = (options: ForwardOptions, plan: ModelPlan = model.plan) => graphKey(buildForward(plan, model.graphDir.locate, options));

test('the same plan and options give the same key; other options or another plan another key', () => {
  const variants: ForwardOptions[] = [{ logits: 'all' }, { logits: 'last' }, { logits: 'none', layers: 2 }, { gram: 1, layers: 2 }, { taps: ['blocks.0.mlp_out'] }, { delta: { layer: 0 } }];
  const keys = variants.map((o) => keyOf(o));
  assert.deepEqual(variants.map((o) => keyOf(o)), keys, 'building again gives the same key');
  assert.equal(new Set(keys).size, keys.length, `two variants share a key: ${keys.join(', ')}`);
  assert.match(keys[0], /^[0-9a-f]{32}$/);
  // The plan: one number of the model changed (layer-norm eps) is another graph.
  const plan = { ...model.plan, dims: { ...model.plan.dims, eps: model.plan.dims.eps * 2 } };
  assert.notEqual(keyOf({ logits: 'all' }, plan), keys[0]);
  // Another checkpoint, the same options.
  const llama = LoadedModel.open(fixture('llama-gqa'), { provider: 'cpu', threads: 1 });
  assert.notEqual(graphKey(buildForward(llama.plan, llama.graphDir.locate, { logits: 'all' })), keys[0]);
});

test('a session opens the file named by the hash of what the builder gives now', async () => {
  const options: ForwardOptions = { logits: 'last' };
  const file = model.graphFile(options);
  assert.equal(path.dirname(file), model.graphDir.dir);
  assert.equal(path.basename(file), `${keyOf(options)}.onnx`);
  assert.equal(graphKey(fs.readFileSync(file)), keyOf(options), 'the file holds the bytes its name is the hash of');
  assert.equal(model.graphFile(options), file, 'asked again: the same file');
  // A file left by an older builder (other bytes, so another name) is never opened.
  const before = new Set(fs.readdirSync(model.graphDir.dir));
  fs.writeFileSync(path.join(model.graphDir.dir, `${graphKey(Buffer.from('an older graph'))}.onnx`), 'not a graph');
  await model.session({ logits: 'all' });
  const written = fs.readdirSync(model.graphDir.dir).filter((f) => !before.has(f) && f.endsWith('.onnx'));
  assert.ok(written.includes(`${keyOf({ logits: 'all' })}.onnx`), written.join(', '));
});
