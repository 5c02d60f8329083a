// Bad checkpoints and bad requests end in a clear error that names the file and field, through
// the core, the CLI (exit code 2) and the engine (which stays alive).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fork, spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { MechEditError } from '../../src/core/errors';
import { predict } from '../../src/core/runtime/run';
import { causalTrace } from '../../src/core/analysis/causalTrace';
import { readEdit, writeEdit } from '../../src/core/edits/editFile';
import { readVectors } from '../../src/core/edits/importVectors';
import { EngineClient, EngineError } from '../../src/extension/engine/client';

const repo = path.join(__dirname, '..', '..', '..');
const tiny = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-bad-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');

/** A copy of gpt2-tiny with one thing broken by `breakIt`. */
function broken(name: string, breakIt: (dir: string) => void): string {
  const dir = path.join(tmp, name);
  fs.cpSync(tiny, dir, { recursive: true });
  breakIt(dir);
  return dir;
}

function rewriteHeader(dir: string, edit: (h: Record<string, { data_offsets: number[]; shape: number[]; dtype: string }>) => void): void {
  const file = path.join(dir, 'model.safetensors');
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  edit(header);
  let json = JSON.stringify(header);
  json = json.padEnd(n, ' ');
  assert.equal(json.length, n, 'test helper: the edited header must keep its length');
  buf.write(json, 8, 'utf8');
  fs.writeFileSync(file, buf);
}

function expectBadInput(dir: string, message: RegExp, where: { file?: RegExp; field?: string | RegExp }): MechEditError {
  let caught: unknown;
  try {
    LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MechEditError, `expected a MechEditError, got ${caught}`);
  assert.equal(caught.data.code, 'bad-input', caught.message);
  assert.match(caught.data.message, message);
  if (where.file) assert.match(caught.data.file ?? '', where.file);
  if (where.field) assert.match(caught.data.field ?? '', where.field instanceof RegExp ? where.field : new RegExp(`^${where.field.replace(/\./g, '\\.')}$`));
  return caught;
}

