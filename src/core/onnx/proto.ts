// A small typed layer over the ONNX protobuf messages (onnx-proto). Graph builders add nodes,
// inputs, outputs and initializers through this; nothing else touches the raw protos.

import { onnx } from 'onnx-proto';

export type Dtype = 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'bool';
/** A dimension: a fixed size or a symbolic name such as 'batch' or 'seq'. */
export type Dim = number | string;
export type AttrValue = number | string | number[] | Float32Array | { float: number };

export const ONNX_DTYPE: Record<Dtype, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  bfloat16: onnx.TensorProto.DataType.BFLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Opset 17 has LayerNormalization; ORT 1.30 supports it fully on CPU, CUDA and WebGPU. */
export const OPSET = 17;

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;
  private readonly memo = new Map<string, string>();
  /** Values of the int64 constants, by name (grad.ts reads axes, perms and slice bounds). */
  private readonly ints = new Map<string, number[]>();

  constructor(readonly name: string) {}

  input(name: string, dtype: Dtype, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  output(name: string, dtype: Dtype, dims: Dim[]): string {
    this.outputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** A constant held inside the model file (small tensors: shapes, biases of probe graphs). */
  constant(name: string, values: Float32Array | BigInt64Array | Int32Array, dims: number[]): string {
    const t: onnx.ITensorProto = { name, dims };
    if (values instanceof Float32Array) {
      t.dataType = ONNX_DTYPE.float32;
      t.rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    } else if (values instanceof BigInt64Array) {
      this.ints.set(name, Array.from(values, Number));
      t.dataType = ONNX_DTYPE.int64;
      t.rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    } else {
      t.dataType = ONNX_DTYPE.int32;
      t.rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    }
    this.initializers.push(t);
    return name;
  }

  /** A memoized int64 constant (shapes, axes, indices); a scalar when `scalar` is set. */
  int64(values: number[], scalar = false): string {
    const key = `i64:${scalar ? 's' : ''}${values.join(',')}`;
    let name = this.memo.get(key);
    if (!name) {
      name = this.constant(this.fresh('c_i64'), BigInt64Array.from(values.map(BigInt)), scalar ? [] : [values.length]);
      this.memo.set(key, name);
    }
    return name;
  }

  /** A memoized float32 scalar or vector constant. */
  float(values: number | number[]): string {
    const list = typeof values === 'number' ? [values] : values;
    const key = `f32:${typeof values === 'number' ? 's' : ''}${list.join(',')}`;
    let name = this.memo.get(key);
    if (!name) {
      name = this.constant(this.fresh('c_f32'), Float32Array.from(list), typeof values === 'number' ? [] : [list.length]);
      this.memo.set(key, name);
    }
    return name;
  }

  /**
   * A weight stored outside the model: `location` is relative to the .onnx file's folder
   * (ORT refuses absolute, `..` and symlinked locations), `offset`/`length` in bytes.
   */
  external(name: string, dtype: Dtype, dims: number[], location: string, offset: number, length: number): string {
    this.initializers.push({
      name,
      dataType: ONNX_DTYPE[dtype],
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    });
    return name;
  }

  /** Adds a node and returns its output names (one per `outputs`, default one fresh name). */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[]): string[] {
    const outs = outputs ?? [this.fresh(op)];
    this.nodes.push({
      opType: op,
      input: inputs,
      output: outs,
      name: this.fresh(`${op}_node`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Single-output shorthand for node(). */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.node(op, inputs, attrs, output ? [output] : undefined)[0];
  }

  /** The nodes added so far, in order (read-only view for graph transforms such as grad.ts). */
  get graphNodes(): readonly onnx.INodeProto[] {
    return this.nodes;
  }

  /** The declared shapes of the inputs and initializers (dims as numbers or dim params). */
  declaredShapes(): Map<string, Dim[]> {
    const m = new Map<string, Dim[]>();
    for (const i of this.inputs) m.set(i.name!, (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue))));
    for (const t of this.initializers) m.set(t.name!, (t.dims ?? []).map(Number));
    return m;
  }

  /** The values of an int64 constant made by constant() or int64(), or undefined. */
  intValues(name: string): number[] | undefined {
    return this.ints.get(name);
  }

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  toBytes(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'mechedit',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.name,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dtype: Dtype, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[dtype],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (v instanceof Float32Array) return { name, type: T.FLOATS, floats: Array.from(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.FLOAT, f: v.float };
}
