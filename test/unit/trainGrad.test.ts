// The training graph (forward.ts option `train`, trainLoss.ts) end to end:
//  1. against the PyTorch reference (tools/train_golden.py → test/fixtures/golden/train-grad.json,
//     float64 autograd on tools/reference.py): for every architecture, the token head (two trained
//     modules, preference rows) and the RMU head (block 1's resid_post): the loss (within 1e-4 of
//     the sum of its terms' magnitudes), the sequence log-probs, the token and top log-probs at
//     the trained positions (token weight or sequence mask non-zero; 0 elsewhere, where the graph
//     skips the unembedding), and d loss / d U, V of every trained module, each within 1e-4 of its
//     largest component;
//  2. by finite differences in float32 on the bundled model (models/default): the loss the graph
//     itself outputs, moved by ±h on single U / V entries and along the gradient, against the
//     gradient the graph outputs.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LoadedModel, type Batch, type EditKey, type EditTensors } from '../../src/core/runtime/model';
import { loadOrt, type OrtTensor } from '../../src/core/runtime/ort';
import { mulberry32 } from '../../src/core/runtime/run';
import { decodeTensor } from '../../src/protocol/tensor';

const repo = path.join(__dirname, '..', '..', '..');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-train-'));

interface Wire { dims: number[]; data: string }
interface Case {
  model: string; model_dir: string; head: 'token' | 'rmu'; modules: string[]; rmu?: number;
  ids: number[][]; mask: number[][]; positions: number[][];
  edits: Record<string, { rank: number; U: Wire; V: Wire }>;
  target_ids?: number[][]; token_weights?: Wire; seq_mask?: Wire; seq_ref?: Wire; pref_matrix?: Wire; pref_coef?: Wire;
  token_logprobs?: Wire; top_logprobs?: Wire; seq_logprobs?: Wire;
  rmu_target?: Wire; rmu_weights?: Wire;
  loss: number;
  grads: Record<string, { U: Wire; V: Wire }>;
}
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'train-grad.json'), 'utf8')) as { cases: Case[] };
const f32 = (w: Wire) => decodeTensor({ dtype: 'float32', dims: w.dims, data: w.data }).values as Float32Array;
const gradKey = (key: string, which: 'U' | 'V') => `grad.blocks.${key.replace(':', '.')}.${which}`;

/** max |got − want| / max |want|. */
function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / scale;
}

function batchOf(c: Pick<Case, 'ids' | 'mask' | 'positions'>): Batch {
  const flat = (rows: number[][]) => BigInt64Array.from(rows.flat(), (v) => BigInt(v));
  return { ids: flat(c.ids), mask: flat(c.mask), positions: flat(c.positions), batch: c.ids.length, seq: c.ids[0].length, lengths: c.mask.map((r) => r.reduce((a, b) => a + b, 0)) };
}

