// Static shapes of a GraphBuilder graph, where they follow from the declared inputs and the
// constants — so that grad.ts can leave out the run-time broadcast reduction (a dozen Shape /
// Pad / NonZero … nodes per element-wise input, most of a small model's backward pass) wherever
// an input provably has its output's shape.
//
// A dimension is a number, or a product of symbolic names with a coefficient written canonically
// ("batch*seq", "4*seq"), so equal strings are equal sizes: the graph's dim params ('batch',
// 'seq', …) name one size each (the feeds keep to that). null is unknown. Every rule is
// conservative: an op it does not know, or a shape it cannot prove, gives unknown, and the
// caller falls back to the run-time reduction.

import type { onnx } from 'onnx-proto';

export type SDim = number | string | null;
export type SShape = SDim[];

interface Product {
  coef: number;
  syms: string[];
}

function product(d: SDim): Product | undefined {
  if (d === null) return undefined;
  if (typeof d === 'number') return { coef: d, syms: [] };
  const parts = d.split('*');
  const coef = /^\d+$/.test(parts[0]) ? Number(parts.shift()) : 1;
  return { coef, syms: parts };
}

function dimOf(p: Product): SDim {
  if (p.syms.length === 0) return p.coef;
  const syms = [...p.syms].sort().join('*');
  return p.coef === 1 ? syms : `${p.coef}*${syms}`;
}

function multiply(ds: SDim[]): SDim {
  const ps = ds.map(product);
  if (ps.some((p) => !p)) return null;
  return dimOf({ coef: ps.reduce((c, p) => c * p!.coef, 1), syms: ps.flatMap((p) => p!.syms) });
}

/** a / b when b's symbols are among a's and the coefficient divides; else unknown. */
function divide(a: SDim, b: SDim): SDim {
  const [pa, pb] = [product(a), product(b)];
  if (!pa || !pb || pb.coef === 0 || pa.coef % pb.coef !== 0) return null;
  const syms = [...pa.syms];
  for (const s of pb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return null;
    syms.splice(i, 1);
  }
  return dimOf({ coef: pa.coef / pb.coef, syms });
}

/** Numpy broadcasting of known shapes; unknown when a shape is unknown or two dims may differ. */
function broadcast(shapes: (SShape | undefined)[]): SShape | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: SShape = [];
  for (let i = 0; i < rank; i++) {
    let d: SDim = 1;
    for (const s of shapes) {
      const x = s![s!.length - rank + i] ?? 1;
      if (x === 1) continue;
      if (d === 1) d = x;
      else if (x === null || d === null || x !== d) return undefined;
    }
    out.push(d);
  }
  return out;
}

export const sameShape = (a: SShape | undefined, b: SShape | undefined): boolean =>
  !!a && !!b && a.length === b.length && a.every((d, i) => d !== null && d === b[i]);

const attr = (n: onnx.INodeProto, name: string) => (n.attribute ?? []).find((a) => a.name === name);
const attrInt = (n: onnx.INodeProto, name: string, fallback: number) => {
  const a = attr(n, name);
  return a?.i === undefined || a.i === null ? fallback : Number(a.i);
};

const UNARY = new Set(['Identity', 'Cast', 'Neg', 'Reciprocal', 'Sqrt', 'Exp', 'Erf', 'Tanh', 'Sigmoid', 'Relu', 'Softplus', 'Not', 'Softmax', 'LogSoftmax', 'LayerNormalization']);
const ELEMENTWISE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sum', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Where']);

export interface GraphShapes {
  /** Known shapes by value name. */
  shapes: Map<string, SShape>;
}

/**
 * Shapes of the graph's values: `declared` gives the inputs' and initializers' shapes, `ints` the
 * values of int64 constants (shape arguments); shape vectors computed in the graph (Shape, Slice,
 * Concat, Gather, Unsqueeze of them) are followed symbolically so Reshape targets resolve.
 */