describe('bad checkpoints', () => {
  test('a truncated safetensors file', () => {
    const dir = broken('truncated', (d) => {
      const f = path.join(d, 'model.safetensors');
      fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2));
    });
    const e = expectBadInput(dir, /beyond the end of the file/, { file: /model\.safetensors$/ });
    assert.match(e.data.hint ?? '', /truncated/);
  });

  test('a file cut inside its header', () => {
    const dir = broken('cut-header', (d) => fs.truncateSync(path.join(d, 'model.safetensors'), 100));
    expectBadInput(dir, /header length/, { file: /model\.safetensors$/ });
  });

  test('header offsets out of range', () => {
    const dir = broken('offsets', (d) => rewriteHeader(d, (h) => {
      const t = h['transformer.h.1.mlp.c_fc.weight'] ?? h['h.1.mlp.c_fc.weight'];
      t.data_offsets = [t.data_offsets[0] + 10_000_000, t.data_offsets[1] + 10_000_000];
    }));
    expectBadInput(dir, /beyond the end of the file/, { field: /h\.1\.mlp\.c_fc\.weight$/ });
  });

  test('offsets that disagree with shape and dtype', () => {
    const dir = broken('span', (d) => rewriteHeader(d, (h) => {
      const t = h['transformer.wpe.weight'] ?? h['wpe.weight'];
      t.data_offsets = [t.data_offsets[0], t.data_offsets[1] - 4];
    }));
    expectBadInput(dir, /needs \d+ bytes but its data_offsets span \d+/, { field: /wpe\.weight$/ });
  });

  test('a shape that contradicts config.json', () => {
    const dir = broken('shape', (d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      cfg.n_inner = (cfg.n_inner ?? 4 * cfg.n_embd) + 8;
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    });
    expectBadInput(dir, /has shape \[.*\] but config.json implies/, { field: /c_fc\.weight$/ });
  });

  test('a dtype MechEdit cannot run', () => {
    const dir = broken('dtype', (d) => rewriteHeader(d, (h) => {
      const t = h['transformer.ln_f.weight'] ?? h['ln_f.weight'];
      t.dtype = 'I32';
    }));
    expectBadInput(dir, /dtype I32/, { field: /ln_f\.weight$/ });
  });

  test('an unknown model_type lists the supported ones', () => {
    const dir = broken('model-type', (d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      cfg.model_type = 'mamba';
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    });
    const e = expectBadInput(dir, /Unsupported model_type "mamba"/, { file: /config\.json$/, field: 'model_type' });
    assert.match(e.data.hint ?? '', /gpt2, gptj, llama, mistral, qwen2/);
  });

  test('a recommended edit layer ("mechedit": {"edit_layer"}) outside the model', () => {
    const dir = broken('edit-layer', (d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      cfg.mechedit = { edit_layer: cfg.n_layer };
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    });
    expectBadInput(dir, /"mechedit\.edit_layer" must be a layer in 0…2, got 3/, { file: /config\.json$/, field: 'mechedit.edit_layer' });
  });

  test('recommended ROCR settings ("mechedit": {"rocr"}) that do not fit the model', () => {
    const cases: [string, unknown, RegExp, string][] = [
      ['rocr-layers', { layers: [0, 7] }, /"mechedit\.rocr\.layers" must be distinct layers in 0…2, got \[0,7\]/, 'mechedit.rocr.layers'],
      ['rocr-lambda', { lambda: -1 }, /"mechedit\.rocr\.lambda" must be a positive number, got -1/, 'mechedit.rocr.lambda'],
      ['rocr-regularizer', { regularizer: 'ridge' }, /"mechedit\.rocr\.regularizer" must be "identity" or "covariance", got "ridge"/, 'mechedit.rocr.regularizer'],
    ];
    for (const [name, rocr, message, field] of cases) {
      const dir = broken(name, (d) => {
        const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
        cfg.mechedit = { rocr };
        fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
      });
      expectBadInput(dir, message, { file: /config\.json$/, field });
    }
  });

  test('a missing tokenizer', () => {
    const dir = broken('no-tokenizer', (d) => fs.rmSync(path.join(d, 'tokenizer.json')));
    const e = expectBadInput(dir, /no tokenizer\.json/, { file: /no-tokenizer$/ });
    assert.match(e.data.hint ?? '', /tokenizer\.json/);
  });

  test('config.json that is not JSON', () => {
    const dir = broken('bad-json', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "gpt2",'));
    expectBadInput(dir, /Invalid JSON/, { file: /config\.json$/ });
  });

  test('a folder without weights or config', () => {
    expectBadInput(path.join(tmp, 'nope'), /does not exist/, { file: /nope$/ });
    fs.mkdirSync(path.join(tmp, 'empty'));
    expectBadInput(path.join(tmp, 'empty'), /No config\.json/, { file: /empty$/ });
    const dir = broken('no-weights', (d) => fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'pytorch_model.bin')));
    const e = expectBadInput(dir, /No model\.safetensors.*pytorch_model\.bin/, { file: /no-weights$/ });
    assert.match(e.data.hint ?? '', /safetensors/);
  });

  test('none of this touched the source checkpoint', () => {
    const names = fs.readdirSync(tiny).sort();
    assert.deepEqual(names, ['config.json', 'model.safetensors', 'tokenizer.json']);
  });
});

test('a prompt longer than the context is refused before running', async () => {
  const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
  const long = 'hello '.repeat(model.dims.maxPositions + 5);
  await assert.rejects(predict(model, long), (e: MechEditError) => {
    assert.equal(e.data.code, 'bad-input');
    assert.equal(e.data.field, 'prompt');
    assert.match(e.data.message, /tokens long but the model's context is \d+/);
    return true;
  });
  await model.release();
});

test('the CLI exits 2 with a JSON error naming the file and field', () => {
  const dir = path.join(tmp, 'model-type');
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'predict', '--model', dir, '--prompt', 'hi', '--json'], { encoding: 'utf8', env: { ...process.env } });
  assert.equal(r.status, 2, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.error.code, 'bad-input');
  assert.equal(out.error.field, 'model_type');
  assert.match(r.stderr, /Unsupported model_type "mamba".*config\.json/);
  const missing = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'predict', '--prompt', 'hi'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--model is required/);
});

