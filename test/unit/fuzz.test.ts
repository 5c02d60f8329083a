// Fuzz test of every parser of user input: mutations of valid inputs (the gpt2-tiny checkpoint's
// safetensors header, config.json and tokenizer.json; an edit file and its sidecar; a .npy) and
// random or malformed request parameters sent to the engine. Each variant must end in success or
// a MechEditError (bad-input / not-found) naming the file and/or field: no stack trace, no crash,
// no hang. Parsers run in a worker thread with a per-variant timeout and a capped heap.
//
// Seeded: MECHEDIT_FUZZ_SEED (default 15) picks the variants; variant i of a parser is drawn from
// its own stream, so a failure printed as "seed S, <parser> #i" reproduces alone.
// MECHEDIT_FUZZ=N runs N variants per parser and per kind of input file (INPUT_KINDS of
// src/core/inputs.ts, each through the readers of fuzz/gateReaders.ts: special files, BOMs, huge
// finite numbers, mutations), 3N engine requests over every method of ENGINE_METHODS (default 250
// in CI; e.g. MECHEDIT_FUZZ=2000). The kinds' table is printed by "fuzz: the table of file kinds".

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { execFileSync, fork } from 'node:child_process';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { ENGINE_METHODS, type EngineMethod } from '../../src/protocol/engine';
import { INPUT_KINDS, type InputKind } from '../../src/core/inputs';
import { GATE_READERS } from './fuzz/gateReaders';
import { makeKindVariant, samples, type Specials } from './fuzz/kinds';
import { Rng, mutateJson, oddValue } from './fuzz/random';
import { ParserHost } from './fuzz/host';
import { Tally } from './fuzz/tally';
import { loadBase, makeConfig, makeEdit, makeNpy, makeSafetensors, makeTokenizer, safetensorsBytes, type Base, type Variant } from './fuzz/variants';
import type { Target } from './fuzz/worker';
import { encodeVector } from '../../src/protocol/tensor';

const repo = path.join(__dirname, '..', '..', '..');
const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
/** An SAE of gpt2-tiny's blocks.1.resid_post in SAELens format (tools/sae_reference.py). */
const saeDir = path.join(repo, 'test', 'fixtures', 'sae', 'ours-topk');
const SEED = Number(process.env.MECHEDIT_FUZZ_SEED ?? 15);
const COUNT = Number(process.env.MECHEDIT_FUZZ ?? 250);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-fuzz-'));
const cache = path.join(tmp, 'cache');
process.env.MECHEDIT_CACHE = cache;
const base = loadBase(tiny);
const host = new ParserHost(10_000, { MECHEDIT_CACHE: cache });
after(async () => {
  await host.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Variant i of stream `name`: its own generator, so one variant reproduces without the others. */
function rngFor(name: string, i: number): Rng {
  let h = SEED >>> 0;
  for (const c of `${name}#${i}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return new Rng(h);
}

function report(tally: Tally, t: { diagnostic(m: string): void }): void {
  t.diagnostic(tally.summary());
  for (const f of tally.failures) t.diagnostic(f);
  assert.equal(tally.bad, 0, `${tally.summary()} (seed ${SEED}: MECHEDIT_FUZZ_SEED=${SEED})\n${tally.failures.join('\n')}`);
}

const parsers: [string, Target, (rng: Rng, dir: string, base: Base) => Variant][] = [
  ['safetensors header', 'checkpoint', makeSafetensors],
  ['config.json → model plan', 'checkpoint', makeConfig],
  ['tokenizer.json', 'tokenizer', makeTokenizer],
  ['edit file', 'edit', makeEdit],
  ['.npy vectors', 'npy', makeNpy],
];

for (const [name, target, make] of parsers) {
  test(`fuzz: ${name} (${COUNT} variants, seed ${SEED})`, async (t) => {
    const tally = new Tally(name);
    const dir = path.join(tmp, target, name.replace(/\W+/g, '-'));
    for (let i = 0; i < COUNT; i++) {
      const { path: input, invalid } = make(rngFor(name, i), dir, base);
      const seen = await host.run(target, input);
      const before = tally.bad;
      tally.add(seen, `seed ${SEED}, ${name} #${i}`, invalid);
      // Keep a failing input for a look (the first few).
      if (tally.bad > before && tally.bad <= 5) fs.cpSync(path.dirname(input) === dir ? dir : input, path.join(tmp, '..', `mechedit-fuzz-failure-${SEED}-${target}-${i}`), { recursive: true });
    }
    report(tally, t);
  });
}

// ---- every kind of file MechEdit reads (the input gate's kinds), through the product's readers ----

