// The key statistics cache: keyed (in memory and by file name) on every option that decides C,
// so a request with another sequence length never answers for the default one; concurrent
// requests for one key share one computation, and a cancelled one leaves it to the others.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { KeyStatsCache, statsFile, statsKey, type KeyStats } from '../../src/core/edits/stats';
import type { ForwardOptions } from '../../src/core/graph/forward';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const fixture = (name: string) => path.join(repo, 'test', 'fixtures', 'models', name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-stats-cache-'));
const corpus = path.join(tmp, 'corpus.txt');
fs.writeFileSync(corpus, Array.from({ length: 40 }, (_, i) => `Sentence ${i}: the quick brown fox ${i % 7} jumps over ${i % 5} lazy dogs.`).join('\n'));
const model = LoadedModel.open(fixture('gpt2-tiny'), { provider: 'cpu', threads: 1 });
after(() => model.release());

/** A cache folder of its own: nothing computed earlier is found on disk. */
function freshCache(name: string): void {
  process.env.MECHEDIT_CACHE = path.join(tmp, name);
}

/** Counts the forward passes that accumulate a Gram matrix (one per batch of a computation) while `body` runs. */
async function countingGramRuns<T>(body: () => Promise<T>): Promise<{ result: T; runs: number }> {
  const proto = LoadedModel.prototype as unknown as { run: (o: ForwardOptions, ...rest: unknown[]) => Promise<unknown> };
  const original = proto.run;
  let runs = 0;
  proto.run = function (this: LoadedModel, o: ForwardOptions, ...rest: unknown[]) {
    if (o.gram !== undefined) runs++;
    return original.call(this, o, ...rest);
  };
  try {
    return { result: await body(), runs };
  } finally {
    proto.run = original;
  }
}

const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const opts = { layer: 1, corpus: [corpus], samples: 200, seqLen: 20, batch: 2 };

test('every option that decides C changes the key and the file name; the same options give the same', () => {
  freshCache('keys');
  const base = statsFile(model, opts);
  assert.equal(statsFile(model, { ...opts }), base);
  assert.deepEqual(statsKey(model, opts), statsKey(model, { ...opts, corpus: [path.join(tmp, '.', 'corpus.txt')] }));
  const changed = [{ layer: 2 }, { samples: 201 }, { seqLen: 40 }, { batch: 3 }];
  for (const c of changed) assert.notEqual(statsFile(model, { ...opts, ...c }), base, JSON.stringify(c));
  // The corpus by content: the same name with other bytes is another key.
  const other = path.join(tmp, 'other', 'corpus.txt');
  fs.mkdirSync(path.dirname(other));
  fs.writeFileSync(other, `${fs.readFileSync(corpus, 'utf8')}\nOne more sentence.`);
  assert.notEqual(statsFile(model, { ...opts, corpus: [other] }), base);
  fs.copyFileSync(corpus, other);
  assert.equal(statsFile(model, { ...opts, corpus: [other] }), base, 'the same bytes under the same name');
  // Another checkpoint (another fingerprint) with the same shape options.
  const llama = LoadedModel.open(fixture('llama-gqa'), { provider: 'cpu', threads: 1 });
  assert.notEqual(statsKey(llama, opts).fingerprint, statsKey(model, opts).fingerprint);
  assert.notEqual(statsFile(llama, opts), base);
  // Defaults are filled in: seqLen is capped at the context (64 here), so 64 and the default are one key.
  const { seqLen: _s, batch: _b, ...plain } = opts;
  assert.equal(statsKey(model, plain).seqLen, 64);
  assert.equal(statsFile(model, plain), statsFile(model, { ...plain, seqLen: 64, batch: 8 }));
  assert.equal(statsFile(model, { ...plain, seqLen: 500 }), statsFile(model, plain));
  assert.throws(() => statsKey(model, { ...opts, seqLen: 0 }), (e: MechEditError) => e.data.field === 'seqLen' && /whole number ≥ 1, got 0/.test(e.message));
  assert.throws(() => statsKey(model, { ...opts, batch: 1.5 }), (e: MechEditError) => e.data.field === 'batch');
});

test('two concurrent requests for one key share one computation', async () => {
  freshCache('single');
  const single = await countingGramRuns(() => new KeyStatsCache().get(model, opts));
  assert.ok(single.runs >= 3, `a computation of several forward passes (${single.runs})`);
  assert.equal(single.result.cached, false);
  freshCache('concurrent');
  const cache = new KeyStatsCache();
  const progress: number[][] = [[], []];
  const both = await countingGramRuns(() => Promise.all([0, 1].map((i) => cache.get(model, { ...opts, onProgress: (done) => progress[i].push(done) }))));
  assert.equal(both.runs, single.runs, 'the second request computed again');
  const [a, b] = both.result;
  assert.equal(a.C, b.C, 'both requests get the one result');
  assert.equal(a.count, single.result.count);
  assert.ok(maxDiff(a.C, single.result.C) === 0, 'the shared computation is the plain one');
  assert.deepEqual(progress[0], progress[1], 'both requests hear the progress');
  assert.equal(progress[0].length, single.runs);
  // Once loaded, a request computes nothing and reads no file.
  const again = await countingGramRuns(() => cache.get(model, opts));
  assert.equal(again.runs, 0);
  assert.equal(again.result.cached, true);
});

test('a cancelled request leaves the shared computation to the others', async () => {
  freshCache('cancel');
  const cache = new KeyStatsCache();
  let heard = 0;
  const quitter = cache.get(model, { ...opts, onProgress: () => heard++, isCancelled: () => heard >= 1 });
  const stayer = cache.get(model, opts);
  await assert.rejects(quitter, (e: MechEditError) => e.data.code === 'cancelled' && /after \d+ key vectors/.test(e.message));
  const s = await stayer;
  assert.equal(s.cached, false);
  assert.ok(s.count >= opts.samples, `the computation went on to the end (${s.count} key vectors)`);
  // Every request cancelled: the computation stops, nothing is written, and the key can be asked again.
  freshCache('cancel-all');
  const all = new KeyStatsCache();
  const stopped = await countingGramRuns(() => assert.rejects(all.get(model, { ...opts, isCancelled: () => true }), /cancelled after 0 key vectors/));
  assert.equal(stopped.runs, 0);
  assert.ok(!fs.existsSync(statsFile(model, opts)));
  assert.equal((await all.get(model, opts)).cached, false);
});

test('a seqLen-40 request does not answer for the default sequence length', async () => {
  freshCache('seqlen');
  const cache = new KeyStatsCache();
  const plain = { layer: 1, corpus: [corpus], samples: 200 };
  const short = await cache.get(model, { ...plain, seqLen: 40 });
  assert.equal(short.cached, false);
  const dflt = await cache.get(model, plain);
  assert.equal(dflt.cached, false, 'the default request was answered by the seqLen-40 statistics');
  assert.notEqual(dflt.file, short.file);
  assert.ok(maxDiff(dflt.C, short.C) > 0, 'other sequences, other statistics');
  // The default entry equals a fresh default computation (new cache, empty folder).
  freshCache('seqlen-fresh');
  const fresh: KeyStats = await new KeyStatsCache().get(model, plain);
  assert.equal(fresh.count, dflt.count);
  assert.ok(maxDiff(fresh.C, dflt.C) === 0, `differs by ${maxDiff(fresh.C, dflt.C)}`);
  // And from the disk: a new cache in the first folder reads the default file, not the seqLen-40 one.
  freshCache('seqlen');
  const read = await new KeyStatsCache().get(model, plain);
  assert.equal(read.cached, true);
  assert.equal(read.file, dflt.file);
  assert.ok(maxDiff(read.C, dflt.C) < 1e-6 * Math.max(...dflt.C.map(Math.abs)), 'the file holds the default statistics (stored as float32)');
});