describe('through the engine', () => {
  const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
  after(() => client.dispose());

  test('each bad checkpoint is an error with its file; the engine stays alive and opens a good one', async () => {
    await client.request('engine/info', {});
    const pid = client.pid;
    for (const name of ['truncated', 'offsets', 'shape', 'model-type', 'no-tokenizer']) {
      await assert.rejects(client.request('model/open', { path: path.join(tmp, name) }), (e: EngineError) => {
        assert.equal(e.data.code, 'bad-input', `${name}: ${e.message}`);
        assert.ok(e.data.file, `${name}: no file named`);
        return true;
      });
    }
    await assert.rejects(client.request('model/predict', { prompt: 'x' }), (e: EngineError) => e.data.code === 'not-found' && /Open a checkpoint/.test(e.data.hint ?? ''));
    const info = await client.request('model/open', { path: tiny });
    assert.equal(info.architecture, 'gpt2');
    const p = await client.request('model/predict', { prompt: 'the cat', top: 3 });
    assert.equal(p.next.length, 3);
    await assert.rejects(client.request('model/predict', { prompt: 'x '.repeat(5000) }), (e: EngineError) => e.data.field === 'prompt');
    assert.equal(client.pid, pid, 'the engine must not have restarted');
  });
});

// ---- malformed inputs: checkpoints that are structurally wrong, edit and vector files, sizes ----

function editConfig(dir: string, change: (cfg: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  change(cfg);
  fs.writeFileSync(file, JSON.stringify(cfg));
}

describe('structurally wrong checkpoints are refused', () => {
  test('a safetensors header that is JSON null, or a number', () => {
    for (const [name, header] of [['header-null', 'null    '], ['header-number', '12345678']]) {
      const dir = broken(name, (d) => {
        const file = path.join(d, 'model.safetensors');
        const buf = fs.readFileSync(file);
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(8n);
        fs.writeFileSync(file, Buffer.concat([len, Buffer.from(header), buf.subarray(8 + Number(buf.readBigUInt64LE(0)))]));
      });
      expectBadInput(dir, /not an object of tensors/, { file: /model\.safetensors$/ });
    }
  });

  test('two tensors whose data_offsets overlap', () => {
    const dir = broken('overlap', (d) => rewriteHeader(d, (h) => {
      h['h.1.ln_1.weight'].data_offsets = [...h['h.1.ln_1.bias'].data_offsets];
    }));
    expectBadInput(dir, /"h\.1\.ln_1\.(weight|bias)" and "h\.1\.ln_1\.(weight|bias)" share bytes/, { file: /model\.safetensors$/, field: /h\.1\.ln_1\.(weight|bias)$/ });
  });

  test('a bias the architecture always has is missing', () => {
    // Renamed, not deleted: its bytes stay claimed (the tensors must tile the data section).
    const dir = broken('no-bias', (d) => rewriteHeader(d, (h) => {
      h['h.1.mlp.c_fc.bia'] = h['h.1.mlp.c_fc.bias'];
      delete h['h.1.mlp.c_fc.bias'];
    }));
    expectBadInput(dir, /Weight "h\.1\.mlp\.c_fc\.bias" is missing/, { file: /model\.safetensors$/, field: 'h.1.mlp.c_fc.bias' });
  });

  test('n_layer lower than the layers the weights hold', () => {
    const dir = broken('few-layers', (d) => editConfig(d, (c) => (c.n_layer = 2)));
    const e = expectBadInput(dir, /config\.json gives 2 layers but the weights hold layer 2/, { file: /config\.json$/, field: 'n_layer' });
    assert.match(e.data.hint ?? '', /Set "n_layer" to 3/);
  });

  test('n_head that is not a whole number, zero or negative', () => {
    for (const [i, value] of [0.5, 0, -3, '3'].entries()) {
      const dir = broken(`heads-${i}`, (d) => editConfig(d, (c) => (c.n_head = value)));
      expectBadInput(dir, /"n_head" must be a whole number ≥ 1/, { file: /config\.json$/, field: 'n_head' });
    }
  });

  test('a tokenizer.json whose post_processor is broken is refused when the model opens', () => {
    for (const [i, post] of [{ type: 'Sequence', processors: [null] }, { type: 'RobertaProcessing' }, { type: 'TemplateProcessing', single: null }, 'x'].entries()) {
      const dir = broken(`post-processor-${i}`, (d) => {
        const file = path.join(d, 'tokenizer.json');
        fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), post_processor: post }));
      });
      expectBadInput(dir, /./, { file: /tokenizer\.json$/, field: 'post_processor' });
    }
  });
});

