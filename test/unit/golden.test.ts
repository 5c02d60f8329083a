// Golden tests: the ONNX runtime against the independent PyTorch reference (tools/reference.py,
// outputs in test/fixtures/golden/*.json, regenerate with tools/README.md). Every architecture,
// dtype (F32, F16, BF16), sharded weights and the Hugging Face cache layout; fp32 compute.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel, type Batch } from '../../src/core/runtime/model';
import { decodeTensor } from '../../src/protocol/tensor';
import { allTapNames } from '../../src/core/graph/taps';
import { generateIds } from '../../src/core/runtime/run';

const repo = path.join(__dirname, '..', '..', '..');
const goldenDir = path.join(repo, 'test', 'fixtures', 'golden');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-golden-'));

interface Wire { dims: number[]; data: string }
interface Case {
  name: string;
  ids: number[][];
  mask: number[][] | null;
  positions: number[][];
  logprobs: Wire;
  taps: Record<string, Wire>;
  lens_top1: number[][][];
  resid_norm: number[][][];
}
interface Golden { model: string; model_dir: string; cases: Case[]; greedy: { prompt_ids: number[]; new_ids: number[] } }

const f32 = (w: Wire) => decodeTensor({ dtype: 'float32', dims: w.dims, data: w.data }).values as Float32Array;

function batchOf(c: Case): Batch {
  const b = c.ids.length;
  const s = c.ids[0].length;
  const flat = (rows: number[][]) => BigInt64Array.from(rows.flat(), (v) => BigInt(v));
  return {
    ids: flat(c.ids),
    mask: flat(c.mask ?? c.ids.map((r) => r.map(() => 1))),
    positions: flat(c.positions),
    batch: b,
    seq: s,
    lengths: (c.mask ?? c.ids.map((r) => r.map(() => 1))).map((r) => r.reduce((a, x) => a + x, 0)),
  };
}

/** max |a − b| over real (mask = 1) positions; `width` values per position. */
function maxDiff(a: Float32Array, b: Float32Array, c: Case, width: number, aWidth = width): number {
  let worst = 0;
  const s = c.ids[0].length;
  for (let r = 0; r < c.ids.length; r++) {
    for (let p = 0; p < s; p++) {
      if (c.mask && c.mask[r][p] === 0) continue;
      for (let i = 0; i < width; i++) worst = Math.max(worst, Math.abs(a[(r * s + p) * aWidth + i] - b[(r * s + p) * width + i]));
    }
  }
  return worst;
}

// The other goldens have their own tests: grad.json the v* graph's (gradGolden.test.ts),
// train-grad.json the training graph's (trainGrad.test.ts), trainer.json the trainer's (trainer.test.ts),
// fine-ked.json FINE-KED's metrics (fineKed.test.ts), nullspace.json AlphaEdit's projector (alphaedit.test.ts).
/** The model goldens: <name>.json for each tiny checkpoint test/fixtures/models/<name>/ (the other goldens have their own tests). */
const modelsDir = path.join(repo, 'test', 'fixtures', 'models');
const files = fs.existsSync(goldenDir) ? fs.readdirSync(goldenDir).filter((f) => f.endsWith('.json') && fs.existsSync(path.join(modelsDir, f.slice(0, -5), 'config.json'))).sort() : [];

test('golden fixtures are present for every architecture', () => {
  const models = files.map((f) => f.replace(/\.json$/, ''));
  const all = ['gpt2-tiny', 'gptj-tiny', 'llama-gqa', 'llama3-scaled', 'mistral-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gemma2-tiny', 'gemma3-tiny', 'smollm3-tiny', 'olmo2-tiny', 'phi3-tiny', 'gemma3mm-tiny'];
  for (const m of all) assert.ok(models.includes(m), `missing golden for ${m}`);
});

