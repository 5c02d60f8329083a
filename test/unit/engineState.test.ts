// Engine state per request: an edit job captures the user's stack when it starts. A model
// reopened while a ROME edit is computed gets nothing (the file is written, the edit is not
// applied anywhere, and the answer says so); an undisturbed job applies to its stack. The same
// edit through 'edits/run' and `mechedit edit rome` gives the same file contents, and the same bad
// setting the same error (field by name in the engine, by flag in the CLI).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { readEdit } from '../../src/core/edits/editFile';
import { encodeVector } from '../../src/protocol/tensor';
import { writeNpy } from './npy';

const repo = path.join(__dirname, '..', '..', '..');
const dflt = path.join(repo, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-engine-state-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());
const request = { subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' };

test('a model reopened during an edit job: the edit is written, applied to no stack, and the answer says so', async () => {
  await client.request('model/open', { path: dflt });
  let reopened: Promise<unknown> | undefined;
  const job = client.request('edits/run', { method: 'rome', requests: [request], outDir: path.join(tmp, 'a') }, {
    onProgress: (p) => {
      if (!reopened && /v\* step/.test(p.message ?? '')) reopened = client.request('model/open', { path: dflt });
    },
  });
  const r = await job;
  await reopened;
  assert.ok(reopened, 'the model was reopened while the v* loop ran');
  assert.equal(r.applied, false);
  assert.match(r.health.warnings[0], /not applied: the model was reopened or closed while the edit was computed/);
  assert.ok(fs.existsSync(r.file), 'the file is written');
  assert.deepEqual((await client.request('edits/list', {})).items, [], 'the reopened model\'s stack is untouched');
});

test('an undisturbed edit job applies to the stack it started on; engine and CLI write the same edit', async () => {
  await client.request('model/open', { path: dflt });
  const r = await client.request('edits/run', { method: 'rome', requests: [request], settings: { seed: 3, label: 'born elsewhere' }, outDir: path.join(tmp, 'b') });
  assert.equal(r.applied, true);
  assert.deepEqual((await client.request('edits/list', {})).items.map((i) => [i.id, i.label]), [[r.id, 'born elsewhere']], 'seed and label reach the engine');
  const cli = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'edit', 'rome', '--model', dflt, '--provider', 'cpu', '--subject', request.subject, '--prompt', request.prompt, '--target', request.target, '--seed', '3', '--label', 'born elsewhere', '--out', path.join(tmp, 'c'), '--json'], { encoding: 'utf8', env: process.env });
  assert.equal(cli.status, 0, cli.stderr);
  const a = readEdit(r.file);
  const b = readEdit(JSON.parse(cli.stdout).file);
  const { computeMs: _a, ...ha } = a.json.hparams ?? {};
  const { computeMs: _b, ...hb } = b.json.hparams ?? {};
  assert.deepEqual(ha, hb, 'the same resolved settings');
  assert.equal(ha.seed, 3);
  assert.deepEqual(a.tensors, b.tensors, 'the same factors, bit for bit');
});

test('the same bad setting: the same message and field in the engine and the CLI', async () => {
  await client.request('model/open', { path: dflt });
  const cases: [string, Record<string, unknown>, string[], string][] = [
    ['glame', { subgraphSize: 0 }, ['--subgraph-size', '0'], 'subgraphSize'],
    ['rome', { steps: 1e9 }, ['--steps', '1000000000'], 'steps'],
    ['memit', { lambda: 0 }, ['--lambda', '0'], 'lambda'],
    ['rome', { layer: 99 }, ['--layer', '99'], 'layer'],
  ];
  for (const [method, settings, flags, field] of cases) {
    let e: EngineError | undefined;
    await client.request('edits/run', { method, settings, requests: [request], outDir: path.join(tmp, 'd') }).catch((x: EngineError) => (e = x));
    assert.ok(e, `${method} ${JSON.stringify(settings)} is refused by the engine`);
    assert.equal(e.data.field, field);
    const cli = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'edit', method, '--model', dflt, '--provider', 'cpu', '--subject', request.subject, '--prompt', request.prompt, '--target', request.target, ...flags, '--out', path.join(tmp, 'd'), '--json'], { encoding: 'utf8', env: process.env });
    assert.equal(cli.status, 2, cli.stderr);
    const c = JSON.parse(cli.stdout).error;
    assert.equal(c.field, flags[0]);
    assert.equal(c.message, `${flags[0]}${e.data.message.slice(field.length)}`, 'the same message, the flag in place of the field');
  }
  await assert.rejects(client.request('edits/run', { method: 'tarot', outDir: path.join(tmp, 'd') }), (x: EngineError) => x.data.field === 'method' && /rome, memit/.test(x.data.hint ?? ''));
  await assert.rejects(client.request('edits/run', { method: 'rome', settings: { krd: 'x' }, requests: [request], outDir: path.join(tmp, 'd') }), (x: EngineError) => x.data.field === 'krd' && /Unknown setting/.test(x.message));
  assert.ok(!fs.existsSync(path.join(tmp, 'd')) || fs.readdirSync(path.join(tmp, 'd')).length === 0, 'nothing was written');
});

test('ROCR and directional ablation: the engine and the CLI write the same edit', async () => {
  await client.request('model/open', { path: dflt });
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'edit', ...args, '--model', dflt, '--provider', 'cpu', '--json'], { encoding: 'utf8', env: process.env });
  const same = (a: string, b: string, what: string) => {
    const x = readEdit(a);
    const y = readEdit(b);
    assert.deepEqual(x.json.targets, y.json.targets, `${what}: the same targets`);
    assert.deepEqual(x.tensors, y.tensors, `${what}: the same factors, bit for bit`);
    const { computeMs: _x, ...hx } = x.json.hparams ?? {};
    const { computeMs: _y, ...hy } = y.json.hparams ?? {};
    assert.deepEqual(hx, hy, `${what}: the same resolved settings`);
  };
  const rocr = await client.request('edits/rocr', { concept: 'Veltrazine', harmless: 'Brindlecake', lambda: 10, outDir: path.join(tmp, 'rocr-e') });
  const r = cli('rocr', '--concept', 'Veltrazine', '--to', 'Brindlecake', '--lambda', '10', '--out', path.join(tmp, 'rocr-c'));
  assert.equal(r.status, 0, r.stderr);
  same(rocr.file, JSON.parse(r.stdout).file, 'ROCR');
  const d = 128;
  const direction = Float32Array.from({ length: d }, (_, i) => Math.sin(i + 1));
  const npy = path.join(tmp, 'direction.npy');
  writeNpy(npy, 1, d, direction);
  const ablated = await client.request('edits/ablate', { direction: encodeVector(direction), layers: [1, 2], modules: ['mlp.out'], label: 'ablate', outDir: path.join(tmp, 'ablate-e') });
  const a = cli('ablate', '--direction', npy, '--layers', '1,2', '--modules', 'mlp.out', '--label', 'ablate', '--out', path.join(tmp, 'ablate-c'));
  assert.equal(a.status, 0, a.stderr);
  same(ablated.file, JSON.parse(a.stdout).file, 'ablation');
  await assert.rejects(client.request('edits/ablate', { direction: encodeVector(direction), layers: [9], outDir: path.join(tmp, 'ablate-e') }), (e: EngineError) => e.data.field === 'layers');
  const bad = cli('ablate', '--direction', npy, '--layers', '9', '--out', path.join(tmp, 'ablate-c'));
  assert.equal(JSON.parse(bad.stdout).error.field, '--layers');
});
