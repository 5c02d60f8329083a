// A model's identity covers its weight bytes: two copies of a checkpoint that differ in one weight
// value (same config.json, same safetensors header: a fine-tune of the same shapes) never share a
// fingerprint, a graph folder, key statistics or edits, and opening one never makes the other
// compute with its weights. The per-file content hashes are cached by file identity.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { readSafetensorsHeader } from '../../src/core/checkpoint/safetensors';
import { hashCacheFile } from '../../src/core/checkpoint/contentHash';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { statsFile } from '../../src/core/edits/stats';
import type { Edit } from '../../src/core/edits/editFile';
import { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-fingerprint-'));
const cache = path.join(tmp, 'cache');
process.env.MECHEDIT_CACHE = cache;
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Files older than the hash cache's "racy" window (2 s), so their hashes are cached. */
const past = (seconds: number) => new Date(Date.now() - seconds * 1000);

function copyModel(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(tiny, dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, f), past(60), past(60));
  return dir;
}

const A = copyModel('A');
const B = copyModel('B');
// B: ln_f.bias[0] += 3, in place (the header, and so every shape and offset, stays the same).
{
  const file = path.join(B, 'model.safetensors');
  const t = readSafetensorsHeader(file).tensors.get('ln_f.bias')!;
  const bytes = fs.readFileSync(file);
  bytes.writeFloatLE(bytes.readFloatLE(t.offset) + 3, t.offset);
  fs.writeFileSync(file, bytes);
  fs.utimesSync(file, past(60), past(60));
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const open = (dir: string) => LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
const ids = [5, 17, 300, 2, 44, 90];
async function logits(m: LoadedModel): Promise<Float32Array> {
  return (await m.run({ logits: 'all' }, m.makeBatch([ids]))).logits.data as Float32Array;
}

function manualEdit(fingerprint: string): Edit {
  return {
    json: { format: 'mechedit-edit/1', id: 'push', label: 'push', method: 'manual', modelFingerprint: fingerprint, targets: [{ layer: 0, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: 'push.safetensors', created: '' },
    tensors: [{ U: new Float32Array(48).fill(0.1), V: new Float32Array(192).fill(0.1) }],
  };
}

test('copies that differ in one weight value: same header, different fingerprints, graph folders, statistics and edits', () => {
  assert.deepEqual(readSafetensorsHeader(path.join(A, 'model.safetensors')).raw, readSafetensorsHeader(path.join(B, 'model.safetensors')).raw, 'the same header');
  assert.notEqual(sha256(path.join(A, 'model.safetensors')), sha256(path.join(B, 'model.safetensors')));
  const a = open(A);
  const b = open(B);
  assert.notEqual(a.checkpoint.fingerprint, b.checkpoint.fingerprint);
  assert.match(a.checkpoint.fingerprint, /^[0-9a-f]{16}$/, 'the format edits and schemas/edit.schema.json expect');
  assert.notEqual(a.graphDir.dir, b.graphDir.dir);
  assert.notEqual(statsFile(a, { layer: 0, corpus: [path.join(tiny, 'config.json')], samples: 100 }), statsFile(b, { layer: 0, corpus: [path.join(tiny, 'config.json')], samples: 100 }));
  // An edit made on A is refused by B's stack, naming the field; A's own stack takes it.
  const edit = manualEdit(a.checkpoint.fingerprint);
  new EditStack(a).check(edit);
  assert.throws(() => new EditStack(b).check(edit), (e: unknown) => e instanceof MechEditError && e.data.field === 'modelFingerprint');
  // The same bytes elsewhere are the same model.
  assert.equal(open(copyModel('A2')).checkpoint.fingerprint, a.checkpoint.fingerprint);
});

test('opening A, then B, then A again: A computes with its own weights every time', async () => {
  // A's logits from a cache B has never touched.
  process.env.MECHEDIT_CACHE = path.join(tmp, 'cache-reference');
  const reference = await logits(open(A));
  process.env.MECHEDIT_CACHE = cache;

  const a = open(A); // sessions are made on the first run, after B is opened
  const b = open(B);
  const la = await logits(a);
  const lb = await logits(b);
  const la2 = await logits(open(A));
  assert.deepEqual(la, reference, "A's first run computes A");
  assert.notDeepEqual(lb, reference, "B's run computes B");
  assert.deepEqual(la2, reference, 'A opened again computes A');
  // The graph folders hold each model's own bytes.
  assert.equal(sha256(path.join(a.graphDir.dir, 'model.safetensors')), sha256(path.join(A, 'model.safetensors')));
  assert.equal(sha256(path.join(b.graphDir.dir, 'model.safetensors')), sha256(path.join(B, 'model.safetensors')));
});

test('the content hash is cached by file identity and recomputed when the file changes', () => {
  const file = fs.realpathSync(path.join(A, 'model.safetensors'));
  const truth = openCheckpoint(A).fingerprint;
  const entries = () => JSON.parse(fs.readFileSync(hashCacheFile(), 'utf8')).files as Record<string, { sha256: string }>;
  assert.equal(entries()[file].sha256, sha256(file), 'the cache holds the sha256 of the bytes');

  // A hit: the cached value is used as it is (a forged entry shows through), with no re-read.
  const forged = { ...JSON.parse(fs.readFileSync(hashCacheFile(), 'utf8')) };
  forged.files[file] = { ...forged.files[file], sha256: '0'.repeat(64) };
  fs.writeFileSync(hashCacheFile(), JSON.stringify(forged));
  assert.notEqual(openCheckpoint(A).fingerprint, truth, 'the second open reads the cache');

  // Touched (mtime changed): hashed again, the entry replaced.
  fs.utimesSync(file, past(30), past(30));
  assert.equal(openCheckpoint(A).fingerprint, truth);
  assert.equal(entries()[file].sha256, sha256(file));

  // A file written just now is hashed but not cached (a second write in the same mtime tick
  // could otherwise go unseen); it is cached once it is older.
  const fresh = copyModel('fresh');
  const freshFile = fs.realpathSync(path.join(fresh, 'model.safetensors'));
  fs.utimesSync(freshFile, new Date(), new Date());
  assert.equal(openCheckpoint(fresh).fingerprint, truth);
  assert.equal(entries()[freshFile], undefined);
  fs.utimesSync(freshFile, past(10), past(10));
  openCheckpoint(fresh);
  assert.equal(entries()[freshFile].sha256, sha256(file));
});