for (const file of files) {
  const golden: Golden = JSON.parse(fs.readFileSync(path.join(goldenDir, file), 'utf8'));
  describe(`golden ${golden.model}`, () => {
    const model = LoadedModel.open(path.join(repo, golden.model_dir), { provider: 'cpu', threads: 1 });
    after(() => model.release());
    const vocab = model.dims.vocab;

    for (const c of golden.cases) {
      test(`${c.name}: log-probs, every tap, logit lens and norms match PyTorch`, async () => {
        const b = batchOf(c);
        const taps = allTapNames(model.dims.layers).filter((t) => t !== 'logits' && t !== 'final_norm');
        const out = await model.run({ logits: 'all', taps, lens: { k: 1 } }, b);
        const logits = out.logits.data as Float32Array;
        const width = out.logits.dims[2];
        // log-softmax over the vocabulary, in float64
        const lp = new Float32Array(b.batch * b.seq * vocab);
        for (let i = 0; i < b.batch * b.seq; i++) {
          let max = -Infinity;
          for (let v = 0; v < vocab; v++) max = Math.max(max, logits[i * width + v]);
          let sum = 0;
          for (let v = 0; v < vocab; v++) sum += Math.exp(logits[i * width + v] - max);
          const lse = max + Math.log(sum);
          for (let v = 0; v < vocab; v++) lp[i * vocab + v] = logits[i * width + v] - lse;
        }
        const dLp = maxDiff(lp, f32(c.logprobs), c, vocab);
        assert.ok(dLp < 1e-4, `log-probs differ by ${dLp}`);
        let worstTap = 0;
        for (const [name, wire] of Object.entries(c.taps)) {
          const ours = out[name];
          assert.ok(ours, `tap ${name} missing`);
          assert.deepEqual(ours.dims, wire.dims, `${name} dims`);
          const d = maxDiff(ours.data as Float32Array, f32(wire), c, wire.dims[2]);
          assert.ok(d < 1e-4, `${name} differs by ${d}`);
          worstTap = Math.max(worstTap, d);
        }
        console.log(`${golden.model} ${c.name}: max |Δ log-prob| ${dLp.toExponential(1)}, max |Δ tap| ${worstTap.toExponential(1)}`);
        for (let l = 0; l < model.dims.layers; l++) {
          const top = out[`blocks.${l}.lens.ids`].data as BigInt64Array;
          const norms = out[`blocks.${l}.resid_post.norm`].data as Float32Array;
          for (let r = 0; r < b.batch; r++) {
            for (let p = 0; p < b.seq; p++) {
              if (c.mask && c.mask[r][p] === 0) continue;
              assert.equal(Number(top[r * b.seq + p]), c.lens_top1[r][l][p], `lens top-1, row ${r} layer ${l} position ${p}`);
              const ref = c.resid_norm[r][l][p];
              assert.ok(Math.abs(norms[r * b.seq + p] - ref) <= 1e-4 * Math.max(1, ref), `resid norm ${norms[r * b.seq + p]} vs ${ref}`);
            }
          }
        }
      });
    }

    // longrope (Phi-3) picks its RoPE table by the longest position seen, so with a KV cache the
    // keys cached before the switch keep the short table, as Hugging Face's cached generation does;
    // the reference loop recomputes every position. Those checkpoints are compared cache-free.
    const rs = (golden as unknown as { config: { rope_scaling?: { type?: string; rope_type?: string } } }).config.rope_scaling;
    const longrope = (rs?.rope_type ?? rs?.type) === 'longrope';
    if (longrope) {
      test('greedy generation without a cache (longrope) equals the reference loop', async () => {
        const seq = [...golden.greedy.prompt_ids];
        for (let i = 0; i < golden.greedy.new_ids.length; i++) {
          const out = await model.run({ logits: 'last' }, model.makeBatch([seq]));
          const row = out.logits.data as Float32Array;
          let best = 0;
          for (let v = 1; v < vocab; v++) if (row[v] > row[best]) best = v;
          seq.push(best);
        }
        assert.deepEqual(seq.slice(golden.greedy.prompt_ids.length), golden.greedy.new_ids);
      });
      return;
    }
    test('greedy generation with the KV cache equals the reference loop without one', async () => {
      const eos = model.dims.eosIds;
      model.dims.eosIds = []; // the reference does not stop at EOS
      try {
        const r = await generateIds(model, golden.greedy.prompt_ids, { maxTokens: golden.greedy.new_ids.length });
        assert.deepEqual(r.tokens.map((t) => t.id), golden.greedy.new_ids);
      } finally {
        model.dims.eosIds = eos;
      }
    });
  });
}
