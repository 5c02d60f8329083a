// Bad checkpoints and bad requests end in a clear error that names the file and field, through
// the core, the CLI (exit code 2) and the engine (which stays alive).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { LoadedModel } from '../../src/core/runtime/model';
import { MechEditError } from '../../src/core/errors';
import { predict } from '../../src/core/analysis/run';
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