const specialsDir = path.join(tmp, 'specials');
fs.mkdirSync(specialsDir, { recursive: true });
const specials: Specials = { fifo: path.join(specialsDir, 'fifo'), socket: path.join(specialsDir, 'socket'), loop: path.join(specialsDir, 'loop-a') };
execFileSync('mkfifo', [specials.fifo]);
fs.symlinkSync(path.join(specialsDir, 'loop-b'), specials.loop);
fs.symlinkSync(specials.loop, path.join(specialsDir, 'loop-b'));
const socketServer = net.createServer().listen(specials.socket);
after(() => socketServer.close());
const kindSamples = samples(repo, base);
/** Per kind: variants, accepted, clean errors, bad (the table the note prints). */
const kindRows: string[] = [];

for (const kind of Object.keys(INPUT_KINDS) as InputKind[]) {
  test(`fuzz: ${kind} files, ${INPUT_KINDS[kind].what} (${COUNT} variants, seed ${SEED})`, async (t) => {
    const readers = GATE_READERS[kind];
    assert.ok(readers.length > 0, `the fuzz has no reader for kind ${kind}`);
    const tally = new Tally(`${kind} files`);
    // Each reader's sample as it is must be read (so that "correct result" means something).
    for (const r of readers) {
      const dir = path.join(tmp, 'gate', kind);
      fs.rmSync(dir, { recursive: true, force: true });
      const v = makeKindVariant(rngFor('unused', 0), r, kindSamples[r.name], dir, base, specials, true);
      const seen = await host.run(`gate:${kind}/${r.name}`, v.path);
      assert.equal(seen.outcome, 'ok', `${kind}/${r.name}: the valid sample was not read: ${JSON.stringify(seen)}`);
    }
    for (let i = 0; i < COUNT; i++) {
      const r = readers[i % readers.length];
      const v = makeKindVariant(rngFor(`gate-${kind}`, i), r, kindSamples[r.name], path.join(tmp, 'gate', kind), base, specials);
      tally.add(await host.run(`gate:${kind}/${r.name}`, v.path), `seed ${SEED}, ${kind} #${i} (${r.name}: ${v.what})`, false, v.valid);
    }
    kindRows.push(`| ${kind} | ${readers.map((r) => r.name).join(', ')} | ${tally.variants} | ${tally.ok} | ${tally.clean} | ${tally.bad} |`);
    report(tally, t);
  });
}

test('fuzz: the table of file kinds', (t) => {
  t.diagnostic('| kind | readers | variants | correct results | clean errors | bad |');
  t.diagnostic('|---|---|---|---|---|---|');
  for (const row of kindRows) t.diagnostic(row);
  assert.equal(kindRows.length, Object.keys(INPUT_KINDS).length, 'every kind ran');
});

// ---- the engine: random and malformed parameters for every method ----

const engineDir = path.join(tmp, 'engine');
fs.mkdirSync(engineDir, { recursive: true });
const editFile = path.join(engineDir, 'fuzz.json');
fs.writeFileSync(path.join(engineDir, 'fuzz.safetensors'), safetensorsBytes(base.sidecarHeader, base.sidecarData));
const corpus = path.join(engineDir, 'corpus.txt');
fs.writeFileSync(corpus, Array.from({ length: 60 }, (_, i) => `line ${i}: the cat sat on the mat and the dog ran.`).join('\n'));
const outDir = path.join(engineDir, 'out');
const requestsFile = path.join(engineDir, 'requests.jsonl');
fs.writeFileSync(requestsFile, ['cat|The {} sat on the|mat', 'dog|The {} ran to the|park'].map((l) => JSON.stringify({ subject: l.split('|')[0], prompt: l.split('|')[1], target: l.split('|')[2] })).join('\n'));
const fact = { subject: 'cat', prompt: 'The {} sat on the', target: 'mat' };
/** A sweep plan (EVOKE, 2 shards, nothing run yet) for sweep/view and sweep/merge. */
const sweepRoot = path.join(engineDir, 'sweep');
execFileSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'sweep', '--diagnostic', 'evoke', '--model', tiny, '--method', 'none', '--shards', '2', '--root', sweepRoot], { stdio: 'ignore' });
const forget = path.join(engineDir, 'forget.jsonl');
fs.writeFileSync(forget, ['the cat sat on the|mat', 'a dog ran to the|park', 'the bird flew over the|house'].map((l) => JSON.stringify({ prompt: l.split('|')[0], answer: l.split('|')[1] })).join('\n'));

