// GLAME: the relational GNN's output and gradients (with and without dropout) and its AdamW loop on
// the GNN weights against PyTorch (tools/glame_golden.py), the subgraph around the new object on a
// hand-written graph, the graph files' bad records by line and field, and one GLAME edit on the
// bundled model that takes and records its subgraph.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rgcnBackward, rgcnForward } from '../../src/core/edits/rgcn';
import { extractSubgraph, layoutSubgraph, parseTriplesJsonl, readKnowledgeGraph, relationOfPrompt, type KnowledgeGraph, type Triple } from '../../src/core/edits/knowledgeGraph';
import { computeGlame, labelFeatures } from '../../src/core/edits/glame';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit, writeEdit } from '../../src/core/edits/editFile';
import { scoreAnswers } from '../../src/core/runtime/answers';
import { clampGradient, optimiseDelta, type DeltaBasis } from '../../src/core/edits/vstar';
import { tapName } from '../../src/core/graph/taps';
import { subgraphMarkdown } from '../../src/extension/views/subgraphTable';
import { mulberry32 } from '../../src/core/runtime/run';
import type { MechEditError } from '../../src/core/errors';

const repo = path.join(__dirname, '..', '..', '..');
const defaultModel = path.join(repo, 'models', 'default');
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-glame-'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-glame-files-'));

