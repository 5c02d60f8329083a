// Reverse-mode differentiation of a GraphBuilder graph: addGradients(g, loss, wrt) appends the
// backward nodes to the same graph and returns, for each name in `wrt`, the name of d loss / d wrt
// (same shape as wrt). Only nodes on a path from `wrt` to `loss` are differentiated; weights and
// other constants get no gradient. Shapes are taken at run time (Shape ops), so the rules work for
// symbolic batch and sequence sizes and for broadcasting, whose gradients are summed back to the
// input's shape by `unbroadcast`.
//
// Supported ops (what the forward builder emits): Identity, Cast, Add, Sub, Mul, Div, Neg,
// Reciprocal, Sqrt, Exp, Erf, Tanh, Sigmoid, Relu, Softplus, MatMul, Gemm, Reshape, Squeeze, Unsqueeze,
// Transpose, Expand, Concat, Split, Slice (step 1, constant bounds), Gather (axis 0),
// GatherElements, Softmax, LogSoftmax, ReduceSum, ReduceMean, Where, LayerNormalization
// (last axis). Any other op on the path is an error naming it.

import type { onnx } from 'onnx-proto';
import type { AttrValue, GraphBuilder } from './proto';
import { inferShapes, sameShape, type SShape } from './shapes';

type Node = onnx.INodeProto;
type Rule = (b: Backward, n: Node, gy: (i: number) => string | undefined) => (string | undefined)[];

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Appends d loss / d x for every x in `wrt`; `loss` must be a float tensor (usually a scalar). */
export function addGradients(g: GraphBuilder, loss: string, wrt: string[]): string[] {
  return new Backward(g).run(loss, wrt);
}

class Backward {
  private readonly grads = new Map<string, string[]>();
  private needs = new Set<string>();
  /** Static shapes of the forward values (shapes.ts), and the node whose rule is running. */
  private shapes = new Map<string, SShape>();
  private current: Node | undefined;
  constructor(readonly g: GraphBuilder) {}

  /** The gradient for input x, built only when x depends on a `wrt` input (no dead weight-gradient nodes). */
  depends(x: string | undefined): boolean {
    return !!x && this.needs.has(x);
  }

  when(x: string | undefined, build: () => string): string | undefined {
    return x && this.needs.has(x) ? build() : undefined;
  }