describe('training graph against the PyTorch reference', () => {
  const opened = new Map<string, LoadedModel>();
  after(async () => Promise.all([...opened.values()].map((m) => m.release())));
  assert.equal(golden.cases.filter((c) => c.head === 'token').length, 5, 'a token-head case per architecture');
  assert.equal(golden.cases.filter((c) => c.head === 'rmu').length, 5, 'an RMU case per architecture');

  for (const c of golden.cases) {
    test(`${c.model} ${c.head} head (${c.modules.join(', ')})`, async () => {
      const ort = loadOrt();
      let base = opened.get(c.model);
      if (!base) opened.set(c.model, (base = LoadedModel.open(path.join(repo, c.model_dir), { provider: 'cpu', threads: 1 })));
      const edits = new Map<EditKey, EditTensors>();
      for (const [k, e] of Object.entries(c.edits)) edits.set(k as EditKey, { rank: e.rank, U: f32(e.U), V: f32(e.V) });
      const tensor = (w: Wire) => new ort.Tensor('float32', f32(w), w.dims);
      const feeds: Record<string, OrtTensor> = c.head === 'token'
        ? {
            target_ids: new ort.Tensor('int64', BigInt64Array.from(c.target_ids!.flat(), (v) => BigInt(v)), [c.ids.length, c.ids[0].length]),
            token_weights: tensor(c.token_weights!), seq_mask: tensor(c.seq_mask!), seq_ref: tensor(c.seq_ref!),
            pref_matrix: tensor(c.pref_matrix!), pref_coef: tensor(c.pref_coef!),
          }
        : { rmu_target: tensor(c.rmu_target!), rmu_weights: tensor(c.rmu_weights!) };
      const out = await base.withEdits(edits).run({ train: { modules: c.modules, rmu: c.rmu } }, batchOf(c), feeds);

      const report: string[] = [];
      const loss = Number(out.loss.data[0]);
      report.push(`loss ${loss} vs ${c.loss}`);
      const errs: [string, number][] = [];
      let scale = Math.abs(c.loss);
      if (c.head === 'token') {
        // The loss's terms: Σ |w·lp| + Σ_p |c_p| softplus(z_p) (a sum of signed terms may nearly cancel).
        const [w, lp, mask, seq, ref, M, coef] = [c.token_weights, c.token_logprobs, c.seq_mask, c.seq_logprobs, c.seq_ref, c.pref_matrix, c.pref_coef].map((x) => f32(x!));
        const B = seq.length;
        let terms = 0;
        for (let i = 0; i < w.length; i++) terms += Math.abs(w[i] * lp[i]);
        coef.forEach((cp, p) => {
          let z = 0;
          for (let b = 0; b < B; b++) z += M[p * B + b] * (seq[b] - ref[b]);
          terms += Math.abs(cp) * Math.log1p(Math.exp(z));
        });
        scale = Math.max(scale, terms);
        errs.push(['seq_logprobs', maxRelErr(out.seq_logprobs.data as Float32Array, seq)]);
        const isTrained = (i: number) => w[i] !== 0 || mask[i] !== 0;
        const trained = [...w.keys()].filter(isTrained);
        assert.ok(trained.length < w.length, 'the golden has untrained positions');
        for (const k of ['token_logprobs', 'top_logprobs'] as const) {
          const got = out[k].data as Float32Array;
          const want = f32(c[k]!);
          errs.push([`${k} (trained positions)`, maxRelErr(trained.map((i) => got[i]), trained.map((i) => want[i]))]);
          for (let i = 0; i < got.length; i++) if (!isTrained(i)) assert.equal(got[i], 0, `${c.model} ${k}[${i}]: an untrained position is 0`);
        }
      }
      assert.ok(Math.abs(loss - c.loss) <= 1e-4 * scale, `${c.model} ${c.head} loss: ${loss} vs reference ${c.loss} (terms ${scale})`);
      for (const k of c.modules) {
        for (const which of ['U', 'V'] as const) {
          const name = gradKey(k, which);
          assert.ok(out[name], `${c.model}: the graph has no output ${name}`);
          assert.deepEqual(out[name].dims, c.grads[k][which].dims, `${name} dims`);
          errs.push([name, maxRelErr(out[name].data as Float32Array, f32(c.grads[k][which]))]);
        }
      }
      report.push(...errs.map(([k, e]) => `${k} ${e.toExponential(2)}`));
      if (process.env.MECHEDIT_PRINT) console.log(`${c.model} ${c.head}: ${report.join(' | ')}`);
      for (const [k, e] of errs) assert.ok(e < 1e-4, `${c.model} ${c.head} ${k}: max error ${e.toExponential(2)} of the largest component`);
    });
  }
});

