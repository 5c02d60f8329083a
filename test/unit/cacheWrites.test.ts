// Writes into the shared cache (MECHEDIT_CACHE; the nodes of a cluster share it) go to a temp
// name no other writer uses, then are renamed. A process on another host can have the same
// process id: a temp named only by the pid is stood in for here by a folder at that name, which
// makes a write to it fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { keyStats, statsFile } from '../../src/core/edits/stats';
import { copyFileAtomic, tempBeside, writeFileAtomic } from '../../src/core/atomicWrite';
import { f32Tensor, writeSafetensors } from '../../src/core/checkpoint/writeSafetensors';
import { readSafetensorsHeader } from '../../src/core/checkpoint/safetensors';

const repo = path.join(__dirname, '..', '..', '..');
const fixture = path.join(repo, 'test', 'fixtures', 'models', 'llama3-scaled');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-cachewrites-'));
const useCache = (name: string) => (process.env.MECHEDIT_CACHE = path.join(tmp, name));
useCache('first');

/** Blocks the names a writer on another host with our process id would use. */
function occupyPidTemps(file: string): void {
  fs.mkdirSync(`${file}.${process.pid}.tmp`, { recursive: true });
  fs.mkdirSync(`${file}.${process.pid}.${os.hostname()}.tmp`, { recursive: true });
}

test('temp names differ per call and carry the host name', () => {
  const target = path.join(tmp, 'x.json');
  const a = tempBeside(target);
  const b = tempBeside(target);
  assert.notEqual(a, b);
  assert.ok(a.startsWith(`${target}.`) && a.includes(os.hostname().replace(/[^A-Za-z0-9.-]/g, '_')) && a.includes(String(process.pid)));
  writeFileAtomic(target, '{"a":1}');
  copyFileAtomic(target, path.join(tmp, 'y.json'));
  assert.equal(fs.readFileSync(path.join(tmp, 'y.json'), 'utf8'), '{"a":1}');
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temp file is left');
});

test('graphs are written to a temp name unique across hosts', async () => {
  const pairs = [{ prompt: 'The cat', answer: 'sat' }];
  const first = LoadedModel.open(fixture, { provider: 'cpu', threads: 1 });
  const expected = await scoreAnswers(first, pairs);
  const graphs = first.graphDir.dir;
  const names = fs.readdirSync(graphs).filter((f) => f.endsWith('.onnx'));
  assert.ok(names.length > 0);
  await first.release();

  useCache('second');
  const again = path.join(process.env.MECHEDIT_CACHE!, 'graphs', path.basename(graphs));
  for (const n of names) occupyPidTemps(path.join(again, n));
  const second = LoadedModel.open(fixture, { provider: 'cpu', threads: 1 });
  assert.equal(second.graphDir.dir, again);
  assert.deepEqual(await scoreAnswers(second, pairs), expected);
  await second.release();
});

test('key statistics are written to a temp name unique across hosts', async () => {
  useCache('third');
  const corpus = path.join(tmp, 'corpus.txt');
  fs.writeFileSync(corpus, Array.from({ length: 20 }, (_, i) => `Line ${i} of a small corpus about ${i % 3} foxes.`).join('\n'));
  const model = LoadedModel.open(fixture, { provider: 'cpu', threads: 1 });
  const file = statsFile(model, { layer: 0, corpus: [corpus], samples: 64 });
  occupyPidTemps(file);
  const s = await keyStats(model, { layer: 0, corpus: [corpus], samples: 64 });
  assert.equal(s.file, file);
  assert.ok(fs.statSync(file).isFile());
  assert.deepEqual(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp') && fs.statSync(path.join(path.dirname(file), f)).isFile()), []);
  await model.release();
});

test('safetensors files are written to a temp name unique across hosts, removed when a tensor fails', () => {
  const dir = path.join(tmp, 'st');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'v.safetensors');
  occupyPidTemps(file);
  writeSafetensors(file, [f32Tensor('U', [2], new Float32Array([1, 2]))], { format: 'test' });
  assert.deepEqual(readSafetensorsHeader(file).metadata, { format: 'test' });
  const short = { name: 'V', dtype: 'F32' as const, shape: [4], produce: (write: (c: Uint8Array) => void) => write(new Uint8Array(4)) };
  assert.throws(() => writeSafetensors(file, [short]), /tensor V: wrote 4 bytes, expected 16/);
  assert.deepEqual(readSafetensorsHeader(file).metadata, { format: 'test' }, 'the file before the failed write is kept');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp') && fs.statSync(path.join(dir, f)).isFile()), [], 'no temp file is left');
});
