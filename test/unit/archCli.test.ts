// The CLI on a random tiny checkpoint of each of issue 34's architectures (spawned, as a user runs
// it): info names the architecture's special parts, tokenize / predict / trace answer on a prompt
// longer than every sliding window, edit rome writes an edit that takes (gemma2-tiny: see
// archEdits.test.ts). An unsupported model_type is refused with the supported ones and specs.ts.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-arch-cli-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
const corpus = path.join(tmp, 'corpus.txt');
fs.writeFileSync(corpus, 'The capital of France is Paris.\nThe cat sat on the mat.\nA dog ran in the park.\nThe sun is hot and the sea is blue.\n');

function cli(args: string[]): { status: number | null; json: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--provider', 'cpu', '--threads', '1', '--json'], { encoding: 'utf8', env, cwd: tmp });
  return { status: r.status, json: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : {}, stderr: r.stderr };
}

/** What `mechedit info` must name for each checkpoint (its features, from the spec and config). */
const PARTS: Record<string, RegExp[]> = {
  'qwen3-tiny': [/q\/k RMSNorm per head/, /sliding window 6 on layers 1, 2/, /head_dim 12/],
  'gemma2-tiny': [/RMSNorm x̂·\(1 \+ w\), sandwich norms/, /sliding window 6 on layers 0, 2/, /attention soft-capping 3/, /final logit soft-capping 10/, /embeddings × √d_model/, /query_pre_attn_scalar/],
  'gemma3-tiny': [/sandwich norms/, /q\/k RMSNorm per head/, /sliding window 6 on layers 0, 1, 3/, /local RoPE base on layers 0, 1, 3/],
  'smollm3-tiny': [/pre-norm/, /no RoPE on layer 3/, /tied embeddings/],
  'olmo2-tiny': [/norms after attention and MLP, inside the residual/, /q\/k RMSNorm over the whole projection/, /untied/],
  'phi3-tiny': [/fused q\|k\|v and gate\|up projections/, /partial RoPE \(6 of 10 dims\)/, /longrope \(long factors past 8 positions\)/, /sliding window 7 on all layers/],
};

const prompt = 'The cat sat on the mat and the dog ran.'; // 13 tokens: past every window (6, 7)

for (const [name, parts] of Object.entries(PARTS)) {
  describe(`mechedit on ${name}`, () => {
    const dir = path.join(repo, 'test', 'fixtures', 'models', name);
    test('info names the special parts', () => {
      const r = cli(['info', '--model', dir]);
      assert.equal(r.status, 0, r.stderr);
      const features = (r.json.features as string[]).join(' · ');
      for (const re of parts) assert.match(features, re);
    });
    test('tokenize, predict and trace answer', () => {
      const t = cli(['tokenize', '--model', dir, '--text', prompt]);
      assert.equal(t.status, 0, t.stderr);
      assert.ok((t.json.ids as number[]).length > 7);
      const p = cli(['predict', '--model', dir, '--prompt', prompt, '--top', '3']);
      assert.equal(p.status, 0, p.stderr);
      const next = p.json.next as { logprob: number }[];
      assert.equal(next.length, 3);
      assert.ok(next.every((n) => Number.isFinite(n.logprob) && n.logprob < 0));
      const tr = cli(['trace', '--model', dir, '--prompt', prompt]);
      assert.equal(tr.status, 0, tr.stderr);
      assert.ok(JSON.stringify(tr.json).length > 100);
    });
    test('edit rome writes an edit file', () => {
      const out = path.join(tmp, `${name}-edits`);
      const r = cli(['edit', 'rome', '--model', dir, '--subject', 'The cat sat on the', '--prompt', '{}', '--target', 'Paris', '--corpus', corpus, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      const files = fs.readdirSync(out);
      assert.ok(files.some((f) => f.endsWith('.json')) && files.some((f) => f.endsWith('.safetensors')), files.join(', '));
    });
  });
}

test('an unsupported model_type is refused with the supported ones and a pointer to specs.ts', () => {
  const dir = path.join(tmp, 'mamba');
  fs.mkdirSync(dir);
  for (const f of ['model.safetensors', 'tokenizer.json']) fs.copyFileSync(path.join(repo, 'test', 'fixtures', 'models', 'qwen3-tiny', f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'mamba2', vocab_size: 320 }));
  const r = cli(['info', '--model', dir]);
  assert.notEqual(r.status, 0);
  const text = JSON.stringify(r.json) + r.stderr;
  assert.match(text, /Unsupported model_type \\"mamba2\\"|Unsupported model_type "mamba2"/);
  for (const t of ['qwen3', 'gemma2', 'gemma3_text', 'gemma3', 'phi3', 'olmo2', 'smollm3', 'llama']) assert.ok(text.includes(t), `lists ${t}`);
  assert.match(text, /src\/core\/models\/specs\.ts/);
});