  run(loss: string, wrt: string[]): string[] {
    const nodes = [...this.g.graphNodes];
    // Values that depend on a `wrt` input (forward sweep) …
    const needs = new Set(wrt);
    this.needs = needs;
    for (const n of nodes) if ((n.input ?? []).some((i) => needs.has(i))) for (const o of n.output ?? []) needs.add(o);
    // … and values the loss depends on (backward sweep).
    const reaches = new Set([loss]);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if ((n.output ?? []).some((o) => reaches.has(o))) for (const x of n.input ?? []) if (x) reaches.add(x);
    }
    this.shapes = inferShapes(nodes, this.g.declaredShapes(), (name) => this.g.intValues(name)).shapes;
    this.grads.set(loss, [this.g.op('Expand', [this.g.float(1), this.g.op('Shape', [loss])])]);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      const outs = n.output ?? [];
      if (!outs.some((o) => reaches.has(o) && needs.has(o) && this.grads.has(o))) continue;
      const rule = RULES[n.opType ?? ''];
      if (!rule) throw new Error(`grad: no gradient rule for ONNX op ${n.opType} (node ${n.name}) on the path to ${loss}`);
      this.current = n;
      const inputGrads = rule(this, n, (k) => this.total(outs[k]));
      (n.input ?? []).forEach((x, k) => {
        const gx = inputGrads[k];
        if (gx && needs.has(x)) this.grads.set(x, [...(this.grads.get(x) ?? []), gx]);
      });
    }
    return wrt.map((x) => this.total(x) ?? this.zerosLike(x));
  }

  /** The summed gradient of a value, or undefined when nothing downstream contributes. */
  total(x: string | undefined): string | undefined {
    if (!x) return undefined;
    const parts = this.grads.get(x);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length > 1) this.grads.set(x, [this.g.op('Sum', parts)]);
    return this.grads.get(x)![0];
  }

  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.g.op(type, inputs, attrs);
  }

  shape(x: string): string {
    return this.op('Shape', [x]);
  }

  zerosLike(x: string): string {
    return this.op('Expand', [this.g.float(0), this.shape(x)]);
  }

  /**
   * Sums `grad` over the axes along which `x` was broadcast, and gives it x's shape. `grad` has the
   * shape of the current node's output (for MatMul: its batch dims, then x's matrix dims), so
   * where x provably has that shape (shapes.ts) it is returned as is.
   */
  unbroadcast(grad: string, x: string): string {
    const known = this.shapes.get(x);
    const so = this.current && this.shapes.get(out0(this.current));
    const same = this.current?.opType === 'MatMul'
      ? !!known && !!so && known.length === so.length && sameShape(known.slice(0, -2), so.slice(0, -2))
      : sameShape(known, so);
    if (same) return grad;
    const g = this.g;
    const sx = this.shape(x);
    const sg = this.shape(grad);
    const diff = this.op('Sub', [this.op('Size', [sg]), this.op('Size', [sx])]);
    // x's shape with leading 1s up to the gradient's rank (Pad keeps shape inference out of it).
    const padded = this.op('Pad', [sx, this.op('Concat', [this.op('Unsqueeze', [diff, g.int64([0])]), g.int64([0])], { axis: 0 }), g.int64([1], true)]);
    const axes = this.op('Reshape', [this.op('NonZero', [this.op('Not', [this.op('Equal', [padded, sg])])]), g.int64([-1])]);
    const summed = this.op('ReduceSum', [grad, axes], { keepdims: 1, noop_with_empty_axes: 1 });
    return this.op('Reshape', [summed, sx]);
  }

  /** Expands a reduced gradient back over the reduced axes (keepdims or not) to x's shape. */
  expandBack(gy: string, x: string, axes: number[] | undefined, keepdims: boolean): string {
    const kept = !keepdims && axes ? this.op('Unsqueeze', [gy, this.g.int64(axes)]) : gy;
    return this.op('Expand', [kept, this.shape(x)]);
  }

  ints(name: string | undefined, what: string): number[] {
    const v = name ? this.g.intValues(name) : undefined;
    if (!v) throw new Error(`grad: ${what} must be an int64 constant of the graph builder (got ${name})`);
    return v;
  }
}