describe('broken edit and vector files', () => {
  const model = () => LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
  /** A valid edit file (layer 1, mlp.out) in its own folder, changed by `change`. */
  function edit(name: string, change: (json: Record<string, unknown>, dir: string) => void = () => undefined): string {
    const dir = path.join(tmp, 'edit-files', name);
    fs.mkdirSync(dir, { recursive: true });
    const m = model();
    const w = m.plan.blocks[1].down;
    const file = writeEdit(dir, {
      json: { format: 'mechedit-edit/1', id: name, label: name, method: 'manual', modelFingerprint: m.checkpoint.fingerprint, targets: [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString() },
      tensors: [{ U: new Float32Array(w.out).fill(0.1), V: new Float32Array(w.in).fill(0.1) }],
    }, () => ({ out: w.out, in: w.in }), m.checkpoint);
    void m.release();
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    change(json, dir);
    fs.writeFileSync(file, JSON.stringify(json));
    return file;
  }
  const refused = (file: string, field: string | RegExp, fileRe = /\.json$/) => assert.throws(() => readEdit(file), (e: unknown) => {
    assert.ok(e instanceof MechEditError, `expected a MechEditError, got ${(e as Error)?.stack}`);
    assert.equal(e.data.code, 'bad-input');
    assert.match(e.data.file ?? '', fileRe);
    if (typeof field === 'string') assert.equal(e.data.field, field, e.message);
    else assert.match(e.data.field ?? '', field, e.message);
    return true;
  });

  test('"vectors": ".." and other paths that are not a sidecar beside the edit', () => {
    for (const [i, v] of ['..', '.', '../x.safetensors', 'x.safetensors/', ''].entries()) refused(edit(`vectors-${i}`, (j) => (j.vectors = v)), 'vectors');
  });

  test('targets holding null, or a target of the wrong type', () => {
    refused(edit('targets-null', (j) => (j.targets = [null])), 'targets[0]');
    refused(edit('targets-layer', (j) => ((j.targets as Record<string, unknown>[])[0].layer = 'x')), 'targets[0].layer');
    refused(edit('targets-stray', (j) => ((j.targets as Record<string, unknown>[])[0].extra = 1)), 'targets[0].extra');
    refused(edit('created', (j) => (j.created = 'yesterday')), 'created');
  });

  test('a truncated sidecar names the sidecar', () => {
    const file = edit('cut');
    const sidecar = file.replace(/\.json$/, '.safetensors');
    fs.truncateSync(sidecar, fs.statSync(sidecar).size - 9);
    refused(file, /^(U|V)$/, /cut\.safetensors$/);
  });

  test('a truncated .npy, or one whose header lies about its shape', () => {
    const good = path.join(tmp, 'good.npy');
    const values = new Float32Array(48).fill(0.5);
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (48,), }".padEnd(117, ' ') + '\n';
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
    fs.writeFileSync(good, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]));
    assert.equal(readVectors(good, 'u').cols, 48);
    const cut = path.join(tmp, 'cut.npy');
    fs.writeFileSync(cut, fs.readFileSync(good).subarray(0, 150));
    assert.throws(() => readVectors(cut, 'u'), (e: unknown) => e instanceof MechEditError && e.data.file === cut && e.data.field === 'shape' && /needs 192 bytes/.test(e.message));
    const huge = path.join(tmp, 'huge.npy');
    fs.writeFileSync(huge, fs.readFileSync(good).toString('latin1').replace('(48,), ', '(3000000000,)').padEnd(fs.statSync(good).size), 'latin1');
    assert.throws(() => readVectors(huge, 'u'), (e: unknown) => e instanceof MechEditError && e.data.field === 'shape');
  });
});

