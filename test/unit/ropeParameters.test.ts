// transformers 5 writes RoPE settings as `rope_parameters` (one dict, or one per layer type for
// Gemma 3) instead of rope_theta / rope_scaling / rope_local_base_freq / partial_rotary_factor.
// A tiny checkpoint whose config.json is rewritten that way must give the same logits, bit for
// bit, as the original (gemma3-tiny: local and global bases, linear scaling; phi3-tiny: longrope
// and partial rotary; on a prompt past phi3-tiny's original context of 8, so the long factors act).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel } from '../../src/core/runtime/model';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-rope-params-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const opened: LoadedModel[] = [];
after(() => opened.forEach((m) => m.release()));

type Config = Record<string, unknown>;

function rewritten(name: string, edit: (c: Config) => Config): string {
  const src = path.join(repo, 'test', 'fixtures', 'models', name);
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of ['model.safetensors', 'tokenizer.json']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(edit(JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8')) as Config)));
  return dir;
}

async function logits(dir: string): Promise<Float32Array> {
  const m = LoadedModel.open(dir, { provider: 'cpu', threads: 1 });
  opened.push(m);
  const ids = Array.from({ length: 12 }, (_, i) => (37 * i + 5) % 300);
  return (await m.run({ logits: 'all' }, m.makeBatch([ids]))).logits.data as Float32Array;
}

test('gemma3-tiny: rope_parameters per layer type give the same logits', async () => {
  const dir = rewritten('gemma3-tiny', ({ rope_theta, rope_scaling, rope_local_base_freq, ...c }) => ({
    ...c,
    rope_parameters: { full_attention: { ...(rope_scaling as Config), rope_theta }, sliding_attention: { rope_type: 'default', rope_theta: rope_local_base_freq } },
  }));
  assert.deepEqual(await logits(dir), await logits(path.join(repo, 'test', 'fixtures', 'models', 'gemma3-tiny')));
});

test('phi3-tiny: one rope_parameters dict (longrope, partial rotary) gives the same logits', async () => {
  const dir = rewritten('phi3-tiny', ({ rope_theta, rope_scaling, partial_rotary_factor, ...c }) => ({
    ...c,
    rope_parameters: { ...(rope_scaling as Config), rope_type: 'longrope', rope_theta, partial_rotary_factor },
  }));
  assert.deepEqual(await logits(dir), await logits(path.join(repo, 'test', 'fixtures', 'models', 'phi3-tiny')));
});

test('a rewritten config without its RoPE base changes the logits (the comparison can fail)', async () => {
  const dir = rewritten('smollm3-tiny', ({ rope_theta: _t, ...c }) => c);
  const a = await logits(dir);
  const b = await logits(path.join(repo, 'test', 'fixtures', 'models', 'smollm3-tiny'));
  assert.ok(a.some((v, i) => v !== b[i]));
});