function attr(n: Node, name: string): onnx.IAttributeProto | undefined {
  return (n.attribute ?? []).find((a) => a.name === name);
}
const attrInt = (n: Node, name: string, fallback: number): number => {
  const a = attr(n, name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
};
const attrInts = (n: Node, name: string): number[] | undefined => attr(n, name)?.ints?.map(Number);
const attrFloat = (n: Node, name: string, fallback: number): number => attr(n, name)?.f ?? fallback;

const ins = (n: Node) => n.input ?? [];
const out0 = (n: Node) => (n.output ?? [])[0];

/** Element-wise ops of one input: gx = gy · f'(x, y). */
function unary(f: (b: Backward, x: string, y: string, gy: string) => string): Rule {
  return (b, n, gy) => {
    const g0 = gy(0);
    return g0 ? [f(b, ins(n)[0], out0(n), g0)] : [];
  };
}

const reshapeBack: Rule = (b, n, gy) => {
  const g0 = gy(0);
  return g0 ? [b.op('Reshape', [g0, b.shape(ins(n)[0])])] : [];
};

const RULES: Record<string, Rule> = {
  Identity: unary((_b, _x, _y, g) => g),
  Cast: unary((_b, _x, _y, g) => g),
  Neg: unary((b, _x, _y, g) => b.op('Neg', [g])),
  Reciprocal: unary((b, _x, y, g) => b.op('Neg', [b.op('Mul', [g, b.op('Mul', [y, y])])])),
  Sqrt: unary((b, _x, y, g) => b.op('Div', [b.op('Mul', [g, b.g.float(0.5)]), y])),
  Exp: unary((b, _x, y, g) => b.op('Mul', [g, y])),
  Erf: unary((b, x, _y, g) => b.op('Mul', [g, b.op('Mul', [b.g.float(TWO_OVER_SQRT_PI), b.op('Exp', [b.op('Neg', [b.op('Mul', [x, x])])])])])),
  Tanh: unary((b, _x, y, g) => b.op('Mul', [g, b.op('Sub', [b.g.float(1), b.op('Mul', [y, y])])])),
  Sigmoid: unary((b, _x, y, g) => b.op('Mul', [g, b.op('Mul', [y, b.op('Sub', [b.g.float(1), y])])])),
  Relu: unary((b, x, _y, g) => b.op('Mul', [g, b.op('Cast', [b.op('Greater', [x, b.g.float(0)])], { to: 1 })])),
  Softplus: unary((b, x, _y, g) => b.op('Mul', [g, b.op('Sigmoid', [x])])),

  Add: (b, n, gy) => {
    const g = gy(0)!;
    return ins(n).map((x) => b.when(x, () => b.unbroadcast(g, x)));
  },
  Sum: (b, n, gy) => {
    const g = gy(0)!;
    return ins(n).map((x) => b.when(x, () => b.unbroadcast(g, x)));
  },
  Sub: (b, n, gy) => {
    const g = gy(0)!;
    const [x, y] = ins(n);
    return [b.when(x, () => b.unbroadcast(g, x)), b.when(y, () => b.unbroadcast(b.op('Neg', [g]), y))];
  },
  Mul: (b, n, gy) => {
    const g = gy(0)!;
    const [x, y] = ins(n);
    return [b.when(x, () => b.unbroadcast(b.op('Mul', [g, y]), x)), b.when(y, () => b.unbroadcast(b.op('Mul', [g, x]), y))];
  },
  Div: (b, n, gy) => {
    const g = gy(0)!;
    const [x, y] = ins(n);
    const gx = b.op('Div', [g, y]);
    return [b.when(x, () => b.unbroadcast(gx, x)), b.when(y, () => b.unbroadcast(b.op('Neg', [b.op('Mul', [gx, out0(n)])]), y))];
  },

  // Batched matrix product with broadcasting: Einsum writes the transposes without knowing ranks.
  MatMul: (b, n, gy) => {
    const g = gy(0)!;
    const [x, y] = ins(n);
    return [
      b.when(x, () => b.unbroadcast(b.op('Einsum', [g, y], { equation: '...ij,...kj->...ik' }), x)),
      b.when(y, () => b.unbroadcast(b.op('Einsum', [x, g], { equation: '...ji,...jk->...ik' }), y)),
    ];
  },
  // y = α op(A) op(B) + β C with op(M) = Mᵀ when transM.
  Gemm: (b, n, gy) => {
    const g = gy(0)!;
    const [A, B, C] = ins(n);
    const alpha = attrFloat(n, 'alpha', 1);
    const beta = attrFloat(n, 'beta', 1);
    const tA = attrInt(n, 'transA', 0);
    const tB = attrInt(n, 'transB', 0);
    const f = { float: alpha };
    const gA = b.when(A, () => (tA ? b.g.op('Gemm', [B, g], { transA: tB, transB: 1, alpha: f }) : b.g.op('Gemm', [g, B], { transB: tB ? 0 : 1, alpha: f })));
    const gB = b.when(B, () => (tB ? b.g.op('Gemm', [g, A], { transA: 1, transB: tA, alpha: f }) : b.g.op('Gemm', [A, g], { transA: tA ? 0 : 1, alpha: f })));
    const gC = b.when(C, () => b.unbroadcast(beta === 1 ? g : b.op('Mul', [g, b.g.float(beta)]), C));
    return [gA, gB, gC];
  },

  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Flatten: reshapeBack,
  Expand: (b, n, gy) => [b.unbroadcast(gy(0)!, ins(n)[0])],
  Transpose: (b, n, gy) => {
    const perm = attrInts(n, 'perm');
    if (!perm) throw new Error(`grad: Transpose ${n.name} needs an explicit perm`);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [b.op('Transpose', [gy(0)!], { perm: inverse })];
  },
  Concat: (b, n, gy) => {
    const axis = attrInt(n, 'axis', 0);
    const xs = ins(n);
    const sizes = b.op('Concat', xs.map((x) => b.op('Gather', [b.shape(x), b.g.int64([axis])], { axis: 0 })), { axis: 0 });
    const parts = b.g.node('Split', [gy(0)!, sizes], { axis }, xs.map(() => b.g.fresh('concat_grad')));
    return parts.map((p, k) => b.when(xs[k], () => p));
  },
  Split: (b, n, gy) => {
    const axis = attrInt(n, 'axis', 0);
    const parts = (n.output ?? []).map((o, i) => gy(i) ?? b.zerosLike(o));
    return [b.op('Concat', parts, { axis })];
  },
  Slice: (b, n, gy) => {
    const [x, startsName, endsName, axesName, stepsName] = ins(n);
    const starts = b.ints(startsName, 'Slice starts');
    const ends = b.ints(endsName, 'Slice ends');
    const axes = axesName ? b.ints(axesName, 'Slice axes') : starts.map((_, i) => i);
    if (stepsName && b.ints(stepsName, 'Slice steps').some((s) => s !== 1)) throw new Error(`grad: Slice ${n.name} with steps ≠ 1`);
    return [b.op('Pad', [gy(0)!, slicePads(b, x, starts, ends, axes)])];
  },

  Gather: (b, n, gy) => {
    if (attrInt(n, 'axis', 0) !== 0) throw new Error(`grad: Gather ${n.name} on an axis other than 0`);
    const [data, idx] = ins(n);
    const zeros = b.zerosLike(data);
    return [b.op('ScatterND', [zeros, b.op('Unsqueeze', [idx, b.g.int64([-1])]), gy(0)!], { reduction: 'add' })];
  },
  // Scatter of `updates` into `data` at `indices` (no reduction): updates get the gradient there;
  // data (constant here: zeros) gets none.
  ScatterND: (b, n, gy) => {
    if (attr(n, 'reduction')?.s && String(attr(n, 'reduction')!.s) !== 'none') throw new Error(`grad: ScatterND ${n.name} with a reduction`);
    const [data, idx, updates] = ins(n);
    if (b.depends(data)) throw new Error(`grad: ScatterND ${n.name}: no gradient for its data input`);
    return [undefined, undefined, b.when(updates, () => b.op('GatherND', [gy(0)!, idx]))];
  },
  GatherElements: (b, n, gy) => {
    const [data, idx] = ins(n);
    return [b.op('ScatterElements', [b.zerosLike(data), idx, gy(0)!], { axis: attrInt(n, 'axis', 0), reduction: 'add' })];
  },

  Softmax: (b, n, gy) => {
    const axis = attrInt(n, 'axis', -1);
    const y = out0(n);
    const g = gy(0)!;
    const dot = b.op('ReduceSum', [b.op('Mul', [g, y]), b.g.int64([axis])], { keepdims: 1 });
    return [b.op('Mul', [y, b.op('Sub', [g, dot])])];
  },
  LogSoftmax: (b, n, gy) => {
    const axis = attrInt(n, 'axis', -1);
    const g = gy(0)!;
    const total = b.op('ReduceSum', [g, b.g.int64([axis])], { keepdims: 1 });
    return [b.op('Sub', [g, b.op('Mul', [b.op('Exp', [out0(n)]), total])])];
  },
  ReduceSum: (b, n, gy) => {
    const [x, axesName] = ins(n);
    const axes = axesName ? b.ints(axesName, 'ReduceSum axes') : undefined;
    return [b.expandBack(gy(0)!, x, axes, attrInt(n, 'keepdims', 1) === 1)];
  },
  ReduceMean: (b, n, gy) => {
    const x = ins(n)[0];
    const expanded = b.expandBack(gy(0)!, x, attrInts(n, 'axes'), attrInt(n, 'keepdims', 1) === 1);
    const count = b.op('Cast', [b.op('Div', [b.op('Size', [x]), b.op('Size', [out0(n)])])], { to: 1 });
    return [b.op('Div', [expanded, count])];
  },
  Where: (b, n, gy) => {
    const [cond, x, y] = ins(n);
    const g = gy(0)!;
    const zero = b.g.float(0);
    return [undefined, b.when(x, () => b.unbroadcast(b.op('Where', [cond, g, zero]), x)), b.when(y, () => b.unbroadcast(b.op('Where', [cond, zero, g]), y))];
  },
  // Over the last axis: gx = inv · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)), ĝ = gy · scale.
  LayerNormalization: (b, n, gy) => {
    if (attrInt(n, 'axis', -1) !== -1) throw new Error(`grad: LayerNormalization ${n.name} over an axis other than the last`);
    const [x, scale] = ins(n);
    const eps = attrFloat(n, 'epsilon', 1e-5);
    const last = { axes: [-1], keepdims: 1 };
    const centred = b.op('Sub', [x, b.op('ReduceMean', [x], last)]);
    const variance = b.op('ReduceMean', [b.op('Mul', [centred, centred])], last);
    const inv = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.g.float(eps)])])]);
    const xhat = b.op('Mul', [centred, inv]);
    const gh = b.op('Mul', [gy(0)!, scale]);
    const inner = b.op('Sub', [b.op('Sub', [gh, b.op('ReduceMean', [gh], last)]), b.op('Mul', [xhat, b.op('ReduceMean', [b.op('Mul', [gh, xhat])], last)])]);
    return [b.op('Mul', [inv, inner])];
  },
};

