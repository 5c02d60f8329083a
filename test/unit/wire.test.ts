// Tensors cross engine → extension → webview as base64 float32 tensors (src/protocol/wire.ts),
// never as JSON arrays: causal-trace grids, concept directions and probe projections come out of
// the engine encoded, decode to the values core computes (rounded to float32), and steering
// vectors / ablated directions go in encoded.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/extension/engine/client';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { causalTrace } from '../../src/core/analysis/causalTrace';
import { conceptDirections } from '../../src/core/analysis/concepts';
import { decodeRows, decodeVector, encodeRows, encodeVector } from '../../src/protocol/tensor';
import { decodeCausalTrace, decodeConcepts, encodeCausalTrace, encodeConcepts } from '../../src/protocol/wire';

const repo = path.join(__dirname, '..', '..', '..');
const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-wire-'));
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
after(async () => {
  client.dispose();
  await model.release();
});

const f32 = (xs: number[]) => xs.map(Math.fround);

/** Paths of every JSON array of more than `max` numbers in a value (what the wire must not carry). */
function numberArrays(value: unknown, max: number, at = '$'): string[] {
  if (Array.isArray(value)) {
    if (value.length > max && value.every((v) => typeof v === 'number')) return [at];
    return value.flatMap((v, i) => numberArrays(v, max, `${at}[${i}]`));
  }
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => numberArrays(v, max, `${at}.${k}`));
  return [];
}

test('vectors and row grids round-trip through the float32 encoding', () => {
  const v = [0, -0.5, Math.PI, 1e-8, -3e5];
  const wire = encodeVector(v);
  assert.deepEqual([wire.dtype, wire.dims, typeof wire.data], ['float32', [5], 'string']);
  assert.equal(wire.data, Buffer.from(Float32Array.from(v).buffer).toString('base64'), 'raw little-endian float32 bytes');
  assert.deepEqual(decodeVector(wire), f32(v));
  const rows = [[1, 2, 3], [4.25, -5, 1 / 3]];
  const grid = encodeRows(rows);
  assert.deepEqual(grid.dims, [2, 3]);
  assert.deepEqual(decodeRows(grid), rows.map(f32));
  assert.deepEqual(decodeRows(encodeRows([])), []);
  assert.throws(() => encodeRows([[1, 2], [3]]), /row 1 has 1 values/);
  assert.throws(() => decodeVector(grid), /expected a vector/);
});

test('model/causalTrace sends its score grids as tensors that decode to the core trace', async () => {
  await client.request('model/open', { path: tiny });
  const req = { prompt: 'the big cat sat on the', subject: 'cat', samples: 3, window: 1 };
  const wire = await client.request('model/causalTrace', req);
  assert.deepEqual(numberArrays(wire, 8), [], 'no JSON array of numbers');
  const core = await causalTrace(model, req);
  for (const kind of ['resid', 'mlp', 'attn'] as const) {
    const t = wire.scores[kind];
    assert.deepEqual([t.dtype, t.dims], ['float32', [model.dims.layers, core.tokens.length]], kind);
    assert.equal(typeof t.data, 'string');
  }
  // The engine adds the edits it ran with and the greedy answer (model/causalTrace, protocol/model.ts CausalTraceRun).
  const { edits, greedy, ...decoded } = decodeCausalTrace(wire);
  assert.deepEqual(edits, [], 'no edit is applied');
  assert.equal(greedy.tokens[0].id, core.answer.id, 'the greedy answer starts with the traced token');
  assert.deepEqual(decoded.scores, { resid: core.scores.resid.map(f32), mlp: core.scores.mlp.map(f32), attn: core.scores.attn.map(f32) });
  assert.deepEqual({ ...decoded, scores: undefined }, { ...core, scores: undefined }, 'every other field as computed');
  assert.deepEqual(decodeCausalTrace(encodeCausalTrace(core)), decoded, 'encode/decode is the same on either side');
});

test('concepts/direction sends directions and probe projections as tensors; steer and ablate take them', async () => {
  await client.request('model/open', { path: tiny });
  const req = { positive: ['the cat sat', 'a cat ran'], negative: ['the dog sat', 'a dog ran'], probe: 'the cat' };
  const wire = await client.request('concepts/direction', req);
  assert.deepEqual(numberArrays(wire, 8), [], 'no JSON array of numbers');
  const d = model.dims.dModel;
  assert.ok(wire.layers.every((l) => l.direction.dtype === 'float32' && l.direction.dims[0] === d && l.direction.dims.length === 1));
  assert.deepEqual(wire.probe!.values.dims, [model.dims.layers, wire.probe!.tokens.length]);
  const core = await conceptDirections(model, new EditStack(model), req);
  const decoded = decodeConcepts(wire);
  assert.deepEqual(decoded.layers.map((l) => l.direction), core.layers.map((l) => f32(l.direction)));
  assert.deepEqual(decoded.probe!.values, core.probe!.values.map(f32));
  assert.deepEqual(decodeConcepts(encodeConcepts(core)), decoded);
  // The size on the wire: base64 float32 against the JSON array the engine used to send.
  const before = JSON.stringify(core.layers.map((l) => l.direction)).length;
  const afterLen = JSON.stringify(wire.layers.map((l) => l.direction)).length;
  assert.ok(afterLen < before / 2, `directions: encoded ${afterLen} chars, JSON arrays ${before}`);

  const direction = wire.layers[1].direction;
  const steered = await client.request('model/generate', { prompt: 'the cat', maxTokens: 2, steer: { layer: 1, vector: encodeVector(decodeVector(direction).map((v) => v * 4)) } });
  assert.equal(steered.tokens.length, 2);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-wire-edits-'));
  const ablated = await client.request('edits/ablate', { direction, layers: [1], modules: ['mlp.out'], outDir });
  assert.deepEqual(ablated.state.items.map((i) => i.targets.map((t) => [t.layer, t.module])), [[[1, 'mlp.out']]]);
  await assert.rejects(client.request('edits/ablate', { direction: { ...direction, dims: [d + 1] }, layers: [1], outDir }), (e: Error & { data?: { field?: string } }) => e.data?.field === 'direction');
});
