// The input gate (src/core/inputs.ts), bounded numbers (src/core/numbers.ts, weightScan.ts),
// "empty is an error" (records.ts refuseEmpty) and the engine's protocol answers: every case of
// issue 32's Done-when list that is this file's, through core, the CLI and the engine.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fork, spawnSync, execFileSync } from 'node:child_process';
import { checkInput, INPUT_KINDS, readInputJson, readInputText, type InputKind } from '../../src/core/inputs';
import { MechEditError, toErrorData } from '../../src/core/errors';
import { readRequests } from '../../src/core/edits/requests';
import { readEdit, writeEdit } from '../../src/core/edits/editFile';
import { LoadedModel } from '../../src/core/runtime/model';
import { openCheckpoint } from '../../src/core/checkpoint/checkpoint';
import { scanWeightFile } from '../../src/core/checkpoint/weightScan';
import { readSafetensorsHeader } from '../../src/core/checkpoint/safetensors';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { readUserText } from '../../src/extension/readGuard';

const repo = path.join(__dirname, '..', '..', '..');
const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const cliMain = path.join(repo, 'out', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-gate-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fifo = path.join(tmp, 'pipe.fifo');
execFileSync('mkfifo', [fifo]);
const folder = path.join(tmp, 'a-folder');
fs.mkdirSync(folder);
const loop = path.join(tmp, 'loop');
fs.symlinkSync(path.join(tmp, 'loop2'), loop);
fs.symlinkSync(loop, path.join(tmp, 'loop2'));

/** Runs the CLI with a small heap (reading /dev/zero would crash it) and a hang limit; status, stderr and wall time. */
function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=96', cliMain, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { status: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

function refused(f: () => unknown, message: RegExp, file?: string): MechEditError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MechEditError, `expected a MechEditError, got ${caught}`);
  assert.match(caught.message, message);
  if (file) assert.equal(caught.data.file, file);
  return caught;
}

