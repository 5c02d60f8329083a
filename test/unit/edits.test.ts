// Edits as files and the edit stack: import, apply / revert (bit-exact), stacking, strength,
// refusal of another model's edit, rejection of broken files with the stack untouched, and
// bake round trips (GPT-2's [in, out] Conv1D weights, Llama's [out, in], an F16 checkpoint).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit, writeEdit, type Edit } from '../../src/core/edits/editFile';
import { bake } from '../../src/core/edits/bake';
import { MechEditError } from '../../src/core/errors';
import { writeNpy } from './npy';

const repo = path.join(__dirname, '..', '..', '..');
const fixture = (name: string) => path.join(repo, 'test', 'fixtures', 'models', name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-edits-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');

function rand(n: number, seed: number, scale = 0.5): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

function npy(file: string, rows: number, cols: number, data: Float32Array): void {
  writeNpy(file, rows, cols, data);
}

/** A rank-r edit of `module` at `layer`, written to disk and read back. */
function makeEdit(model: LoadedModel, layer: number, module: 'mlp.out' | 'attn.out', rank: number, seed: number, label = `e${seed}`): Edit {
  const w = module === 'mlp.out' ? model.plan.blocks[layer].down : model.plan.blocks[layer].o;
  const json = {
    format: 'mechedit-edit/1' as const, id: `${label}-${seed}`, label, method: 'manual' as const, modelFingerprint: model.checkpoint.fingerprint,
    targets: [{ layer, module, rank, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString(),
  };
  const file = writeEdit(path.join(tmp, 'edits'), { json, tensors: [{ U: rand(rank * w.out, seed), V: rand(rank * w.in, seed + 1) }] }, () => ({ out: w.out, in: w.in }), model.checkpoint);
  return readEdit(file);
}

async function logits(model: LoadedModel, ids = [5, 17, 300, 2, 44, 90]): Promise<Float32Array> {
  return (await model.run({ logits: 'all' }, model.makeBatch([ids]))).logits.data as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('the edit stack on gpt2-tiny', () => {
  const model = LoadedModel.open(fixture('gpt2-tiny'), { provider: 'cpu', threads: 1 });
  const stack = new EditStack(model);
  after(() => model.release());

  test('apply changes the logits; revert restores them bit for bit', async () => {
    const before = await logits(stack.model);
    const e = makeEdit(model, 1, 'mlp.out', 1, 3);
    stack.apply(e);
    const edited = await logits(stack.model);
    assert.ok(maxDiff(before, edited) > 1e-3, 'the edit had no effect');
    stack.revert(e.json.id);
    assert.ok(bytes(await logits(stack.model)).equals(bytes(before)), 'revert is not bit-exact');
    assert.deepEqual(stack.list(), []);
  });

  test('a new stack on the same model starts unedited, whatever the earlier stack applied', async () => {
    const before = await logits(stack.model);
    const e = makeEdit(model, 1, 'mlp.out', 1, 5);
    stack.apply(e);
    assert.ok(maxDiff(before, await logits(stack.model)) > 1e-3, 'the edit had no effect');
    const next = new EditStack(stack.model);
    assert.ok(bytes(await logits(next.model)).equals(bytes(before)), 'a new, empty stack ran with the earlier stack\'s edit');
    stack.revert(e.json.id);
    assert.deepEqual(next.list(), []);
  });

  test('constructing a stack leaves the given model\'s edit inputs as they were', async () => {
    const e = makeEdit(model, 1, 'mlp.out', 1, 9);
    stack.apply(e);
    const inputs = stack.model.edits;
    const edited = await logits(stack.model);
    const next = new EditStack(stack.model);
    assert.equal(stack.model.edits, inputs, 'the constructor replaced the edit inputs of the model it was given');
    assert.equal(stack.model.edits.get('1:mlp.out')?.rank, 1);
    assert.ok(bytes(await logits(stack.model)).equals(bytes(edited)), 'the earlier stack lost its edit');
    next.apply(makeEdit(model, 2, 'attn.out', 1, 13, 'next'));
    assert.equal(stack.model.edits, inputs, 'a change on the new stack reached the model it was made from');
    assert.equal(model.edits.size, 0, 'a stack changed the model it was made from');
    stack.revert(e.json.id);
  });

  test('two edits on one module stack as rank 2; toggling, strength and reorder recombine them', async () => {
    const before = await logits(stack.model);
    const a = makeEdit(model, 2, 'attn.out', 1, 11, 'a');
    const b = makeEdit(model, 2, 'attn.out', 1, 21, 'b');
    stack.apply(a);
    const onlyA = await logits(stack.model);
    stack.apply(b);
    assert.equal(stack.model.edits.get('2:attn.out')?.rank, 2);
    const both = await logits(stack.model);
    stack.setEnabled(b.json.id, false);
    assert.ok(bytes(await logits(stack.model)).equals(bytes(onlyA)));
    stack.setEnabled(b.json.id, true);
    stack.reorder([b.json.id, a.json.id]);
    assert.ok(maxDiff(await logits(stack.model), both) < 1e-5, 'the order of edits on a module must not matter');
    stack.scale(a.json.id, 0);
    stack.scale(b.json.id, 0);
    assert.ok(bytes(await logits(stack.model)).equals(bytes(before)), 'strength 0 equals no edit');
    stack.scale(a.json.id, 2);
    assert.equal(stack.model.edits.get('2:attn.out')?.U[0], 2 * a.tensors[0].U[0]);
    stack.revertAll();
    assert.ok(bytes(await logits(stack.model)).equals(bytes(before)));
  });

  test('an edit for another model is refused, naming both', () => {
    const other = LoadedModel.open(fixture('llama-gqa'), { provider: 'cpu', threads: 1 });
    const e = makeEdit(other, 0, 'mlp.out', 1, 5);
    assert.throws(() => stack.apply(e), (err: MechEditError) => {
      assert.equal(err.data.field, 'modelFingerprint');
      assert.match(err.data.message, new RegExp(`made for another model \\(fingerprint ${other.checkpoint.fingerprint}\\).*gpt2-tiny has fingerprint ${model.checkpoint.fingerprint}`));
      return true;
    });
    assert.deepEqual(stack.list(), []);
  });

  test('broken edit files are rejected with the file and field; the stack is untouched', async () => {
    const good = makeEdit(model, 0, 'mlp.out', 1, 7, 'good');
    stack.apply(good);
    const snapshot = await logits(stack.model);
    const variants: [string, (dir: string, json: Record<string, unknown>) => void, RegExp | string][] = [
      ['not json', (dir) => fs.writeFileSync(path.join(dir, 'x.json'), '{"format": '), ''],
      ['wrong format', (dir, j) => fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify({ ...j, format: 'v0' })), 'format'],
      ['bad module', (dir, j) => fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify({ ...j, targets: [{ ...(j.targets as object[])[0], module: 'mlp.in' }] })), 'targets[0].module'],
      ['missing sidecar', (dir, j) => fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify({ ...j, vectors: 'gone.safetensors' })), 'vectors'],
      ['wrong rank', (dir, j) => fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify({ ...j, targets: [{ ...(j.targets as object[])[0], rank: 2 }] })), 'targets[0].U'],
      ['truncated sidecar', (dir, j) => {
        fs.writeFileSync(path.join(dir, 'x.json'), JSON.stringify({ ...j, vectors: 'cut.safetensors' }));
        const src = fs.readFileSync(path.join(tmp, 'edits', j.vectors as string));
        fs.writeFileSync(path.join(dir, 'cut.safetensors'), src.subarray(0, src.length - 9));
      }, /./],
    ];
    for (const [name, breakIt, field] of variants) {
      const dir = fs.mkdtempSync(path.join(tmp, 'broken-'));
      fs.copyFileSync(path.join(tmp, 'edits', good.json.vectors), path.join(dir, good.json.vectors));
      breakIt(dir, { ...good.json, id: 'x' });
      assert.throws(() => stack.apply(readEdit(path.join(dir, 'x.json'))), (err: MechEditError) => {
        assert.equal(err.data.code, 'bad-input', name);
        assert.ok(err.data.file?.startsWith(dir), `${name}: names ${err.data.file}`);
        if (typeof field === 'string' && field) assert.equal(err.data.field, field, name);
        return true;
      }, name);
    }
    assert.deepEqual(stack.list().map((e) => e.id), [good.json.id]);
    assert.ok(bytes(await logits(stack.model)).equals(bytes(snapshot)));
    stack.revertAll();
  });
});