// eslint-disable-next-line max-lines-per-function -- one case per ONNX operator, as the spec lists them.
export function inferShapes(nodes: readonly onnx.INodeProto[], declared: Map<string, SShape>, ints: (name: string) => number[] | undefined): GraphShapes {
  const shapes = new Map<string, SShape>(declared);
  /** Int64 values known element by element (shape vectors); `scalar` for rank-0 ones. */
  const values = new Map<string, { v: SDim[]; scalar: boolean }>();
  const valueOf = (name: string) => {
    const known = values.get(name);
    if (known) return known;
    const c = ints(name);
    return c ? { v: c as SDim[], scalar: shapes.get(name)?.length === 0 } : undefined;
  };
  for (const n of nodes) {
    const ins = n.input ?? [];
    const outs = n.output ?? [];
    const S = (i: number) => (ins[i] ? shapes.get(ins[i]) : undefined);
    const set = (s: SShape | undefined, k = 0) => {
      if (s) shapes.set(outs[k], s);
    };
    const op = n.opType ?? '';
    const x = S(0);
    if (UNARY.has(op)) {
      set(x);
      if (op === 'Identity' || op === 'Cast') {
        const v = valueOf(ins[0]);
        if (v) values.set(outs[0], v);
      }
    } else if (ELEMENTWISE.has(op)) {
      set(broadcast(ins.map((_, i) => S(i))));
    } else if (op === 'Shape') {
      if (x) values.set(outs[0], { v: [...x], scalar: false });
      if (x) set([x.length]);
    } else if (op === 'Gather') {
      const axis = attrInt(n, 'axis', 0);
      const idx = valueOf(ins[1]);
      const data = valueOf(ins[0]);
      if (data && idx && axis === 0) values.set(outs[0], { v: idx.v.map((i) => (typeof i === 'number' ? data.v[i < 0 ? data.v.length + i : i] ?? null : null)), scalar: idx.scalar });
      const si = S(1);
      if (x && si) set([...x.slice(0, axis), ...si, ...x.slice(axis + 1)]);
    } else if (op === 'Unsqueeze') {
      const axes = ints(ins[1]);
      const v = valueOf(ins[0]);
      if (v?.scalar && axes?.length === 1 && axes[0] === 0) values.set(outs[0], { v: v.v, scalar: false });
      if (x && axes) {
        const rank = x.length + axes.length;
        const at = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
        const out: SShape = [];
        let k = 0;
        for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : x[k++]);
        set(out);
      }
    } else if (op === 'Squeeze') {
      const axes = ins[1] ? ints(ins[1]) : undefined;
      if (x && axes) {
        const at = new Set(axes.map((a) => (a < 0 ? a + x.length : a)));
        set(x.filter((_, i) => !at.has(i)));
      }
    } else if (op === 'Concat') {
      const axis = attrInt(n, 'axis', 0);
      const vs = ins.map(valueOf);
      if (vs.every((v) => v && !v.scalar)) values.set(outs[0], { v: vs.flatMap((v) => v!.v), scalar: false });
      const ss = ins.map((_, i) => S(i));
      if (ss.every((s) => s && s.length === ss[0]!.length)) {
        const a = axis < 0 ? axis + ss[0]!.length : axis;
        const along = ss.map((s) => s![a]);
        set(ss[0]!.map((d, i) => (i === a ? (along.every((z) => typeof z === 'number') ? (along as number[]).reduce((p, q) => p + q, 0) : null) : d)));
      }
    } else if (op === 'Slice') {
      const [starts, ends, axes, steps] = [ints(ins[1]), ints(ins[2]), ins[3] ? ints(ins[3]) : undefined, ins[4] ? ints(ins[4]) : undefined];
      const v = valueOf(ins[0]);
      if (v && starts && ends && starts.length === 1 && (!steps || steps[0] === 1)) values.set(outs[0], { v: v.v.slice(starts[0], Math.min(ends[0], v.v.length)), scalar: false });
      if (x && starts && ends && (!steps || steps.every((s) => s === 1))) {
        const out = [...x];
        (axes ?? starts.map((_, i) => i)).forEach((a0, i) => {
          const a = a0 < 0 ? a0 + x.length : a0;
          const d = x[a];
          if (starts[i] === 0 && ends[i] >= 2 ** 62) return;
          if (typeof d !== 'number') {
            out[a] = null;
            return;
          }
          const clamp = (z: number) => Math.max(0, Math.min(d, z < 0 ? z + d : z));
          out[a] = Math.max(0, clamp(ends[i]) - clamp(starts[i]));
        });
        set(out);
      }
    } else if (op === 'Reshape') {
      const target = valueOf(ins[1]);
      if (target && !target.scalar) {
        const dims = target.v.map((d, i) => (d === 0 ? x?.[i] ?? null : d));
        const free = dims.indexOf(-1);
        if (free >= 0) dims[free] = x ? divide(multiply(x), multiply(dims.filter((_, i) => i !== free))) : null;
        set(dims);
      }
    } else if (op === 'Transpose') {
      const perm = attr(n, 'perm')?.ints?.map(Number);
      if (x) set((perm ?? x.map((_, i) => x.length - 1 - i)).map((p) => x[p]));
    } else if (op === 'MatMul') {
      const y = S(1);
      if (x && y && x.length >= 2 && y.length >= 2) {
        const batch = broadcast([x.slice(0, -2), y.slice(0, -2)]);
        if (batch && x[x.length - 1] !== null && x[x.length - 1] === y[y.length - 2]) set([...batch, x[x.length - 2], y[y.length - 1]]);
      }
    } else if (op === 'Gemm') {
      const y = S(1);
      if (x && y && x.length === 2 && y.length === 2) set([attrInt(n, 'transA', 0) ? x[1] : x[0], attrInt(n, 'transB', 0) ? y[0] : y[1]]);
    } else if (op === 'Split') {
      const sizes = ins[1] ? ints(ins[1]) : undefined;
      const axis = attrInt(n, 'axis', 0);
      if (x && sizes && sizes.length === outs.length) sizes.forEach((s, k) => set(x.map((d, i) => (i === (axis < 0 ? axis + x.length : axis) ? s : d)), k));
    } else if (op === 'Expand') {
      const target = valueOf(ins[1]);
      if (target && !target.scalar) set(broadcast([x, target.v]));
    } else if (op === 'GatherElements') {
      set(S(1));
    }
  }
  return { shapes };
}