/** A valid request per method (cheap on gpt2-tiny), mutated by the fuzz. */
function templates(): [EngineMethod, Record<string, unknown>][] {
  return [
    ['engine/info', {}],
    ['engine/configure', { executionProvider: 'cpu', threads: 1 }],
    ['engine/selfTest', { size: 8, iterations: 2 }],
    ['model/open', { path: tiny }],
    ['model/info', {}],
    ['model/predict', { prompt: 'the cat', top: 3 }],
    ['model/score', { prompt: 'the cat', answers: ['sat', 'ran'] }],
    ['model/trace', { prompt: 'the cat', top: 3, targetId: 5, edits: 'off' }],
    ['model/generate', { prompt: 'the cat', maxTokens: 2, temperature: 0.5, topK: 5, seed: 1, steer: { layer: 1, vector: encodeVector(Array.from({ length: 48 }, () => 0.1)) } }],
    ['model/causalTrace', { prompt: 'the cat sat on the', subject: 'cat', answer: 'mat', samples: 2, window: 1, edits: [] }],
    ['edits/list', {}],
    ['edits/apply', { file: editFile, strength: 1 }],
    ['edits/revert', { id: 'fuzz' }],
    ['edits/revertAll', {}],
    ['edits/setEnabled', { id: 'fuzz', enabled: false }],
    ['edits/scale', { id: 'fuzz', strength: 2 }],
    ['edits/reorder', { ids: ['fuzz'] }],
    ['edits/stats', { layer: 1, corpus: [corpus], samples: 50 }],
    ['edits/rocr', { concept: 'cat', harmless: 'dog', layers: [1], lambda: 1, positions: 'last', regularizer: 'identity', outDir }],
    ['edits/fact', { method: 'rome', requests: [fact], layer: 1, outDir, force: true, apply: 'always' }],
    ['edits/checkFact', { requests: [fact] }],
    ['edits/ablate', { direction: encodeVector(Array.from({ length: 48 }, (_, i) => (i === 0 ? 1 : 0))), layers: [1], modules: ['mlp.out'], outDir }],
    ['concepts/direction', { positive: ['a cat', 'the cat'], negative: ['a dog', 'the dog'], top: 3 }],
    ['diagnostics/run', { kind: 'evoke', outDir, limit: 2 }],
    ['diagnostics/edit', { file: editFile }],
    ['edits/compare', { file: editFile, top: 3, maxTokens: 2, probe: true }],
    ['unlearn/material', { forget, retain: forget }],
    ['unlearn/run', { method: 'graddiff', forget, retain: forget, layers: [1], rank: 2, steps: 2, lr: 0.001, outDir }],
    ['registry/describe', {}],
    ['edits/run', { method: 'rome', requests: [fact], settings: { layer: 1, steps: 2 }, outDir, apply: 'never' }],
    ['lifelong/run', { method: 'rome', requestsFile, batch: 1, every: 1, out: path.join(engineDir, 'lifelong'), settings: { layer: 1 } }],
    ['model/patch', { clean: 'the cat sat on the', corrupt: 'the dog sat on the', answer: 'mat', wrong: 'park', method: 'exact', nodes: ['resid', 'heads'], metric: 'logit-diff' }],
    ['model/attention', { prompt: 'the cat sat on the', layer: 1, head: 0 }],
    ['sae/tokens', { sae: saeDir, prompt: 'the cat sat on the', top: 3 }],
    ['sae/feature', { sae: saeDir, feature: 3, corpus: [corpus], tokens: 200 }],
    ['sweep/view', { root: sweepRoot }],
    ['sweep/merge', { root: sweepRoot }],
    ['model/close', {}],
  ];
}

/** Paths that must be refused wherever a request names a file: special files and folders. */
const SPECIAL_PATHS = () => [specials.fifo, specials.socket, specials.loop, '/dev/zero', '/dev/null', '/dev/urandom', engineDir];

/** A path-valued field of `params` (a file to read) replaced by a special file, or undefined when it has none. */
function withSpecialPath(rng: Rng, params: Record<string, unknown>): Record<string, unknown> | undefined {
  const keys = Object.keys(params).filter((k) => ['file', 'forget', 'retain', 'requestsFile', 'corpus', 'path', 'graph', 'data', 'sae', 'root'].includes(k));
  if (!keys.length) return undefined;
  const k = rng.pick(keys);
  const special = rng.pick(SPECIAL_PATHS());
  return { ...params, [k]: Array.isArray(params[k]) ? [special] : special };
}

/** The engine's methods (ENGINE_METHODS): three times as many variants as a parser, each method about as many as the others. */
const ENGINE_COUNT = 3 * COUNT;

