// Reverse-mode gradients of the graph builder (src/core/onnx/grad.ts): every rule against central
// finite differences of the same graph's loss, run by onnxruntime on the CPU. Each case builds a
// small graph y = f(inputs), takes loss = Σ (0.5 y² + 0.37 y) (so d loss / d y = y + 0.37 varies
// per element), and compares grad(loss, inputs) with (loss(x + ε e_i) − loss(x − ε e_i)) / 2ε.

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/core/onnx/proto';
import { addGradients } from '../../src/core/onnx/grad';
import { loadOrt } from '../../src/core/runtime/ort';

interface In { name: string; dims: number[]; data?: Float32Array; positive?: boolean }

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const randn = (n: number, positive = false) => Float32Array.from({ length: n }, () => (positive ? 0.5 + rand() : rand() * 2 - 1));

async function checkGrad(label: string, inputs: In[], build: (g: GraphBuilder) => string, tol = 2e-2): Promise<void> {
  const g = new GraphBuilder(label);
  for (const i of inputs) g.input(i.name, 'float32', i.dims);
  const y = build(g);
  const sq = g.op('Mul', [g.op('Mul', [y, y]), g.float(0.5)]);
  const loss = g.op('ReduceSum', [g.op('Add', [sq, g.op('Mul', [y, g.float(0.37)])])], { keepdims: 0 }, 'loss');
  g.output(loss, 'float32', []);
  const grads = addGradients(g, loss, inputs.map((i) => i.name));
  grads.forEach((name, k) => {
    g.op('Identity', [name], {}, `grad_${inputs[k].name}`);
    g.output(`grad_${inputs[k].name}`, 'float32', inputs[k].dims);
  });
  const ort = loadOrt();
  const session = await ort.InferenceSession.create(g.toBytes(), { graphOptimizationLevel: 'disabled' });
  const values = inputs.map((i) => i.data ?? randn(i.dims.reduce((a, b) => a * b, 1), i.positive));
  const feeds = (vals: Float32Array[]) => Object.fromEntries(inputs.map((i, k) => [i.name, new ort.Tensor('float32', vals[k], i.dims)]));
  const out = await session.run(feeds(values));
  const lossAt = async (k: number, j: number, eps: number) => {
    const vals = values.map((v) => Float32Array.from(v));
    vals[k][j] += eps;
    return Number((await session.run(feeds(vals))).loss.data[0]);
  };
  for (let k = 0; k < inputs.length; k++) {
    const analytic = out[`grad_${inputs[k].name}`].data as Float32Array;
    assert.equal(analytic.length, values[k].length, `${label}: grad of ${inputs[k].name} has the input's size`);
    const picks = values[k].length <= 12 ? [...values[k].keys()] : Array.from({ length: 12 }, (_, i) => Math.floor((i * values[k].length) / 12));
    for (const j of picks) {
      const eps = 1e-2;
      const fd = ((await lossAt(k, j, eps)) - (await lossAt(k, j, -eps))) / (2 * eps);
      const err = Math.abs(fd - analytic[j]);
      assert.ok(err <= tol * (1 + Math.abs(fd)), `${label}: d loss/d ${inputs[k].name}[${j}] analytic ${analytic[j]} vs finite difference ${fd}`);
    }
  }
  await session.release();
}