describe('the input gate', () => {
  const kinds = Object.keys(INPUT_KINDS) as InputKind[];

  test('special files are refused from their stat, for every kind, naming the kind and what was found', () => {
    for (const kind of kinds) {
      refused(() => checkInput(fifo, kind), /found a FIFO/, fifo);
      refused(() => checkInput('/dev/zero', kind), /found a character device/, '/dev/zero');
      refused(() => checkInput(folder, kind), /found a folder/, folder);
      refused(() => checkInput(loop, kind), /symlink loop/, loop);
      const missing = refused(() => checkInput(path.join(tmp, 'nope'), kind), /No such file/);
      assert.equal(missing.data.code, 'bad-input');
      assert.match(refused(() => checkInput(fifo, kind), /./).message, new RegExp(INPUT_KINDS[kind].what.slice(0, 12).replace(/[()]/g, '.')));
    }
  });

  test('the size bound is named in the error with its environment variable, and the variable raises it', () => {
    const big = path.join(tmp, 'big.jsonl');
    fs.writeFileSync(big, `${JSON.stringify({ prompt: '{} is', subject: 'x', target: 'y' })}\n`.repeat(200));
    process.env.MECHEDIT_MAX_DATA_MIB = '0.001';
    try {
      const e = refused(() => readInputText(big, 'data'), /over the 0\.001 MiB bound/, big);
      assert.match(e.data.hint ?? '', /MECHEDIT_MAX_DATA_MIB/);
      process.env.MECHEDIT_MAX_DATA_MIB = '1';
      assert.equal(readInputText(big, 'data').split('\n').length, 201);
      process.env.MECHEDIT_MAX_DATA_MIB = 'lots';
      refused(() => readInputText(big, 'data'), /MECHEDIT_MAX_DATA_MIB=lots is not a positive number/);
    } finally {
      delete process.env.MECHEDIT_MAX_DATA_MIB;
    }
  });

  test('a UTF-8 BOM is accepted (JSON, JSONL requests); bytes that are not UTF-8 are refused with their place', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const json = path.join(tmp, 'bom.json');
    fs.writeFileSync(json, Buffer.concat([bom, Buffer.from('{"a": "é"}')]));
    assert.deepEqual(readInputJson(json, 'config'), { a: 'é' });
    const requests = path.join(tmp, 'bom.jsonl');
    fs.writeFileSync(requests, Buffer.concat([bom, Buffer.from(`${JSON.stringify({ prompt: '{} is in', subject: 'Paris', target: 'France' })}\n`)]));
    assert.deepEqual(readRequests(requests).map((r) => (r.request as { subject?: string }).subject), ['Paris']);
    const latin = path.join(tmp, 'latin1.json');
    fs.writeFileSync(latin, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d])); // {"a":"é"} in Latin-1
    refused(() => readInputJson(latin, 'config'), /not UTF-8 near byte 6/, latin);
  });

  test("the extension host's reads (readGuard.ts) follow the same rules", () => {
    for (const [special, what] of [[fifo, /found a FIFO/], ['/dev/zero', /found a device/], [folder, /found a folder/]] as const) {
      assert.throws(() => readUserText(special, 'run'), what);
    }
    const bom = path.join(tmp, 'bom-ext.json');
    fs.writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"method": "rome"}')]));
    assert.deepEqual(JSON.parse(readUserText(bom, 'config')), { method: 'rome' });
  });

  test('CLI: a FIFO or /dev/zero as --requests, --data, --forget or --edits fails at once, in a small heap', () => {
    const out = path.join(tmp, 'cli-out');
    const forget = path.join(tmp, 'forget.jsonl');
    fs.writeFileSync(forget, `${JSON.stringify({ prompt: 'The cat sat on the', answer: 'mat' })}\n`);
    for (const special of [fifo, '/dev/zero']) {
      const runs = [
        ['edit', 'memit', '--model', tiny, '--requests', special, '--out', out],
        ['evoke', '--model', tiny, '--method', 'none', '--data', special, '--out', out],
        ['unlearn', '--model', tiny, '--method', 'graddiff', '--forget', special, '--retain', forget, '--out', out],
        ['unlearn', '--model', tiny, '--method', 'graddiff', '--forget', forget, '--retain', special, '--out', out],
        ['predict', '--model', tiny, '--edits', special, '--prompt', 'the'],
      ];
      for (const args of runs) {
        const r = cli(args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, special === fifo ? /found a FIFO/ : /found a character device/, args.join(' '));
        assert.ok(r.stderr.includes(special), r.stderr);
        assert.ok(r.ms < 10_000, `${args.join(' ')} took ${r.ms} ms`);
      }
    }
    assert.ok(!fs.existsSync(out), 'nothing was written');
  });
});