describe('GLAME relational GNN', () => {
  test('output and gradients wrt every weight match PyTorch autograd (tools/glame_golden.py)', () => {
    const g = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'glame.json'), 'utf8'));
    const graph = { nodes: g.nodes, edges: g.edges };
    const theta = Float64Array.from(g.theta as number[]);
    const cache = rgcnForward(theta, g.d, graph, Float64Array.from(g.x as number[]), Float64Array.from(g.rel as number[]), g.layers);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));
    cache.out.forEach((v, i) => assert.ok(rel(v, g.out[i]) < 1e-9, `out[${i}] ${v} vs ${g.out[i]}`));
    const loss = cache.out.reduce((s, v, i) => s + g.C[i] * v + 0.5 * v * v, 0);
    assert.ok(rel(loss, g.loss) < 1e-9, `loss ${loss} vs ${g.loss}`);
    const grads = rgcnBackward(theta, g.d, graph, cache, Float64Array.from(cache.out, (v, i) => g.C[i] + v));
    assert.equal(grads.length, g.grads.length);
    // Every weight matrix (both layers' W_nb, W_loop and W_evolve: node 4 has no edge in) has gradient.
    for (let m = 0; m < 6; m++) assert.ok(g.grads.slice(m * g.d * g.d, (m + 1) * g.d * g.d).some((x: number) => x !== 0), `matrix ${m} has gradient`);
    let worst = 0;
    grads.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - g.grads[i]) / Math.max(1e-6, Math.abs(g.grads[i])))));
    assert.ok(worst < 1e-5, `worst relative gradient error ${worst}`);
  });

  test('with dropout (p = 0.3, GLAME\'s cf preset), masks from PyTorch\'s uniforms: output and every gradient match autograd', (t) => {
    const g = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'glame.json'), 'utf8'));
    const dg = g.dropout;
    const graph = { nodes: g.nodes, edges: g.edges };
    const theta = Float64Array.from(g.theta as number[]);
    // rgcnForward draws one uniform per unit, layer by layer, row-major, and drops where it is < p:
    // fed the fixture's uniforms, its masks are the ones PyTorch used.
    const units = g.nodes * g.d;
    let drawn = 0;
    const rand = () => dg.uniforms[drawn++] as number;
    const cache = rgcnForward(theta, g.d, graph, Float64Array.from(g.x as number[]), Float64Array.from(g.rel as number[]), g.layers, { p: dg.p, rand });
    assert.equal(drawn, g.layers * units, 'one draw per unit per layer');
    cache.masks.forEach((mask, l) => {
      assert.ok(mask, `layer ${l} has a mask`);
      assert.equal(mask!.filter((v) => v === 0).length, dg.dropped[l], `layer ${l}: units dropped`);
      mask!.forEach((v, i) => assert.equal(v, dg.uniforms[l * units + i] < dg.p ? 0 : 1 / (1 - dg.p)));
    });
    assert.ok(dg.dropped.every((n: number) => n > 0 && n < units), 'each layer drops some units and keeps some');
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));
    let worstOut = 0;
    cache.out.forEach((v, i) => (worstOut = Math.max(worstOut, rel(v, dg.out[i]))));
    assert.ok(worstOut < 1e-9, `worst relative output error ${worstOut}`);
    // The last layer's dropout acts on the output itself: dropped units are exactly 0.
    cache.masks[g.layers - 1]!.forEach((m, i) => assert.ok(m !== 0 || cache.out[i] === 0, `out[${i}] dropped`));
    const loss = cache.out.reduce((s, v, i) => s + g.C[i] * v + 0.5 * v * v, 0);
    assert.ok(rel(loss, dg.loss) < 1e-9, `loss ${loss} vs ${dg.loss}`);
    assert.ok(rel(dg.loss, g.loss) > 0.01, 'dropout changes the loss');
    const grads = rgcnBackward(theta, g.d, graph, cache, Float64Array.from(cache.out, (v, i) => g.C[i] + v));
    assert.equal(grads.length, dg.grads.length);
    for (let m = 0; m < 6; m++) assert.ok(dg.grads.slice(m * g.d * g.d, (m + 1) * g.d * g.d).some((x: number) => x !== 0), `matrix ${m} has gradient`);
    let worst = 0;
    grads.forEach((v, i) => (worst = Math.max(worst, rel(v, dg.grads[i]))));
    assert.ok(worst < 1e-4, `worst relative gradient error ${worst}`);
    t.diagnostic(`dropout: worst relative error out ${worstOut.toExponential(2)}, gradients ${worst.toExponential(2)}`);
    // The masks matter to the gradient: the eval-mode gradients differ.
    assert.ok(dg.grads.some((v: number, i: number) => rel(v, g.grads[i]) > 0.01));
  });

  test('GLAME\'s loop on the GNN weights (AdamW lr 0.5, decay 0.1, dropout 0.3, clamp 4‖v_init‖) matches torch.optim.AdamW step by step', async (t) => {
    const g = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'glame.json'), 'utf8'));
    const lp = g.loop;
    const d: number = g.d;
    const graph = { nodes: g.nodes, edges: g.edges };
    const x = Float64Array.from(g.x as number[]);
    const relEmb = Float64Array.from(g.rel as number[]);
    // The basis as computeGlame builds it: δ = GNN(θ)[s] with dropout masks drawn from the fixture's
    // uniforms (one forward per step), the eval-mode network after the loop.
    let drawn = 0;
    const drop = { p: lp.p, rand: () => lp.uniforms[drawn++] as number };
    let cache = rgcnForward(Float64Array.from(g.theta as number[]), d, graph, x, relEmb);
    let at = new Float64Array(0);
    const row = (c: typeof cache) => c.out.slice(lp.subject * d, (lp.subject + 1) * d);
    const basis: DeltaBasis = {
      dim: g.theta.length,
      map: (theta) => row((cache = rgcnForward((at = Float64Array.from(theta)), d, graph, x, relEmb, g.layers, drop))),
      adjoint: (grad) => {
        const gOut = new Float64Array(g.nodes * d);
        gOut.set(grad, lp.subject * d);
        return rgcnBackward(at, d, graph, cache, gOut);
      },
      nonlinear: { init: Float64Array.from(g.theta as number[]), final: (theta) => row(rgcnForward(theta, d, graph, x, relEmb)) },
    };
    // A stand-in for the model: v_init at the lookup, and the v* graph's loss sum(c δ) + 0.5 ‖δ‖² with its gradient.
    const lossOf = (delta: Float32Array) => delta.reduce((s, v, j) => s + lp.c[j] * v + 0.5 * v * v, 0);
    const model = {
      dims: { dModel: d },
      plan: { unembed: { w: { shape: [2, d] } }, spec: { weights: { block: {} } } },
      makeBatch: () => ({ batch: 1, seq: 1 }),
      run: async (options: { taps?: string[] }, _b: unknown, feeds?: Record<string, { data: Float32Array }>) => {
        if (options.taps) return { [tapName(0, 'resid_post')]: { data: new Float32Array(d) }, [tapName(0, 'mlp_out')]: { data: Float32Array.from(lp.vInit) } };
        const delta = feeds!.delta.data;
        const loss = lossOf(delta);
        return { loss: { data: [loss] }, loss_nll: { data: [loss] }, nll_logprobs: { data: Float32Array.of(0) }, grad_delta: { data: Float32Array.from(delta, (v, j) => lp.c[j] + v) } };
      },
    } as unknown as LoadedModel;
    const problem = { layer: 0, rows: [[0]], lookups: [0], nll: [{ row: 0, pos: 0, target: 0, weight: 1 }], kl: [], klTeacher: new Float32Array(0), init: 'mlp_out' as const, basis };
    const r = await optimiseDelta(model, problem, { steps: lp.steps, lr: lp.lr, adamWDecay: lp.weightDecay, weightDecay: 0, clamp: lp.clamp, stopLoss: -Infinity });
    assert.equal(drawn, lp.uniforms.length, 'one set of masks per step');
    assert.ok(lp.clamped.includes(true) && lp.clamped.includes(false), 'the clamp acts on some steps and not on others');
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));
    assert.equal(r.steps.length, lp.steps);
    // δ goes to the model in float32: losses within 1e-5 relative, the parameters within 1e-4.
    r.steps.forEach((s, i) => assert.ok(rel(s.loss, lp.losses[i]) < 1e-5, `step ${i}: loss ${s.loss} vs ${lp.losses[i]}`));
    let worst = 0;
    r.theta!.forEach((v, i) => (worst = Math.max(worst, rel(v, lp.theta[i]))));
    assert.ok(worst < 1e-4, `worst relative parameter error ${worst}`);
    assert.ok(lp.theta.some((v: number, i: number) => rel(v, g.theta[i]) > 0.1), 'the steps move the weights');
    let worstDelta = 0;
    r.delta.forEach((v, j) => (worstDelta = Math.max(worstDelta, rel(v, lp.finalDelta[j]))));
    assert.ok(worstDelta < 1e-4, `worst relative error of the final δ ${worstDelta}`);
    assert.ok(rel(r.finalLoss!, lp.finalLoss) < 1e-5, `final loss ${r.finalLoss} vs ${lp.finalLoss}`);
    t.diagnostic(`loop: worst relative error θ ${worst.toExponential(2)}, final δ ${worstDelta.toExponential(2)}, losses ${Math.max(...r.steps.map((s, i) => rel(s.loss, lp.losses[i]))).toExponential(2)}`);
  });

  test('the gradient through the clamp δ = M x / ‖x‖ matches central finite differences', () => {
    const rand = mulberry32(5);
    const n = 7;
    const M = 1.5;
    const x = Float64Array.from({ length: n }, () => 2 * rand() - 1);
    const c = Float64Array.from({ length: n }, () => 2 * rand() - 1);
    const clamp = (v: Float64Array) => {
      const len = Math.hypot(...v);
      return v.map((y) => (y * M) / len);
    };
    const loss = (v: Float64Array) => clamp(v).reduce((s, y, j) => s + c[j] * y + y * y * y, 0);
    const delta = clamp(x);
    const g = clampGradient(Float64Array.from(delta, (y, j) => c[j] + 3 * y * y), delta, Math.hypot(...x));
    for (let j = 0; j < n; j++) {
      const up = Float64Array.from(x);
      const down = Float64Array.from(x);
      up[j] += 1e-6;
      down[j] -= 1e-6;
      const numeric = (loss(up) - loss(down)) / 2e-6;
      assert.ok(Math.abs(numeric - g[j]) < 1e-6 * (1 + Math.abs(numeric)), `∂/∂x[${j}]: ${g[j]} vs ${numeric}`);
    }
  });
});