for (const name of ['gpt2-tiny', 'llama-gqa', 'qwen2-tiny']) {
  test(`bake round-trips on ${name}: the baked checkpoint gives the live edited logits`, async () => {
    const model = LoadedModel.open(fixture(name), { provider: 'cpu', threads: 1 });
    const stack = new EditStack(model);
    stack.apply(makeEdit(model, 0, 'mlp.out', 2, 31));
    stack.apply(makeEdit(model, 1, 'attn.out', 1, 41));
    const live = await logits(stack.model);
    const out = path.join(tmp, `baked-${name}`);
    const r = bake(stack.model, out, stack.list());
    assert.equal(r.modified.length, 2);
    const baked = LoadedModel.open(out, { provider: 'cpu', threads: 1 });
    const d = maxDiff(await logits(baked), live);
    assert.ok(d < 1e-4, `baked vs live differ by ${d}`);
    assert.notEqual(baked.checkpoint.fingerprint, model.checkpoint.fingerprint);
    assert.throws(() => bake(model, fixture(name), stack.list()), /source checkpoint/);
    await Promise.all([model.release(), baked.release()]);
  });
}

test('mechedit edit import (.npy and .safetensors) and --edits on predict', () => {
  const model = LoadedModel.open(fixture('gpt2-tiny'), { provider: 'cpu', threads: 1 });
  const w = model.plan.blocks[1].down;
  const u = path.join(tmp, 'u.npy');
  const v = path.join(tmp, 'v.npy');
  npy(u, 1, w.out, rand(w.out, 51, 2));
  npy(v, 1, w.in, rand(w.in, 52, 2));
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--json'], { encoding: 'utf8', env: process.env });
  const imported = cli('edit', 'import', '--model', fixture('gpt2-tiny'), '--layer', '1', '--u', u, '--v', v, '--label', 'my edit', '--out', path.join(tmp, 'ws', '.mechedit', 'edits'));
  assert.equal(imported.status, 0, imported.stderr);
  const file = JSON.parse(imported.stdout).file;
  const e = readEdit(file);
  assert.equal(e.json.label, 'my edit');
  assert.deepEqual(e.json.targets, [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }]);
  const plain = JSON.parse(cli('predict', '--model', fixture('gpt2-tiny'), '--prompt', 'the cat', '--provider', 'cpu').stdout);
  const edited = cli('predict', '--model', fixture('gpt2-tiny'), '--prompt', 'the cat', '--provider', 'cpu', '--edits', file);
  assert.equal(edited.status, 0, edited.stderr);
  assert.notDeepEqual(JSON.parse(edited.stdout).next, plain.next);
  // --out naming a .json file writes that file, and its vectors beside it with the same stem.
  const named = cli('edit', 'import', '--model', fixture('gpt2-tiny'), '--layer', '1', '--u', u, '--v', v, '--out', path.join(tmp, 'named', 'my-edit.json'));
  assert.equal(named.status, 0, named.stderr);
  assert.equal(JSON.parse(named.stdout).file, path.join(tmp, 'named', 'my-edit.json'));
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'named')).sort(), ['my-edit.json', 'my-edit.safetensors']);
  assert.deepEqual(readEdit(path.join(tmp, 'named', 'my-edit.json')).tensors, e.tensors, 'it reads back as the same edit');
  const wrong = cli('edit', 'import', '--model', fixture('llama-gqa'), '--layer', '1', '--u', u, '--v', v, '--out', path.join(tmp, 'nope'));
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /columns/);
  assert.ok(!fs.existsSync(path.join(tmp, 'nope')), 'nothing is written for a refused import');
});