describe('bounded numbers', () => {
  const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
  const w = model.plan.blocks[0].down;
  function edit(name: string, value: number): string {
    const json = {
      format: 'mechedit-edit/1' as const, id: name, label: name, method: 'manual' as const, modelFingerprint: model.checkpoint.fingerprint,
      targets: [{ layer: 0, module: 'mlp.out' as const, rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString(),
    };
    const U = new Float32Array(w.out).fill(0.01);
    U[3] = value;
    return writeEdit(path.join(tmp, 'edits'), { json, tensors: [{ U, V: new Float32Array(w.in).fill(0.01) }] }, () => ({ out: w.out, in: w.in }), model.checkpoint);
  }

  test('an edit value of 1e30 (finite in float32) is refused by tensor and index; 1e5 loads with a warning; 10 without', () => {
    const e = refused(() => readEdit(edit('huge', 1e30)), /Tensor "U" holds 1\.000e\+30, beyond the bound ±1e\+6 at index 3/);
    assert.equal(e.data.field, 'targets[0].U');
    assert.match(e.data.hint ?? '', /MECHEDIT_MAX_VALUE/);
    assert.deepEqual(readEdit(edit('plain', 10)).warnings, undefined);
    const warned = readEdit(edit('large', 1e5)).warnings ?? [];
    assert.equal(warned.length, 1);
    assert.match(warned[0], /largest \|x\| 1\.000e\+5 is within a factor 100 of the bound/);
    process.env.MECHEDIT_MAX_VALUE = '1e31';
    try {
      assert.ok(readEdit(edit('huge2', 1e30)), 'the bound is configurable');
    } finally {
      delete process.env.MECHEDIT_MAX_VALUE;
    }
  });

  test('CLI: predict and bake refuse a 1e30 edit (exit 2, no null probabilities, no checkpoint written)', () => {
    const file = edit('huge3', 1e30);
    const p = cli(['predict', '--model', tiny, '--edits', file, '--prompt', 'the cat', '--json']);
    assert.equal(p.status, 2, p.stderr);
    assert.match(p.stderr, /holds 1\.000e\+30/);
    const out = path.join(tmp, 'baked');
    const b = cli(['bake', '--model', tiny, '--edits', file, '--out', out]);
    assert.equal(b.status, 2, b.stderr);
    assert.ok(!fs.existsSync(path.join(out, 'model.safetensors')));
  });

  test('predict and score refuse to print non-finite probabilities (an edit past a raised bound)', () => {
    const file = edit('overflow', 3e38);
    const sidecar = path.join(tmp, 'edits', JSON.parse(fs.readFileSync(file, 'utf8')).vectors);
    const v = readSafetensorsHeader(sidecar).tensors.get('V')!;
    const buf = fs.readFileSync(sidecar);
    for (let i = 0; i < v.length; i += 4) buf.writeFloatLE(3e38, v.offset + i);
    fs.writeFileSync(sidecar, buf);
    for (const args of [['predict', '--prompt', 'the cat'], ['score', '--prompt', 'the cat', '--answer', 'sat']]) {
      const r = cli([...args, '--model', tiny, '--edits', file, '--json'], { MECHEDIT_MAX_VALUE: '1e39' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /The model computes non-finite probabilities with the edits applied/);
    }
  });

  test('bake refuses weights W + ΔW beyond the bound, though each vector is within it', () => {
    // U[3] = 9e5 (in the warning band), V = 0.01: ΔW = 9e3, fine; strength 200 → 1.8e6 > 1e6.
    const file = edit('strong', 9e5);
    const out = path.join(tmp, 'baked-strong');
    const b = cli(['bake', '--model', tiny, '--edits', file, '--out', out]);
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stderr, /warning: Tensor "U".*within a factor 100/);
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const V = path.join(tmp, 'edits', json.vectors);
    // Rewrite V as 10 (within the bound): ΔW = 9e6 per element of row 3.
    const header = readSafetensorsHeader(V);
    const v = header.tensors.get('V')!;
    const buf = fs.readFileSync(V);
    for (let i = 0; i < v.length; i += 4) buf.writeFloatLE(10, v.offset + i);
    fs.writeFileSync(V, buf);
    const out2 = path.join(tmp, 'baked-over');
    const b2 = cli(['bake', '--model', tiny, '--edits', file, '--out', out2]);
    assert.equal(b2.status, 2, b2.stderr);
    assert.match(b2.stderr, /Baking the edits into ".*" gives 9\d{6}/);
    assert.ok(!fs.existsSync(path.join(out2, 'model.safetensors')), 'no weights with out-of-bound values were written');
  });

  test('numeric flags are bounded: --uipe 1e308, dike --lr 1e308, --temperature 1e308 are refused by flag', () => {
    const forget = path.join(tmp, 'forget2.jsonl');
    fs.writeFileSync(forget, `${JSON.stringify({ prompt: 'The cat sat on the', answer: 'mat' })}\n`);
    const uipe = cli(['unlearn', '--model', tiny, '--method', 'graddiff', '--forget', forget, '--retain', forget, '--uipe', '1e308', '--out', path.join(tmp, 'u')]);
    assert.equal(uipe.status, 2);
    assert.match(uipe.stderr, /--uipe must be a number from 0 up to 999, got 1e\+308/);
    const alphas = cli(['unlearn', 'sweep-uipe', '--model', tiny, '--method', 'graddiff', '--forget', forget, '--retain', forget, '--alphas', '0,1e308', '--out', path.join(tmp, 'u')]);
    assert.equal(alphas.status, 2);
    assert.match(alphas.stderr, /--alphas must list numbers from 0 up to 999/);
    const lr = cli(['dike', 'train', '--model', tiny, '--lr', '1e308', '--out', path.join(tmp, 'k.safetensors')]);
    assert.equal(lr.status, 2);
    assert.match(lr.stderr, /--lr must be a number above 0 up to 10, got "1e308"/);
    const t = cli(['generate', '--model', tiny, '--prompt', 'the', '--max-tokens', '2', '--temperature', '1e308']);
    assert.equal(t.status, 2);
    assert.match(t.stderr, /--temperature must be a number from 0 up to 100/);
  });
});

describe('safetensors and weights', () => {
  function copyTiny(name: string): string {
    const dir = path.join(tmp, name);
    fs.cpSync(tiny, dir, { recursive: true });
    return dir;
  }

  test('a header one byte short (every tensor shifted by one byte) is refused', () => {
    const dir = copyTiny('short-header');
    const file = path.join(dir, 'model.safetensors');
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    // The same header padded with spaces, then its length field one byte short: the JSON still
    // parses, and every tensor starts one byte early.
    const header = `${buf.subarray(8, 8 + n).toString('utf8').trimEnd()}        `;
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(header) - 1));
    fs.writeFileSync(file, Buffer.concat([len, Buffer.from(header), buf.subarray(8 + n)]));
    const e = refused(() => openCheckpoint(dir), /The tensors cover (\d+) bytes of data, but the file holds \1?\d+ after the header/, file);
    const m = /cover (\d+) bytes of data, but the file holds (\d+)/.exec(e.message)!;
    assert.equal(Number(m[2]) - Number(m[1]), 1);
  });

  test('a gap between tensors is refused', () => {
    const dir = copyTiny('gap');
    const file = path.join(dir, 'model.safetensors');
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    const h = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: number[] }>;
    // Grow the data section by 8 bytes at the front: every offset +8, so bytes 0…7 belong to none.
    for (const [k, t] of Object.entries(h)) if (k !== '__metadata__') t.data_offsets = t.data_offsets.map((o) => o + 8);
    const json = JSON.stringify(h).padEnd(n, ' ');
    assert.equal(Buffer.byteLength(json), n, 'test: the header keeps its length');
    fs.writeFileSync(file, Buffer.concat([buf.subarray(0, 8), Buffer.from(json), Buffer.alloc(8), buf.subarray(8 + n)]));
    refused(() => openCheckpoint(dir), /starts at data byte 8, but the tensors before it end at 0: the data section has a gap/, file);
  });

  test('NaN, ∞ and 1e30 in the weights are refused on open, naming the tensor and element', () => {
    for (const [name, value, message] of [['nan', NaN, /holds NaN at element 5/], ['inf', Infinity, /holds Infinity at element 5/], ['e30', 1e30, /holds 1\.000e\+30, beyond ±1e\+6 at element 5/]] as const) {
      const dir = copyTiny(`weights-${name}`);
      const file = path.join(dir, 'model.safetensors');
      const t = [...readSafetensorsHeader(file).tensors.values()].find((x) => x.dtype === 'F32' && x.name.includes('h.1.mlp.c_fc.weight'))!;
      const fd = fs.openSync(file, 'r+');
      const b = Buffer.alloc(4);
      b.writeFloatLE(value);
      fs.writeSync(fd, b, 0, 4, t.offset + 5 * 4);
      fs.closeSync(fd);
      const e = refused(() => openCheckpoint(dir), message, file);
      assert.equal(e.data.field, t.name);
    }
  });

  test('a sampled scan reads the first and last bytes of every tensor, and a bounded share of the file', () => {
    const file = path.join(tiny, 'model.safetensors');
    const tensors = [...readSafetensorsHeader(file).tensors.values()];
    const full = scanWeightFile(file, tensors);
    assert.equal(full.sampled, false);
    assert.equal(full.scannedBytes, full.totalBytes);
    process.env.MECHEDIT_WEIGHT_SCAN_FULL_MIB = '0';
    try {
      const s = scanWeightFile(file, tensors);
      assert.equal(s.sampled, true);
      assert.ok(s.scannedBytes <= s.totalBytes);
      // A NaN in the last element of the largest tensor is found by the sampled scan too.
      const big = tensors.filter((t) => t.dtype === 'F32').sort((a, b) => b.length - a.length)[0];
      const dir = copyTiny('weights-last');
      const copy = path.join(dir, 'model.safetensors');
      const fd = fs.openSync(copy, 'r+');
      const b = Buffer.alloc(4);
      b.writeFloatLE(NaN);
      fs.writeSync(fd, b, 0, 4, big.offset + big.length - 4);
      fs.closeSync(fd);
      refused(() => scanWeightFile(copy, [...readSafetensorsHeader(copy).tensors.values()]), /holds NaN/, copy);
    } finally {
      delete process.env.MECHEDIT_WEIGHT_SCAN_FULL_MIB;
    }
  });
});