describe('unbounded sizes are refused early', () => {
  test('--layers 0-3000000000 is refused at once', () => {
    const direction = path.join(tmp, 'direction.npy');
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (48,), }".padEnd(117, ' ') + '\n';
    fs.writeFileSync(direction, Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]), Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(48).fill(1).buffer)]));
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'edit', 'ablate', '--model', tiny, '--direction', direction, '--layers', '0-3000000000', '--out', path.join(tmp, 'ablate-out')], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, `${r.signal ?? ''} ${r.stderr}`);
    assert.match(r.stderr, /--layers "0-3000000000" is not a layer range of a model/);
    assert.ok(Date.now() - t0 < 20_000);
  });

  test('a 100 MB prompt and a 2 M-character subject are refused before tokenising', async () => {
    const model = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
    const huge = 'the cat sat. '.repeat(8_000_000);
    let t0 = performance.now();
    await assert.rejects(predict(model, huge), (e: MechEditError) => e.data.field === 'prompt' && /characters long; no text over [\d,]+ characters fits the model's context/.test(e.message));
    assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
    const subject = 'Zed'.repeat(700_000);
    t0 = performance.now();
    await assert.rejects(causalTrace(model, { prompt: `${subject} sat on the`, subject, samples: 2 }), (e: MechEditError) => e.data.field === 'prompt');
    assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
    // A prompt within the bound is tokenised as before (and refused by its token count).
    await assert.rejects(predict(model, 'hello '.repeat(model.dims.maxPositions + 5)), (e: MechEditError) => /tokens long/.test(e.message));
    await model.release();
  });
});

