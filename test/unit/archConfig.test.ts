// Bad settings of the new architectures' config fields end in a bad-input error naming the
// field (variants.ts, model.ts), and a weight the spec needs (q/k norms, post-norms, fused
// projections) is required: a checkpoint without it is refused, never run as if it were absent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';
import { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-arch-config-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
let n = 0;

/** A copy of a tiny checkpoint with its config.json edited. */
function withConfig(name: string, edit: (c: Record<string, unknown>) => Record<string, unknown>): string {
  const src = path.join(repo, 'test', 'fixtures', 'models', name);
  const dir = path.join(tmp, `${name}-${n++}`);
  fs.cpSync(src, dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(edit(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)));
  return dir;
}

function refused(dir: string, field: string | RegExp, message: RegExp): void {
  let caught: unknown;
  try {
    LoadedModel.open(dir, { provider: 'cpu', threads: 1 }).release();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MechEditError, `expected a bad-input error, got ${String(caught)}`);
  assert.equal(caught.data.code, 'bad-input');
  assert.match(caught.data.message, message);
  assert.match(caught.data.field ?? '', field instanceof RegExp ? field : new RegExp(`^${field}$`));
}

test('layer_types of the wrong length is refused', () => {
  refused(withConfig('gemma2-tiny', (c) => ({ ...c, layer_types: ['sliding_attention'] })), 'layer_types', /one entry per layer \(3\)/);
});

test('no_rope_layers with a value other than 0 / 1 is refused', () => {
  refused(withConfig('smollm3-tiny', (c) => ({ ...c, no_rope_layers: [1, 1, 2, 0] })), 'no_rope_layers', /one entry per layer/);
});

test('longrope factors of the wrong length are refused', () => {
  refused(withConfig('phi3-tiny', (c) => ({ ...c, rope_scaling: { ...(c.rope_scaling as object), long_factor: [1, 2] } })), 'rope_scaling.long_factor', /3 positive numbers/);
});

test('a non-positive soft-cap or query_pre_attn_scalar is refused', () => {
  refused(withConfig('gemma2-tiny', (c) => ({ ...c, attn_logit_softcapping: -1 })), 'attn_logit_softcapping', /positive number/);
  refused(withConfig('gemma2-tiny', (c) => ({ ...c, query_pre_attn_scalar: 0 })), 'query_pre_attn_scalar', /positive number/);
});

test('a multimodal gemma3 config without text_config is refused', () => {
  refused(withConfig('gemma3mm-tiny', ({ text_config: _t, ...c }) => c), 'text_config', /no "text_config" section/);
});

test('a checkpoint without the q/k norms or post-norms its spec names is refused', () => {
  for (const [name, weight] of [['qwen3-tiny', 'model.layers.1.self_attn.k_norm.weight'], ['olmo2-tiny', 'model.layers.0.post_feedforward_layernorm.weight']]) {
    const dir = withConfig(name, (c) => c);
    const file = path.join(dir, 'model.safetensors');
    const buf = fs.readFileSync(file);
    const len = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as Record<string, unknown>;
    header[`${weight}.renamed`] = header[weight];
    delete header[weight];
    const json = Buffer.from(JSON.stringify(header).padEnd(len + 16, ' '));
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    fs.writeFileSync(file, Buffer.concat([head, json, buf.subarray(8 + len)]));
    refused(dir, weight, /is missing/);
  }
});

test('absent Gemma 2 settings take Hugging Face\'s defaults (caps 50 / 30, query_pre_attn_scalar 256); null means no cap', () => {
  const open = (dir: string) => {
    const m = LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
    const v = m.dims.variants;
    m.release();
    return v;
  };
  const absent = open(withConfig('gemma2-tiny', ({ attn_logit_softcapping: _a, final_logit_softcapping: _f, query_pre_attn_scalar: _q, ...c }) => c));
  assert.deepEqual([absent.attnSoftcap, absent.finalSoftcap, absent.queryScale], [50, 30, 256 ** -0.5]);
  const nulls = open(withConfig('gemma2-tiny', (c) => ({ ...c, attn_logit_softcapping: null, final_logit_softcapping: null })));
  assert.deepEqual([nulls.attnSoftcap, nulls.finalSoftcap], [undefined, undefined]);
  const gemma3 = open(withConfig('gemma3-tiny', ({ query_pre_attn_scalar: _q, ...c }) => c));
  assert.deepEqual([gemma3.attnSoftcap, gemma3.finalSoftcap, gemma3.queryScale], [undefined, undefined, 256 ** -0.5]);
});

test('an absent Gemma sliding_window is Hugging Face\'s 4096; null means none', () => {
  const windows = (dir: string) => {
    const m = LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
    const w = m.dims.variants.windows;
    m.release();
    return w;
  };
  assert.deepEqual(windows(withConfig('gemma2-tiny', ({ sliding_window: _s, ...c }) => ({ ...c, max_position_embeddings: 8192 }))), [4096, undefined, 4096]);
  assert.deepEqual(windows(withConfig('gemma2-tiny', (c) => ({ ...c, sliding_window: null }))), [undefined, undefined, undefined]);
});