describe('knowledge graphs', () => {
  const t = (subject: string, relation: string, object: string): Triple => ({ subject, relation, object });
  const graph: KnowledgeGraph = {
    file: 'hand.jsonl',
    kind: 'triples',
    triples: [
      t('Paris', 'country', 'France'),
      t('Lyon', 'country', 'France'),
      t('Rome', 'country', 'Italy'),
      t('Rome', 'language', 'Italian'),
      t('Rome', 'country', 'Italy'), // a repeat
      t('Ada', 'born in', 'London'),
      t('Rome', 'river', 'Tiber'),
    ],
  };
  const edit = t('Ada', 'born in', 'Rome');

  test('the subgraph is the edit triple, then the new object\'s outgoing triples in order, without repeats, capped at n', () => {
    const all = extractSubgraph(graph, edit, 20);
    assert.deepEqual(all.triples, [edit, t('Rome', 'country', 'Italy'), t('Rome', 'language', 'Italian'), t('Rome', 'river', 'Tiber')]);
    assert.equal(all.leftOut, 0);
    const capped = extractSubgraph(graph, edit, 2);
    assert.deepEqual(capped.triples, [edit, t('Rome', 'country', 'Italy')]);
    assert.equal(capped.leftOut, 2);
    assert.deepEqual(extractSubgraph(graph, t('Ada', 'born in', 'Nowhere'), 5).triples, [t('Ada', 'born in', 'Nowhere')]);
    assert.throws(() => extractSubgraph(graph, edit, 0), /positive whole number/);
  });

  test('the GNN reads it with nodes sorted by label and every edge reversed (object → subject)', () => {
    const l = layoutSubgraph(extractSubgraph(graph, edit, 20).triples);
    assert.deepEqual(l.nodes, ['Ada', 'Italian', 'Italy', 'Rome', 'Tiber']);
    assert.deepEqual(l.relations, ['born in', 'country', 'language', 'river']);
    // Rome → Ada, Italy → Rome, Italian → Rome, Tiber → Rome: two layers reach Ada from Italy.
    assert.deepEqual(l.edges, [{ src: 3, dst: 0, rel: 0 }, { src: 2, dst: 3, rel: 1 }, { src: 1, dst: 3, rel: 2 }, { src: 4, dst: 3, rel: 3 }]);
  });

  const write = (name: string, lines: unknown[]) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
    return f;
  };

  test('triples JSON Lines: bad records are refused by line and field; literals are not nodes', () => {
    const ok = { subject: 'Rome', relation: 'country', object: 'Italy' };
    const cases: [string, unknown[], RegExp, string][] = [
      ['not-json.jsonl', [ok, '{oops'], /Line 2 is not valid JSON/, 'line 2'],
      ['no-object.jsonl', [ok, '', { subject: 'Rome', relation: 'river' }], /line 3: "object" must be a non-empty string/, 'line 3: object'],
      ['empty-relation.jsonl', [{ ...ok, relation: ' ' }], /line 1: "relation"/, 'line 1: relation'],
      ['array.jsonl', [ok, [1, 2]], /Line 2 is not a JSON object/, 'line 2'],
      ['literal.jsonl', [{ ...ok, literal: 'yes' }], /"literal" must be true or false/, 'line 1: literal'],
    ];
    for (const [name, lines, message, field] of cases) {
      const f = write(name, lines);
      assert.throws(() => readKnowledgeGraph(f), (e: MechEditError) => message.test(e.message) && e.data.code === 'bad-input' && e.data.field === field && e.data.file === f, name);
    }
    assert.throws(() => readKnowledgeGraph(path.join(tmp, 'missing.jsonl')), /not there/);
    const g = parseTriplesJsonl('x.jsonl', ['// a comment', JSON.stringify(ok), JSON.stringify({ subject: 'Rome', relation: 'population', object: '2.8 million', literal: true })].join('\n'));
    assert.deepEqual(g, [ok]);
  });

  test('GLAME\'s per-case graphs: the case holding the edit, its triples as given; bad records by record and field', () => {
    const cases = [
      { case_id: 0, triples: [{ subject: 'Ada', relation: 'born in', target: 'Paris' }, { subject: 'Paris', relation: 'country', target: 'France' }] },
      { case_id: 7, triples: [{ subject: 'Ada', relation: 'born in', target: 'Rome' }, { subject: 'Rome', relation: 'country', target: 'Italy' }, { subject: 'Rome', relation: 'river', target: 'Tiber' }] },
    ];
    const f = path.join(tmp, 'cases.json');
    fs.writeFileSync(f, JSON.stringify(cases));
    const g = readKnowledgeGraph(f);
    assert.equal(g.kind, 'cases');
    const sub = extractSubgraph(g, edit, 2);
    assert.equal(sub.caseId, '7');
    assert.deepEqual(sub.triples, [edit, t('Rome', 'country', 'Italy')]);
    assert.equal(extractSubgraph(g, edit, 9, '0').triples[1].object, 'France');
    assert.throws(() => extractSubgraph(g, t('Bob', 'born in', 'Oslo'), 5), (e: MechEditError) => /No case/.test(e.message) && e.data.field === 'case_id');
    const bad = path.join(tmp, 'bad-cases.json');
    fs.writeFileSync(bad, JSON.stringify([cases[0], { case_id: 1, triples: [{ subject: 'Ada', relation: 'born in' }] }]));
    assert.throws(() => readKnowledgeGraph(bad), (e: MechEditError) => e.data.field === 'record 1 triples[0]: target' && e.data.file === bad);
  });

  test('the bundled world: relations by their labels; an edit\'s prompt names its relation', () => {
    const g = readKnowledgeGraph(path.join(defaultModel, 'world.json'));
    const world = JSON.parse(fs.readFileSync(path.join(defaultModel, 'world.json'), 'utf8'));
    assert.equal(g.triples.length, world.facts.length);
    assert.equal(relationOfPrompt(g, '{} was born in'), world.relations.birthplace.label);
    assert.equal(relationOfPrompt(g, '{} lives near'), 'lives near');
  });
});