describe('empty is an error', () => {
  test('fine-ked, probes, evoke and zsre with 0 usable cases exit 2, saying how many records were skipped and why; nothing is written', () => {
    const bad = path.join(tmp, 'no-cases.json');
    fs.writeFileSync(bad, JSON.stringify([{ foo: 1 }, { bar: 2 }, 3]));
    const empty = path.join(tmp, 'empty.json');
    fs.writeFileSync(empty, '[]');
    for (const tool of ['fine-ked', 'probes', 'evoke', 'zsre']) {
      const out = path.join(tmp, `empty-${tool}`);
      const r = cli([tool, '--model', tiny, '--method', 'none', '--data', bad, '--out', out]);
      assert.equal(r.status, 2, `${tool}: ${r.stderr}`);
      assert.match(r.stderr, /No usable .*cases: 3 record\(s\) skipped; the first: record 0, field "\w+": expected/, tool);
      assert.doesNotMatch(r.stderr, /efficacy|R-Loc/i);
      assert.ok(!fs.existsSync(out), `${tool} wrote ${out}`);
      const e = cli([tool, '--model', tiny, '--method', 'none', '--data', empty, '--out', out]);
      assert.equal(e.status, 2, `${tool}: ${e.stderr}`);
      assert.match(e.stderr, /No usable .*cases: the file holds no records/);
    }
    // A shard of data without usable cases is refused too (an empty shard of data that has cases is not: diagnosticPlugins.test.ts).
    const shard = cli(['fine-ked', '--model', tiny, '--method', 'none', '--data', bad, '--shard', '1/2', '--out', path.join(tmp, 'empty-shard')]);
    assert.equal(shard.status, 2, shard.stderr);
    assert.match(shard.stderr, /No usable FINE-KED cases: 3 record\(s\) skipped/);
  });
});