describe('engine parameters and messages', () => {
  const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
  after(() => client.dispose());

  test('strengths, λ and sample counts that are not numbers, negative, or huge are refused by field; the logits stay finite', async () => {
    const info = await client.request('model/open', { path: tiny });
    const dir = path.join(tmp, 'engine-edit');
    fs.mkdirSync(dir, { recursive: true });
    const m = LoadedModel.open(tiny, { provider: 'cpu', threads: 1 });
    const w = m.plan.blocks[1].down;
    const file = writeEdit(dir, {
      json: { format: 'mechedit-edit/1', id: 'e', label: 'e', method: 'manual', modelFingerprint: info.fingerprint, targets: [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date(0).toISOString() },
      tensors: [{ U: new Float32Array(w.out).fill(0.1), V: new Float32Array(w.in).fill(0.1) }],
    }, () => ({ out: w.out, in: w.in }), m.checkpoint);
    await m.release();
    const refusedField = (field: string) => (e: EngineError) => e.data.code === 'bad-input' && e.data.field === field;
    for (const strength of ['x', 3e38, -1e4, null, [1]]) {
      if (strength !== null) await assert.rejects(client.request('edits/apply', { file, strength: strength as number }), refusedField('strength'), `apply ${strength}`);
    }
    await client.request('edits/apply', { file });
    for (const strength of ['x', 3e38, null, {}]) await assert.rejects(client.request('edits/scale', { id: 'e', strength: strength as number }), refusedField('strength'), `scale ${strength}`);
    await client.request('edits/scale', { id: 'e', strength: 2 });
    const outDir = path.join(tmp, 'engine-out');
    for (const lambda of [-1, 0, 3e38, 'x']) await assert.rejects(client.request('edits/rocr', { concept: 'cat', harmless: 'dog', lambda: lambda as number, outDir }), refusedField('lambda'), `λ ${lambda}`);
    // A relative output folder would land in the engine's working directory: refused, nothing written there.
    const cwdBefore = fs.readdirSync(process.cwd()).sort();
    for (const rel of ['NaN', 'edits', '../x']) {
      await assert.rejects(client.request('edits/rocr', { concept: 'cat', harmless: 'dog', outDir: rel }), refusedField('outDir'), `outDir ${rel}`);
      await assert.rejects(client.request('diagnostics/run', { kind: 'evoke', outDir: rel }), refusedField('outDir'), `diagnostics outDir ${rel}`);
    }
    assert.deepEqual(fs.readdirSync(process.cwd()).sort(), cwdBefore, 'nothing was written into the working directory');
    for (const samples of [-1, 0, 0.5, 1e9, 'x']) await assert.rejects(client.request('model/causalTrace', { prompt: 'the cat sat', subject: 'cat', samples: samples as number }), refusedField('samples'), `samples ${samples}`);
    for (const samples of [-1, 'x']) await assert.rejects(client.request('edits/stats', { layer: 1, samples: samples as number }), refusedField('samples'));
    const p = await client.request('model/predict', { prompt: 'the cat sat', top: 5 });
    assert.ok(p.next.every((x) => Number.isFinite(x.logprob)), 'the logits stay finite');
    assert.deepEqual((await client.request('edits/list', {})).items.map((i) => [i.id, i.strength]), [['e', 2]]);
  });

  test('{"method":"$/cancelRequest","params":null} and other malformed messages leave the engine alive', async () => {
    const child = fork(path.join(repo, 'out', 'src', 'engine', 'main.js'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    after(() => child.kill());
    const answers: { id?: unknown; result?: { pid?: number } }[] = [];
    child.on('message', (m: { id?: unknown; result?: { pid?: number } }) => answers.push(m));
    for (const message of [
      { jsonrpc: '2.0', method: '$/cancelRequest', params: null },
      { jsonrpc: '2.0', method: '$/cancelRequest' },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: { id: null } },
      { jsonrpc: '2.0', method: '$/cancelRequest', params: 'x' },
      [1, 2],
      { jsonrpc: '2.0', id: 7, method: 'model/predict', params: null },
    ]) child.send(message);
    child.send({ jsonrpc: '2.0', id: 8, method: 'engine/info', params: {} });
    const deadline = Date.now() + 15_000;
    while (!answers.some((a) => a.id === 8) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(child.exitCode, null, 'the engine is alive');
    assert.equal(answers.find((a) => a.id === 8)?.result?.pid, child.pid, 'and answers');
    const predict7 = answers.find((a) => a.id === 7) as { error?: { data?: { code?: string } } } | undefined;
    assert.equal(predict7?.error?.data?.code, 'not-found', 'a request with params null gets ErrorData');
  });
});

test('the runtime folder for Dawn is one per user, not one per process', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'tmpdir-'));
  const env: Record<string, string | undefined> = { ...process.env, TMPDIR: dir };
  delete env.XDG_RUNTIME_DIR;
  const script = `require(${JSON.stringify(path.join(repo, 'out', 'src', 'core', 'runtime', 'ort.js'))}).loadOrt(); console.log(process.env.XDG_RUNTIME_DIR)`;
  const seen = [0, 1, 2].map(() => {
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  });
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('mechedit-run-')), [`mechedit-run-${process.getuid!()}`], 'three processes, one folder');
  assert.deepEqual(new Set(seen), new Set([path.join(dir, `mechedit-run-${process.getuid!()}`)]));
  assert.equal(fs.statSync(seen[0]).mode & 0o777, 0o700);
});