/** Pad amounts [begin…, end…] (int64, length 2·rank) that undo a Slice of x. */
function slicePads(b: Backward, x: string, starts: number[], ends: number[], axes: number[]): string {
  const g = b.g;
  const shape = b.shape(x);
  const rank = b.op('Size', [shape]);
  const clamp = (v: number, dim: string) => {
    const raw = v < 0 ? b.op('Add', [dim, g.int64([v], true)]) : g.int64([v], true);
    return b.op('Min', [b.op('Max', [raw, g.int64([0], true)]), dim]);
  };
  let pads = b.op('Expand', [g.int64([0], true), b.op('Unsqueeze', [b.op('Mul', [rank, g.int64([2], true)]), g.int64([0])])]);
  axes.forEach((a, i) => {
    const axis = a < 0 ? b.op('Add', [rank, g.int64([a], true)]) : g.int64([a], true);
    const dim = b.op('Gather', [shape, axis], { axis: 0 });
    const begin = clamp(starts[i], dim);
    const end = b.op('Max', [clamp(ends[i], dim), begin]);
    const where = b.op('Concat', [b.op('Unsqueeze', [axis, g.int64([0])]), b.op('Unsqueeze', [b.op('Add', [axis, rank]), g.int64([0])])], { axis: 0 });
    const values = b.op('Concat', [b.op('Unsqueeze', [begin, g.int64([0])]), b.op('Unsqueeze', [b.op('Sub', [dim, end]), g.int64([0])])], { axis: 0 });
    pads = b.op('ScatterElements', [pads, where, values], { axis: 0 });
  });
  return pads;
}
