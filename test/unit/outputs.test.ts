// Nothing MechEdit writes lands on or inside a checkpoint it reads, or replaces a file it did not
// create: edit files (core and `mechedit edit … --out`), bake, the run folders of evoke / ort /
// merge, and the engine's edit and diagnostics requests. Every refusal comes before the work,
// names the path, and leaves the checkpoint byte for byte as it was.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit, writeEdit, type Edit } from '../../src/core/edits/editFile';
import { bake } from '../../src/core/edits/bake';
import { MechEditError } from '../../src/core/errors';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { writeNpy } from './npy';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-outputs-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Working copies: the tiny GPT-2, the default model (it ships eval/ data), a Hugging Face cache.
const tiny = path.join(tmp, 'gpt2-tiny');
fs.cpSync(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny'), tiny, { recursive: true });
const dflt = path.join(tmp, 'default');
fs.cpSync(path.join(repo, 'models', 'default'), dflt, { recursive: true });
const hf = path.join(tmp, 'hf', 'models--mechedit--tiny-llama');
fs.cpSync(path.join(repo, 'test', 'fixtures', 'models', 'hf-cache', 'models--mechedit--tiny-llama'), hf, { recursive: true, verbatimSymlinks: true });

/** Every file under `dir` (symlinks as their targets) with its sha256. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    const s = fs.lstatSync(p);
    if (s.isSymbolicLink()) out[f] = `-> ${fs.readlinkSync(p)}`;
    else if (s.isFile()) out[f] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    else out[f] = 'dir';
  }
  return out;
}
const before = { tiny: snapshot(tiny), dflt: snapshot(dflt), hf: snapshot(hf) };

function cli(...args: string[]): { status: number | null; json: { error?: { file?: string; message: string; field?: string } } & Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args, '--json'], { encoding: 'utf8', env: process.env });
  return { status: r.status, json: r.stdout ? JSON.parse(r.stdout) : {}, stderr: r.stderr };
}

function npy(file: string, data: Float32Array): void {
  writeNpy(file, 1, data.length, data);
}

const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
const w = model.plan.blocks[1].down;
const dims = () => ({ out: w.out, in: w.in });
function edit(id: string): Omit<Edit, 'file'> {
  return {
    json: { format: 'mechedit-edit/1', id, label: id, method: 'manual', modelFingerprint: model.checkpoint.fingerprint, targets: [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString() },
    tensors: [{ U: new Float32Array(w.out).fill(0.2), V: new Float32Array(w.in).fill(0.1) }],
  };
}
const refused = (pathPart: string) => (e: unknown) => e instanceof MechEditError && e.data.code === 'bad-input' && !!e.data.file?.includes(pathPart) && !!e.data.hint;

test('writeEdit refuses the checkpoint folder, its HF cache folder, symlinked weights\' folder, and files it did not write', () => {
  assert.throws(() => writeEdit(path.join(tiny, 'model.json'), edit('a'), dims, model.checkpoint), refused(tiny));
  assert.throws(() => writeEdit(path.join(tiny, 'sub', 'edits'), edit('a'), dims, model.checkpoint), refused(tiny));
  // Through a symlink to the checkpoint folder, or `..`.
  fs.symlinkSync(tiny, path.join(tmp, 'link-to-model'));
  assert.throws(() => writeEdit(path.join(tmp, 'link-to-model', 'e.json'), edit('a'), dims, model.checkpoint), (e: unknown) => e instanceof MechEditError && /source checkpoint/.test(e.message));
  assert.throws(() => writeEdit(path.join(tmp, 'elsewhere', '..', 'gpt2-tiny', 'e.json'), edit('a'), dims, model.checkpoint), refused('gpt2-tiny'));

  // A Hugging Face cache checkpoint: its snapshot, blobs/ and the models--… root are all off limits.
  const hfModel = LoadedModel.open(hf, { provider: 'cpu', threads: 1 });
  for (const out of [path.join(hf, 'blobs', 'e.json'), path.join(hf, 'edits'), path.join(hfModel.checkpoint.dir, 'x.json')]) {
    assert.throws(() => writeEdit(out, edit('a'), dims, hfModel.checkpoint), (e: unknown) => e instanceof MechEditError && /source checkpoint/.test(e.message), out);
  }

  // Weights symlinked from another folder: that folder is the checkpoint's too.
  const weights = path.join(tmp, 'weights-store');
  fs.mkdirSync(weights);
  fs.copyFileSync(path.join(tiny, 'model.safetensors'), path.join(weights, 'model.safetensors'));
  const linked = path.join(tmp, 'linked-model');
  fs.mkdirSync(linked);
  for (const f of ['config.json', 'tokenizer.json']) fs.copyFileSync(path.join(tiny, f), path.join(linked, f));
  fs.symlinkSync(path.join(weights, 'model.safetensors'), path.join(linked, 'model.safetensors'));
  const linkedModel = LoadedModel.open(linked, { provider: 'cpu', threads: 1 });
  assert.throws(() => writeEdit(path.join(weights, 'e.json'), edit('a'), dims, linkedModel.checkpoint), refused('weights-store'));

  // Files MechEdit did not write are not replaced: a JSON that is not an edit, a .safetensors
  // without the edit format in its metadata (a hard link to the weights, say).
  const ws = path.join(tmp, 'ws');
  fs.mkdirSync(ws);
  fs.writeFileSync(path.join(ws, 'notes.json'), '{"mine": true}\n');
  assert.throws(() => writeEdit(path.join(ws, 'notes.json'), edit('a'), dims, model.checkpoint), refused('notes.json'));
  fs.linkSync(path.join(tiny, 'model.safetensors'), path.join(ws, 'weights.safetensors'));
  assert.throws(() => writeEdit(path.join(ws, 'weights.json'), edit('a'), dims, model.checkpoint), refused('weights.safetensors'));
  assert.equal(fs.readFileSync(path.join(ws, 'notes.json'), 'utf8'), '{"mine": true}\n');
  assert.ok(!fs.existsSync(path.join(ws, 'weights.json')), 'nothing written for a refused edit');

  // Its own files it replaces: writing the same edit again, by name and into a folder.
  const file = writeEdit(path.join(ws, 'mine.json'), edit('a'), dims, model.checkpoint);
  assert.equal(writeEdit(path.join(ws, 'mine.json'), edit('b'), dims, model.checkpoint), file);
  assert.equal(readEdit(file).json.id, 'b');
  const inFolder = writeEdit(path.join(ws, 'edits'), edit('c'), dims, model.checkpoint);
  assert.equal(writeEdit(path.join(ws, 'edits'), edit('c'), dims, model.checkpoint), inFolder);
});

test('bake refuses the source checkpoint and folders it did not make, and replaces its own output', async () => {
  const stack = new EditStack(model);
  stack.apply(readEdit(writeEdit(path.join(tmp, 'bake-edits'), edit('bk'), dims, model.checkpoint)));
  assert.throws(() => bake(stack.model, path.join(tiny, 'baked'), stack.list()), refused(tiny));
  assert.throws(() => bake(stack.model, tmp, stack.list()), (e: unknown) => e instanceof MechEditError && /not empty/.test(e.message), 'a folder with other things in it');
  const out = path.join(tmp, 'baked');
  bake(stack.model, out, stack.list());
  const marker = JSON.parse(fs.readFileSync(path.join(out, 'mechedit-bake.json'), 'utf8'));
  assert.equal(marker.format, 'mechedit-bake/1');
  assert.equal(marker.complete, true);
  const first = fs.readFileSync(path.join(out, 'model.safetensors'));
  bake(stack.model, out, stack.list()); // a previous bake's folder: replaced
  assert.deepEqual(fs.readFileSync(path.join(out, 'model.safetensors')), first);
  // The baked model opened, then baked into itself: refused.
  const baked = LoadedModel.open(out, { provider: 'cpu', threads: 1 });
  assert.throws(() => bake(baked, out, []), refused(out));
  await baked.release();

  // Through the CLI, before any weight is read.
  const r = cli('bake', '--model', tiny, '--edits', stack.list()[0].file!, '--out', path.join(tiny, 'baked'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.json.error!.message, /source checkpoint/);
  assert.equal(r.json.error!.file, path.join(tiny, 'baked'));
});

test('mechedit edit … --out inside the checkpoint or over a foreign file is refused before computing', () => {
  const u = path.join(tmp, 'u.npy');
  const v = path.join(tmp, 'v.npy');
  npy(u, new Float32Array(w.out).fill(0.3));
  npy(v, new Float32Array(w.in).fill(0.3));
  // The reported case: --out model.json beside the checkpoint's model.safetensors.
  const r = cli('edit', 'import', '--model', tiny, '--layer', '1', '--u', u, '--v', v, '--out', path.join(tiny, 'model.json'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.json.error!.message, /source checkpoint/);
  assert.equal(r.json.error!.file, tiny);
  // Checked first: a ROME request missing --subject still fails on --out.
  const early = cli('edit', 'rome', '--model', tiny, '--provider', 'cpu', '--out', path.join(tiny, 'edits'));
  assert.equal(early.status, 2, early.stderr);
  assert.match(early.json.error!.message, /source checkpoint/);
  // A file that is not an edit, beside a fine place.
  fs.mkdirSync(path.join(tmp, 'cli-ws'));
  fs.writeFileSync(path.join(tmp, 'cli-ws', 'x.safetensors'), 'not mine');
  const foreign = cli('edit', 'import', '--model', tiny, '--layer', '1', '--u', u, '--v', v, '--out', path.join(tmp, 'cli-ws', 'x.json'));
  assert.equal(foreign.status, 2, foreign.stderr);
  assert.equal(foreign.json.error!.file, path.join(tmp, 'cli-ws', 'x.safetensors'));
  assert.equal(fs.readFileSync(path.join(tmp, 'cli-ws', 'x.safetensors'), 'utf8'), 'not mine');
});

test('run folders (evoke, ort, merge): not in the checkpoint, not over a folder MechEdit did not make', () => {
  const evoke = cli('evoke', '--model', dflt, '--provider', 'cpu', '--data', path.join(dflt, 'eval', 'evoke.json'), '--limit', '1', '--out', path.join(dflt, 'eval', 'run'));
  assert.equal(evoke.status, 2, evoke.stderr);
  assert.match(evoke.json.error!.message, /source checkpoint/);
  const ort = cli('ort', '--model', dflt, '--provider', 'cpu', '--target', path.join(dflt, 'eval', 'ort'), '--out', dflt);
  assert.equal(ort.status, 2, ort.stderr);
  assert.match(ort.json.error!.message, /source checkpoint/);
  // A folder of the user's: refused by every run command; merge reads no checkpoint but the rule holds.
  const theirs = path.join(tmp, 'theirs');
  fs.mkdirSync(theirs);
  fs.writeFileSync(path.join(theirs, 'summary.json'), '{"mine": 1}');
  for (const r of [
    cli('evoke', '--model', dflt, '--provider', 'cpu', '--data', path.join(dflt, 'eval', 'evoke.json'), '--limit', '1', '--out', theirs),
    cli('ort', '--model', dflt, '--provider', 'cpu', '--target', path.join(dflt, 'eval', 'ort'), '--out', theirs),
    cli('merge', '--out', theirs, path.join(tmp, 'no-such-run')),
  ]) {
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.json.error!.message, /not empty and is not a MechEdit run folder/);
    assert.equal(r.json.error!.file, theirs);
  }
  assert.equal(fs.readFileSync(path.join(theirs, 'summary.json'), 'utf8'), '{"mine": 1}');
  // A run folder of MechEdit's is fine (evoke's own folder, run again with --resume).
  const mine = path.join(tmp, 'evoke-run');
  const first = cli('evoke', '--model', dflt, '--provider', 'cpu', '--data', path.join(dflt, 'eval', 'evoke.json'), '--limit', '1', '--out', mine);
  assert.equal(first.status, 0, first.stderr);
  const again = cli('evoke', '--model', dflt, '--provider', 'cpu', '--data', path.join(dflt, 'eval', 'evoke.json'), '--limit', '1', '--out', mine, '--resume');
  assert.equal(again.status, 0, again.stderr);
});

test('the engine refuses an outDir in the checkpoint before computing an edit or a run', async () => {
  const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
  after(() => client.dispose());
  await client.request('model/open', { path: dflt });
  const inModel = (e: EngineError) => e.data.code === 'bad-input' && /source checkpoint/.test(e.data.message) && !!e.data.file?.startsWith(dflt);
  // Checked before the request's other fields: an empty concept would be refused next.
  await assert.rejects(client.request('edits/rocr', { concept: '', harmless: '', outDir: path.join(dflt, 'edits') }), inModel);
  await assert.rejects(client.request('edits/fact', { method: 'rome', requests: [], outDir: dflt }), inModel);
  await assert.rejects(client.request('diagnostics/run', { kind: 'evoke', limit: 1, outDir: path.join(dflt, 'diag') }), inModel);
  // The engine is alive and the stack untouched.
  const p = await client.request('model/predict', { prompt: 'the cat', top: 2 });
  assert.equal(p.next.length, 2);
});

test('a MechEdit cache inside the checkpoint (MECHEDIT_CACHE) is refused before anything is cached', () => {
  const cache = process.env.MECHEDIT_CACHE;
  process.env.MECHEDIT_CACHE = path.join(tiny, '.mechedit-cache');
  try {
    assert.throws(() => LoadedModel.open(tiny, { provider: 'cpu', threads: 1 }), (e: unknown) => e instanceof MechEditError && /MechEdit cache/.test(e.message) && /MECHEDIT_CACHE/.test(e.data.hint ?? ''));
  } finally {
    process.env.MECHEDIT_CACHE = cache;
  }
});

test('the checkpoints are byte for byte as they were, with no file added', () => {
  assert.deepEqual(snapshot(tiny), before.tiny);
  assert.deepEqual(snapshot(dflt), before.dflt);
  assert.deepEqual(snapshot(hf), before.hf);
});