test(`fuzz: engine requests (${ENGINE_COUNT} variants, seed ${SEED})`, async (t) => {
  const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 }, env: { MECHEDIT_CACHE: cache }, timeoutMs: 30_000 });
  t.after(() => client.dispose());
  const info = await client.request('model/open', { path: tiny });
  fs.writeFileSync(editFile, JSON.stringify({ ...base.edit, modelFingerprint: info.fingerprint }));
  const tally = new Tally('engine requests');
  const all = templates();
  const missing = ENGINE_METHODS.filter((m) => !all.some(([t]) => t === m));
  assert.deepEqual(missing, [], 'every request of the protocol has a template');
  for (let i = 0; i < ENGINE_COUNT; i++) {
    const rng = rngFor('engine', i);
    const [method, valid] = all[i % all.length];
    // Mostly one to three wrong fields; sometimes params that are not an object at all.
    const params = rng.chance(0.1) ? oddValue(rng) : (rng.chance(0.15) && withSpecialPath(rng, valid)) || mutateJson(rng, valid);
    const label = `seed ${SEED}, engine #${i} ${method} ${JSON.stringify(params)?.slice(0, 200)}`;
    // Methods that act on an applied edit get one to act on.
    if (['edits/revert', 'edits/setEnabled', 'edits/scale', 'edits/reorder'].includes(method)) await client.request('edits/apply', { file: editFile });
    const pid = client.pid;
    let seen: Parameters<Tally['add']>[0];
    try {
      await client.request(method, params as never);
      seen = { outcome: 'ok' };
    } catch (e) {
      const d = (e as EngineError).data;
      if (d?.code === 'timeout') seen = { outcome: 'hang' };
      else if (d?.code === 'crashed' || client.pid !== pid) seen = { outcome: 'crash', message: d?.message };
      else seen = { outcome: 'error', mechedit: d?.code !== 'internal', code: d?.code, file: d?.file, field: d?.field, message: d?.message, stack: d?.detail };
    }
    // What a request left must still compute finite numbers (no NaN from an unchecked value).
    if (seen.outcome === 'ok' || seen.outcome === 'error') {
      try {
        if (!(await client.request('model/info', {}))) await client.request('model/open', { path: tiny });
        await client.request('engine/configure', { executionProvider: 'cpu', threads: 1 });
        const p = await client.request('model/predict', { prompt: 'the cat sat', top: 3 });
        if (!p.next.every((x) => Number.isFinite(x.logprob))) seen = { outcome: 'error', mechedit: false, message: `left the model computing ${p.next.map((x) => x.logprob)}` };
        await client.request('edits/revertAll', {});
      } catch (e) {
        seen = { outcome: 'crash', message: `the engine failed afterwards: ${(e as Error).message}` };
      }
    }
    if (seen.outcome === 'hang' || seen.outcome === 'crash') {
      await client.restart();
      await client.request('model/open', { path: tiny });
    }
    tally.add(seen, label);
  }
  report(tally, t);
});

// ---- the engine's message channel: raw JSON-RPC messages, malformed ----

test(`fuzz: raw JSON-RPC messages to the engine (${COUNT} variants, seed ${SEED})`, async (t) => {
  const child = fork(path.join(repo, 'out', 'src', 'engine', 'main.js'), [], { env: { ...process.env, MECHEDIT_CACHE: cache }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += String(d)));
  const answers = new Map<unknown, { result?: unknown; error?: { code: number; data?: { code?: string } } }>();
  child.on('message', (m: { id?: unknown; result?: unknown; error?: { code: number } }) => {
    if (m && m.id !== undefined) answers.set(m.id, m);
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`exit ${code ?? signal}`)));
  t.after(() => child.kill());
  const valid = [
    { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 1 } },
    { jsonrpc: '2.0', method: '$/setTrace', params: { value: 'off' } },
    { jsonrpc: '2.0', method: '$/progress', params: { token: 'x', value: 1 } },
    { jsonrpc: '2.0', id: 1, method: 'engine/info', params: {} },
    { jsonrpc: '2.0', id: 1, method: 'model/info', params: {} },
    { jsonrpc: '2.0', id: 1, method: 'edits/list', params: {} },
    { jsonrpc: '2.0', id: 1, result: {} },
  ];
  const tally = new Tally('raw messages');
  for (let i = 0; i < COUNT; i++) {
    const rng = rngFor('raw', i);
    const message = rng.chance(0.1) ? oddValue(rng) : mutateJson(rng, rng.pick(valid));
    child.send(message as object);
    // Then a request the engine must answer: it is alive and its channel still works.
    const id = `probe-${i}`;
    child.send({ jsonrpc: '2.0', id, method: 'engine/info', params: {} });
    const deadline = Date.now() + 10_000;
    let outcome: 'ok' | 'hang' | 'crash' = 'hang';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        outcome = 'crash';
        break;
      }
      if (answers.get(id)?.result) {
        outcome = 'ok';
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    tally.add(outcome === 'crash' ? { outcome, message: `${await exited}: ${stderr.slice(-300)}` } : { outcome }, `seed ${SEED}, raw #${i} ${JSON.stringify(message)?.slice(0, 200)}`);
    if (outcome !== 'ok') break;
  }
  report(tally, t);
});