describe('errors from the system', () => {
  test('a file-system error becomes code io naming the path, not internal', () => {
    const err = Object.assign(new Error("ENOSPC: no space left on device, write '/x/y'"), { code: 'ENOSPC', syscall: 'write', path: '/x/y', errno: -28 });
    const d = toErrorData(err);
    assert.equal(d.code, 'io');
    assert.equal(d.file, '/x/y');
    assert.equal(d.message, 'Cannot write /x/y: no space left on the device (ENOSPC)');
    assert.equal(toErrorData(new TypeError('x')).code, 'internal');
    let nul: unknown;
    try {
      fs.readFileSync('/tmp/a\0b');
    } catch (e) {
      nul = e;
    }
    assert.equal(toErrorData(nul).code, 'bad-input');
  });
});

describe('the engine', () => {
  test('unknown method → -32601; malformed requests with an id are answered -32600; the engine stays alive', async () => {
    const child = fork(path.join(repo, 'out', 'src', 'engine', 'main.js'), [], { env: { ...process.env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const answers = new Map<unknown, { error?: { code: number; data?: { code?: string; field?: string } }; result?: unknown }>();
    child.on('message', (m: { id?: unknown }) => {
      if (m && 'id' in m && ('result' in m || 'error' in m)) answers.set(m.id, m as never);
    });
    try {
      const sent: [unknown, object][] = [
        [1, { jsonrpc: '2.0', id: 1, method: 'no/such', params: {} }],
        [2, { jsonrpc: '2.0', id: 2, method: 5, params: {} }],
        [3, { jsonrpc: '2.0', id: 3, params: {} }],
        [null, { jsonrpc: '2.0', id: { a: 1 }, method: 'engine/info', params: {} }],
        [5, { jsonrpc: '2.0', id: 5, method: 'engine/info', params: 7 }],
        [6, { jsonrpc: '2.0', id: 6, method: 'engine/info', params: {} }],
      ];
      for (const [, m] of sent) child.send(m);
      const deadline = Date.now() + 10_000;
      while (answers.size < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(answers.get(1)?.error?.code, -32601);
      assert.equal(answers.get(1)?.error?.data?.field, 'method');
      for (const id of [2, 3, null, 5]) assert.equal(answers.get(id)?.error?.code, -32600, `id ${id}: ${JSON.stringify(answers.get(id))}`);
      assert.equal(answers.get(2)?.error?.data?.field, 'method');
      assert.ok(answers.get(6)?.result, 'the engine still answers');
    } finally {
      child.kill();
    }
  });

  test('unlearn/run and unlearn/material with forget "/dev/zero" or a FIFO: bad-input at once; the engine answers the next request', async () => {
    const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 }, env: { MECHEDIT_CACHE: process.env.MECHEDIT_CACHE! }, timeoutMs: 10_000 });
    try {
      await client.request('model/open', { path: tiny });
      const pid = client.pid;
      for (const special of ['/dev/zero', fifo]) {
        for (const [method, params] of [
          ['unlearn/run', { method: 'graddiff', forget: special, retainWeight: 0, steps: 1, outDir: path.join(tmp, 'engine-out') }],
          ['unlearn/material', { forget: special }],
          ['edits/apply', { file: special }],
          ['edits/stats', { layer: 1, corpus: [special] }],
        ] as const) {
          const t0 = Date.now();
          const e = await client.request(method as 'unlearn/material', params as never).then(() => undefined, (x: EngineError) => x);
          assert.ok(e instanceof EngineError, `${method} ${special} succeeded`);
          assert.equal(e.data.code, 'bad-input', `${method}: ${e.data.message}`);
          assert.equal(e.data.file, special);
          assert.ok(Date.now() - t0 < 5_000, `${method} took ${Date.now() - t0} ms`);
        }
      }
      const nul = await client.request('unlearn/run', { method: 'graddiff', forget: fifo, outDir: `${tmp}/out\0` } as never).then(() => undefined, (x: EngineError) => x);
      assert.equal(nul?.data.code, 'bad-input');
      assert.match(nul?.data.message ?? '', /NUL/);
      assert.equal(client.pid, pid, 'the engine did not restart');
      assert.ok((await client.request('engine/info', {})).engineVersion);
      const unknown = await client.request('no/such' as 'engine/info', {}).then(() => undefined, (x: EngineError) => x);
      assert.equal(unknown?.data.code, 'not-found');
      assert.match(unknown?.data.message ?? '', /Unknown method "no\/such"/);
    } finally {
      client.dispose();
    }
  });
});