test('mechedit edit rocr --preset tuned takes the checkpoint\'s settings, --regularizer overrides them, and bad values are refused', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--json'], { encoding: 'utf8', env: process.env });
  const dflt = path.join(repo, 'models', 'default');
  const out = path.join(tmp, 'rocr-cli');
  const r = cli('edit', 'rocr', '--model', dflt, '--concept', 'Veltrazine', '--to', 'Brindlecake', '--preset', 'tuned', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const e = readEdit(JSON.parse(r.stdout).file);
  assert.deepEqual([e.json.hparams?.layers, e.json.hparams?.lambda, e.json.hparams?.regularizer, e.json.hparams?.positions], [[0], 10, 'covariance', 'all']);
  const plain = cli('edit', 'rocr', '--model', dflt, '--concept', 'Veltrazine', '--to', 'Brindlecake', '--preset', 'tuned', '--regularizer', 'identity', '--lambda', '1', '--out', out);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(readEdit(JSON.parse(plain.stdout).file).json.hparams?.regularizer, 'identity');
  const bad = cli('edit', 'rocr', '--model', dflt, '--concept', 'Veltrazine', '--to', 'Brindlecake', '--preset', 'tuned', '--regularizer', 'ridge', '--out', out);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--regularizer must be one of identity, covariance, got "ridge"/);
  const both = cli('edit', 'rocr', '--model', dflt, '--concept', 'Veltrazine', '--to', 'Brindlecake', '--preset', 'tuned', '--regularizer', 'covariance', '--null-space', '--out', out);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /nullSpace and the covariance regularizer are alternatives \(--regularizer\)/);
  const implied = cli('edit', 'rocr', '--model', dflt, '--concept', 'Veltrazine', '--to', 'Brindlecake', '--preset', 'tuned', '--null-space', '--out', out);
  assert.equal(implied.status, 2, 'the checkpoint recommends the covariance regularizer');
  assert.match(implied.stderr, /set the regularizer to identity to use nullSpace/);
  assert.equal(fs.readdirSync(out).length, 4, 'the refused runs wrote nothing');
});

test('every edit file written matches schemas/edit.schema.json (required fields, no strays)', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(repo, 'schemas', 'edit.schema.json'), 'utf8'));
  for (const f of fs.readdirSync(path.join(tmp, 'edits')).filter((x) => x.endsWith('.json'))) {
    const json = JSON.parse(fs.readFileSync(path.join(tmp, 'edits', f), 'utf8'));
    for (const k of schema.required) assert.ok(k in json, `${f} lacks ${k}`);
    for (const k of Object.keys(json)) assert.ok(k in schema.properties, `${f} has ${k}, which the schema does not allow`);
    assert.match(json.modelFingerprint, new RegExp(schema.properties.modelFingerprint.pattern));
    const target = schema.properties.targets.items;
    for (const t of json.targets) {
      for (const k of target.required) assert.ok(k in t, `${f}: a target lacks ${k}`);
      for (const k of Object.keys(t)) assert.ok(k in target.properties, `${f}: a target has ${k}, which the schema does not allow`);
    }
  }
});