describe('a GLAME edit on the bundled model', () => {
  const model = LoadedModel.open(defaultModel, { provider: 'cpu', threads: 1 });
  after(() => model.release());
  const world = JSON.parse(fs.readFileSync(path.join(defaultModel, 'world.json'), 'utf8'));
  const request = { subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Nianhandova' };

  test('takes (target top-1), δ is the GNN\'s output at the subject, and the file records the subgraph', async () => {
    const stack = new EditStack(model);
    const { edit, report } = await computeGlame(model, stack, request, { hparams: { steps: 40 } });
    // The subgraph, from world.json directly: the edit triple, then the target's own facts.
    const label = (r: string) => world.relations[r].label;
    const expected = [[request.subject, label('birthplace'), request.target], ...world.facts.filter((f: Triple) => f.subject === request.target).map((f: Triple) => [f.subject, label(f.relation), f.object])];
    assert.ok(expected.length >= 2);
    const sg = edit.json.hparams!.subgraph as { triples: string[][]; n: number; featureLayer: number; source: string };
    assert.deepEqual(sg.triples, expected);
    assert.equal(sg.n, 20);
    assert.equal(sg.featureLayer, 0);
    assert.equal(sg.source, 'world.json');
    assert.equal(edit.json.method, 'glame');
    // δ = clamp(GNN(θ)[s]) with the features of the nodes and relations (the loop stopped under 0.04, so no best-step swap).
    const v = report.vstar;
    assert.ok(v.steps[v.steps.length - 1].loss < 0.04);
    const l = layoutSubgraph(report.subgraph.triples);
    const d = model.dims.dModel;
    const feats = await labelFeatures(model, 0, [...l.nodes, ...l.relations]);
    const out = rgcnForward(v.theta!, d, { nodes: l.nodes.length, edges: l.edges }, feats.subarray(0, l.nodes.length * d), feats.subarray(l.nodes.length * d)).out;
    const s = l.nodes.indexOf(request.subject);
    const raw = out.slice(s * d, (s + 1) * d);
    const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((a, b) => a + b * b, 0));
    const scale = Math.min(1, (4 * norm(v.vInit)) / norm(raw));
    raw.forEach((x, j) => assert.ok(Math.abs(x * scale - v.delta[j]) < 1e-9 * (1 + Math.abs(v.delta[j])), `δ[${j}]`));
    // It takes, and the file (schema-checked on reading) keeps the subgraph.
    const withIt = stack.fork();
    withIt.apply(edit);
    const [score] = await scoreAnswers(withIt.model, [{ prompt: `${request.subject} was born in`, answer: request.target }]);
    assert.ok(score.tokenTop.every(Boolean), `the target is top-1 after the edit (P ${Math.exp(score.meanLogprob)})`);
    const file = writeEdit(path.join(tmp, 'edits'), edit, (t) => ({ out: d, in: model.plan.blocks[t.layer].down.in }), model.checkpoint);
    assert.deepEqual((readEdit(file).json.hparams!.subgraph as { triples: string[][] }).triples, expected);
    // The edit tree's tooltip shows it as a table, the edit triple first.
    const table = subgraphMarkdown(file).split('\n');
    assert.match(table[0], /GLAME subgraph from world\.json: \d+ triples; features at block 0/);
    assert.deepEqual(table.slice(4), expected.map((t, i) => `| ${i === 0 ? 'edit' : i} | ${t.join(' | ')} |`));
    fs.writeFileSync(path.join(tmp, 'plain.json'), JSON.stringify({ hparams: { layer: 0 } }));
    assert.equal(subgraphMarkdown(path.join(tmp, 'plain.json')), '');
  });
});