describe('grad: each rule against finite differences', () => {
  test('Add, Sub, Mul, Div with broadcasting', async () => {
    await checkGrad('add', [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [4] }], (g) => g.op('Add', ['a', 'b']));
    await checkGrad('sub', [{ name: 'a', dims: [2, 1, 4] }, { name: 'b', dims: [3, 1] }], (g) => g.op('Sub', ['a', 'b']));
    await checkGrad('mul', [{ name: 'a', dims: [2, 3, 1] }, { name: 'b', dims: [1, 3, 4] }], (g) => g.op('Mul', ['a', 'b']));
    await checkGrad('div', [{ name: 'a', dims: [3, 4] }, { name: 'b', dims: [3, 1], positive: true }], (g) => g.op('Div', ['a', 'b']));
    await checkGrad('same input twice', [{ name: 'a', dims: [5] }], (g) => g.op('Mul', ['a', g.op('Add', ['a', g.float(2)])]));
  });

  test('element-wise functions', async () => {
    for (const op of ['Neg', 'Exp', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'Identity']) {
      await checkGrad(op, [{ name: 'x', dims: [3, 5] }], (g) => g.op(op, ['x']));
    }
    await checkGrad('Sqrt', [{ name: 'x', dims: [7], positive: true }], (g) => g.op('Sqrt', ['x']));
    await checkGrad('Reciprocal', [{ name: 'x', dims: [7], positive: true }], (g) => g.op('Reciprocal', ['x']));
    await checkGrad('Cast', [{ name: 'x', dims: [4] }], (g) => g.op('Cast', ['x'], { to: 1 }));
  });

  test('MatMul: batched with broadcasting, and 2-D', async () => {
    await checkGrad('matmul 5-D', [{ name: 'q', dims: [2, 2, 3, 4, 5] }, { name: 'k', dims: [2, 2, 1, 5, 3] }], (g) => g.op('MatMul', ['q', 'k']));
    await checkGrad('matmul 2-D', [{ name: 'a', dims: [4, 3] }, { name: 'b', dims: [3, 6] }], (g) => g.op('MatMul', ['a', 'b']));
  });

  test('Gemm in every orientation, with bias and alpha', async () => {
    for (const [transA, transB] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      const A = transA ? [3, 4] : [4, 3];
      const B = transB ? [5, 3] : [3, 5];
      await checkGrad(`gemm ${transA}${transB}`, [{ name: 'a', dims: A }, { name: 'b', dims: B }, { name: 'c', dims: [5] }], (g) =>
        g.op('Gemm', ['a', 'b', 'c'], { transA, transB, alpha: { float: 0.7 }, beta: { float: 1.3 } }));
    }
  });

  test('shape ops: Reshape, Transpose, Unsqueeze, Squeeze, Expand, Concat, Split, Slice', async () => {
    await checkGrad('reshape+transpose', [{ name: 'x', dims: [2, 3, 4] }], (g) =>
      g.op('Transpose', [g.op('Reshape', [g.op('Mul', ['x', 'x']), g.int64([0, 0, 2, 2])])], { perm: [0, 2, 3, 1] }));
    await checkGrad('unsqueeze+squeeze', [{ name: 'x', dims: [3, 4] }], (g) =>
      g.op('Squeeze', [g.op('Mul', [g.op('Unsqueeze', ['x', g.int64([1])]), g.float(2)]), g.int64([1])]));
    await checkGrad('expand', [{ name: 'x', dims: [3, 1] }], (g) => g.op('Expand', ['x', g.int64([2, 3, 4])]));
    await checkGrad('concat', [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [2, 2] }], (g) => g.op('Concat', ['a', g.op('Mul', ['b', 'b'])], { axis: 1 }));
    await checkGrad('split, one part unused', [{ name: 'x', dims: [2, 6] }], (g) => {
      const [p, , r] = g.node('Split', ['x', g.int64([2, 1, 3])], { axis: 1 }, ['p', 'q', 'r']);
      return g.op('Concat', [g.op('Exp', [r]), p], { axis: 1 });
    });
    await checkGrad('slice', [{ name: 'x', dims: [2, 3, 8] }], (g) => g.op('Slice', ['x', g.int64([1, 2]), g.int64([2, 99]), g.int64([0, -1])]));
    await checkGrad('slice negative start', [{ name: 'x', dims: [4, 5] }], (g) => g.op('Slice', ['x', g.int64([-3]), g.int64([-1]), g.int64([1])]));
  });

  test('Gather (rows, repeated), GatherElements', async () => {
    await checkGrad('gather', [{ name: 'x', dims: [5, 3] }], (g) => g.op('Gather', ['x', g.int64([4, 0, 4, 2])], { axis: 0 }));
    await checkGrad('gather elements', [{ name: 'x', dims: [3, 6] }], (g) =>
      g.op('GatherElements', ['x', g.constant('idx', BigInt64Array.from([5n, 1n, 0n, 0n, 2n, 2n]), [3, 2])], { axis: 1 }));
  });

  test('Softmax under a causal Where mask, LogSoftmax', async () => {
    const mask = (g0: GraphBuilder) => g0.constant('m', Int32Array.from([1, 0, 0, 1, 1, 0, 1, 1, 1]), [3, 3]);
    await checkGrad('masked softmax', [{ name: 'x', dims: [2, 3, 3] }], (g) =>
      g.op('Softmax', [g.op('Where', [g.op('Cast', [mask(g)], { to: 9 }), g.op('Mul', ['x', g.float(3)]), g.float(-3.4e38)])], { axis: -1 }));
    await checkGrad('log softmax', [{ name: 'x', dims: [3, 7] }], (g) => g.op('LogSoftmax', [g.op('Mul', ['x', g.float(2)])], { axis: -1 }));
    await checkGrad('where both branches', [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }], (g) =>
      g.op('Where', [g.op('Greater', ['a', g.float(0)]), 'a', 'b']));
  });

  test('ReduceSum, ReduceMean, LayerNormalization, RMS norm', async () => {
    await checkGrad('reducesum', [{ name: 'x', dims: [2, 3, 4] }], (g) => g.op('ReduceSum', [g.op('Mul', ['x', 'x']), g.int64([1])], { keepdims: 0 }));
    await checkGrad('reducemean', [{ name: 'x', dims: [2, 3, 4] }], (g) => g.op('ReduceMean', [g.op('Exp', ['x'])], { axes: [-1], keepdims: 1 }));
    await checkGrad('layernorm', [{ name: 'x', dims: [2, 3, 6] }], (g) =>
      g.op('LayerNormalization', ['x', g.float([1, 0.5, 2, -1, 1.5, 0.3]), g.float([0.1, 0, 0, 0.2, 0, 0])], { axis: -1, epsilon: { float: 1e-5 } }));
    await checkGrad('rms norm', [{ name: 'x', dims: [3, 5] }], (g) => {
      const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [g.op('ReduceMean', [g.op('Mul', ['x', 'x'])], { axes: [-1], keepdims: 1 }), g.float(1e-6)])])]);
      return g.op('Mul', [g.float([1, 2, 0.5, 1, -1]), g.op('Mul', ['x', inv])]);
    });
  });

  test('an op without a rule is refused by name', () => {
    const g = new GraphBuilder('no-rule');
    g.input('x', 'float32', [3]);
    const y = g.op('ReduceSum', [g.op('Sin', ['x'])], { keepdims: 0 });
    assert.throws(() => addGradients(g, y, ['x']), /no gradient rule for ONNX op Sin/);
  });
});