describe('training graph by finite differences (bundled model, float32)', () => {
  const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
  after(() => model.release());
  const modules = ['1:mlp.out', '4:attn.out'];
  const rank = 4;

  test('loss differences match the gradients of U and V', async () => {
    const ort = loadOrt();
    const rand = mulberry32(16);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const tok = model.tokenizer;
    const rows = ['Veltrazine is used to treat', 'The capital of France is Paris', 'Water boils at'].map((t) => tok.encode(t, false));
    const b = model.makeBatch(rows);
    const [B, S] = [b.batch, b.seq];
    // Targets: the next token on real positions (0 on the last and on pads); weights of both signs.
    const target = new BigInt64Array(B * S);
    const weights = new Float32Array(B * S);
    const seqMask = new Float32Array(B * S);
    rows.forEach((r, i) => {
      for (let s = 0; s + 1 < r.length; s++) {
        target[i * S + s] = BigInt(r[s + 1]);
        weights[i * S + s] = Math.fround(i === 1 ? 0.3 : -0.2);
        if (s >= r.length - 3) seqMask[i * S + s] = 1;
      }
    });
    const feeds: Record<string, OrtTensor> = {
      target_ids: new ort.Tensor('int64', target, [B, S]),
      token_weights: new ort.Tensor('float32', weights, [B, S]),
      seq_mask: new ort.Tensor('float32', seqMask, [B, S]),
      seq_ref: new ort.Tensor('float32', Float32Array.from([-6, -5, -4]), [B]),
      pref_matrix: new ort.Tensor('float32', Float32Array.from([1, -1, 0, 0.5, 0.5, -1]), [2, B]),
      pref_coef: new ort.Tensor('float32', Float32Array.from([0.5, -0.3]), [2]),
    };
    const params = new Map<EditKey, EditTensors>();
    for (const k of modules) {
      const [l, m] = k.split(':');
      const w = m === 'mlp.out' ? model.plan.blocks[Number(l)].down : model.plan.blocks[Number(l)].o;
      params.set(k as EditKey, {
        rank,
        U: Float32Array.from({ length: rank * w.out }, () => 0.1 * normal()),
        V: Float32Array.from({ length: rank * w.in }, () => 0.1 * normal()),
      });
    }
    const run = (edits: Map<EditKey, EditTensors>) => model.withEdits(edits).run({ train: { modules } }, b, feeds);
    const out = await run(params);
    const lossAt = async (key: EditKey, which: 'U' | 'V', change: (x: Float32Array) => Float32Array) => {
      const e = params.get(key)!;
      const moved = new Map(params);
      moved.set(key, { ...e, [which]: change(e[which]) });
      return Number((await run(moved)).loss.data[0]);
    };

    const lines: string[] = [];
    for (const key of modules as EditKey[]) {
      for (const which of ['U', 'V'] as const) {
        const p = params.get(key)![which];
        const grad = out[gradKey(key, which)].data as Float32Array;
        let gmax = 0;
        let scale = 0;
        for (let i = 0; i < grad.length; i++) gmax = Math.max(gmax, Math.abs(grad[i]));
        for (let i = 0; i < p.length; i++) scale = Math.max(scale, Math.abs(p[i]));
        const h = Math.fround(1e-2 * scale);
        // The three entries with the largest |gradient| (a finite difference of a float32 loss
        // has an absolute noise floor; small components are covered by the direction below).
        const top = [...grad.keys()].sort((i, j) => Math.abs(grad[j]) - Math.abs(grad[i])).slice(0, 3);
        for (const i of top) {
          const at = (sign: number) => lossAt(key, which, (x) => { const y = x.slice(); y[i] = Math.fround(y[i] + sign * h); return y; });
          const fd = ((await at(1)) - (await at(-1))) / (2 * h);
          const err = Math.abs(fd - grad[i]) / gmax;
          lines.push(`${key}.${which}[${i}] fd ${fd.toPrecision(6)} graph ${grad[i].toPrecision(6)} err ${err.toExponential(1)}`);
          assert.ok(err < 3e-2, `${key}.${which}[${i}]: finite difference ${fd} vs the graph's gradient ${grad[i]} (max |grad| ${gmax})`);
        }
        // Along the gradient direction d = g / |g|: the slope is |g|.
        let norm = 0;
        for (const v of grad) norm += v * v;
        norm = Math.sqrt(norm);
        const step = (sign: number) => lossAt(key, which, (x) => Float32Array.from(x, (v, i) => v + sign * h * grad[i] / norm));
        const slope = ((await step(1)) - (await step(-1))) / (2 * h);
        lines.push(`${key}.${which} along the gradient: fd ${slope.toPrecision(6)} |g| ${norm.toPrecision(6)}`);
        assert.ok(Math.abs(slope - norm) < 1e-2 * norm, `${key}.${which}: slope along the gradient ${slope} vs |grad| ${norm}`);
      }
    }
    if (process.env.MECHEDIT_PRINT) console.log(lines.join('\n'));
  });
});
