// Malformed inputs for the fuzz test, each made from a valid one: the gpt2-tiny checkpoint
// (safetensors header, config.json, tokenizer.json), a valid edit file with its sidecar, and a
// valid .npy. Each `make*` writes one variant into `dir` and returns the path the parser reads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, mutateBytes, mutateJson, oddValue } from './random';

type Header = Record<string, { dtype: string; shape: number[]; data_offsets: number[] } | Record<string, string>>;

export interface Base {
  config: Record<string, unknown>;
  tokenizer: Record<string, unknown>;
  header: Header;
  data: Buffer;
  weights: Buffer;
  edit: Record<string, unknown>;
  sidecarHeader: Header;
  sidecarData: Buffer;
  npy: Buffer;
}

export function safetensorsBytes(header: unknown, data: Buffer, lengthOverride?: bigint): Buffer {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), data]);
}

export function splitSafetensors(buf: Buffer): { header: Header; data: Buffer } {
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), data: buf.subarray(8 + n) };
}

/** A valid .npy (format 1.0) of float32 values with `shape`. */
export function npyBytes(shape: number[], values: Float32Array, descr = '<f4', headerText?: string): Buffer {
  let header = headerText ?? `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.writeUInt32BE(0x934e554d, 0);
  pre.write('PY', 4, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

export function loadBase(tiny: string): Base {
  const weights = fs.readFileSync(path.join(tiny, 'model.safetensors'));
  const { header, data } = splitSafetensors(weights);
  // A valid rank-1 edit of layer 1's MLP output (d_out 48, d_in 192).
  const U = Float32Array.from({ length: 48 }, (_, i) => Math.sin(i));
  const V = Float32Array.from({ length: 192 }, (_, i) => Math.cos(i));
  const sidecarData = Buffer.concat([Buffer.from(U.buffer), Buffer.from(V.buffer)]);
  const sidecarHeader: Header = {
    __metadata__: { format: 'mechedit-edit/1', id: 'fuzz' },
    U: { dtype: 'F32', shape: [1, 48], data_offsets: [0, 192] },
    V: { dtype: 'F32', shape: [1, 192], data_offsets: [192, 960] },
  };
  return {
    config: JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'), 'utf8')),
    tokenizer: JSON.parse(fs.readFileSync(path.join(tiny, 'tokenizer.json'), 'utf8')),
    header,
    data,
    weights,
    edit: {
      format: 'mechedit-edit/1', id: 'fuzz', label: 'fuzz', method: 'manual', modelFingerprint: '0123456789abcdef',
      targets: [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: 'fuzz.safetensors', created: new Date(0).toISOString(),
    },
    sidecarHeader,
    sidecarData,
    npy: npyBytes([48], U),
  };
}

/** A checkpoint folder in `dir` from the given files (unchanged ones copied from the base). */
function writeCheckpoint(dir: string, base: Base, files: { config?: string | Buffer; weights?: Buffer; tokenizer?: string | Buffer }): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), files.config ?? JSON.stringify(base.config));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), files.weights ?? base.weights);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), files.tokenizer ?? JSON.stringify(base.tokenizer));
  return dir;
}

const TENSOR_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);

/** The header of model.safetensors broken: structure, offsets, dtypes, shapes, the length word, bytes. */
/** A variant: the path the parser reads, and whether it is known to be wrong (so it must be refused). */
export interface Variant {
  path: string;
  invalid?: boolean;
}

export function makeSafetensors(rng: Rng, dir: string, base: Base): Variant {
  const names = Object.keys(base.header).filter((k) => k !== '__metadata__');
  const h = structuredClone(base.header) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  const kind = rng.int(0, 9);
  let weights: Buffer;
  let invalid = false;
  if (kind === 0) {
    weights = safetensorsBytes(rng.pick([null, 0, 1, 'x', [], [null], true, { a: null }, { a: 1 }, { __metadata__: null }, { __metadata__: [1] }]), base.data);
  } else if (kind === 1) {
    // Two tensors sharing bytes: one tensor's offsets moved onto another's of the same length, or shifted into its neighbour.
    const a = h[rng.pick(names)];
    const same = names.map((n) => h[n]).filter((t) => t !== a && t.data_offsets[1] - t.data_offsets[0] === a.data_offsets[1] - a.data_offsets[0]);
    if (same.length && rng.chance(0.5)) a.data_offsets = [...rng.pick(same).data_offsets];
    else {
      const shift = rng.int(1, 64) * 4 * (rng.chance(0.5) ? 1 : -1);
      a.data_offsets = a.data_offsets.map((o) => o + shift);
    }
    weights = safetensorsBytes(h, base.data);
    invalid = true;
  } else if (kind === 2) {
    const len = rng.pick([0n, 1n, 7n, 2n ** 63n, 2n ** 64n - 1n, 3_000_000_000n, BigInt(base.weights.length), BigInt(base.weights.length - 8), 200n * 1024n * 1024n]);
    weights = safetensorsBytes(h, base.data, len);
  } else if (kind === 3) {
    // A tensor removed (a missing bias, a missing layer) or one added beyond the data.
    if (rng.chance(0.6)) delete h[rng.pick(names)];
    else h[`h.${rng.int(3, 9)}.mlp.c_fc.bias`] = { dtype: 'F32', shape: [192], data_offsets: [0, 768] };
    weights = safetensorsBytes(h, base.data);
    invalid = true;
  } else if (kind <= 7) {
    weights = safetensorsBytes(mutateJson(rng, h, (p) => p.length >= 2 && TENSOR_FIELDS.has(String(p[1])) || p[0] === '__metadata__'), base.data);
  } else {
    weights = mutateBytes(rng, base.weights);
  }
  return { path: writeCheckpoint(dir, base, { weights }), invalid };
}

const CONFIG_KEYS = new Set(['n_layer', 'n_embd', 'n_head', 'n_inner', 'n_positions', 'vocab_size', 'layer_norm_epsilon', 'activation_function', 'model_type', 'tie_word_embeddings', 'mechedit', 'eos_token_id', 'bos_token_id', 'scale_attn_weights', 'rope_scaling', 'head_dim']);

/** config.json broken: odd values in the fields the plan reads, a layer count that disagrees with the tensors, bytes. */
export function makeConfig(rng: Rng, dir: string, base: Base): Variant {
  const kind = rng.int(0, 10);
  const cfg = structuredClone(base.config);
  let config: string | Buffer;
  let invalid = false;
  if (kind === 10) {
    // Fewer layers than the weights hold, or more, or a head count that is not a whole number.
    Object.assign(cfg, rng.pick([{ n_layer: 2 }, { n_layer: 1 }, { n_layer: 4 }, { n_head: 0.5 }, { n_head: 1.5 }, { n_head: 0 }, { n_head: -3 }, { n_head: '3' }, { n_embd: 48.0000001 }]));
    config = JSON.stringify(cfg);
    invalid = true;
  } else if (kind === 0) {
    cfg[rng.pick(['n_layer', 'n_head', 'n_embd', 'n_positions', 'vocab_size', 'n_inner'])] = rng.pick([0.5, 0, -1, -3, '3', 2, 4, 1e9, 3e38, 1.5, [], null, true]);
    config = JSON.stringify(cfg);
  } else if (kind === 1) {
    cfg.mechedit = mutateJson(rng, { edit_layer: 1, rocr: { layers: [0, 1], lambda: 1, positions: 'last', regularizer: 'identity' } });
    config = JSON.stringify(cfg);
  } else if (kind === 2) {
    config = mutateBytes(rng, Buffer.from(JSON.stringify(cfg, null, 2)));
  } else if (kind === 3) {
    // Another architecture's fields over the gpt2 tensors.
    Object.assign(cfg, rng.pick([{ model_type: 'llama', num_hidden_layers: 3, hidden_size: 48, num_attention_heads: 3, intermediate_size: 192, rope_scaling: oddValue(rng) }, { model_type: 'gptj', rotary_dim: oddValue(rng) }, { model_type: oddValue(rng) }]));
    config = JSON.stringify(cfg);
  } else {
    config = JSON.stringify(mutateJson(rng, cfg, (p) => CONFIG_KEYS.has(String(p[0]))));
  }
  return { path: writeCheckpoint(dir, base, { config }), invalid };
}

/** Replacement sections for tokenizer.json: other types with missing or wrong fields. */
function oddSection(rng: Rng): unknown {
  return rng.pick([
    null, 1, 'x', [], {}, { type: 'TemplateProcessing' }, { type: 'TemplateProcessing', single: null, pair: 1, special_tokens: null },
    { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }], special_tokens: {} },
    { type: 'BertProcessing', sep: null, cls: 1 }, { type: 'RobertaProcessing' }, { type: 'Sequence', processors: null },
    { type: 'Sequence', processors: [null] }, { type: 'ByteLevel', add_prefix_space: 'x' }, { type: 'Nope' },
    { type: 'WordPiece' }, { type: 'Unigram', vocab: null }, { type: 'BPE', vocab: null, merges: null }, { type: 'BPE', vocab: {}, merges: [[1, 2]] },
    { type: 'Replace', pattern: null, content: 1 }, { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated' }, { type: 'Split', pattern: { Regex: 'x' }, behavior: 'Nope' },
    { type: 'Metaspace' }, { type: 'Precompiled', precompiled_charsmap: 'x' },
  ]);
}

/** tokenizer.json broken: its sections (post_processor, model, pre_tokenizer, decoder, normalizer, added_tokens) and bytes. */
export function makeTokenizer(rng: Rng, dir: string, base: Base): Variant {
  const kind = rng.int(0, 9);
  const tok = structuredClone(base.tokenizer);
  let tokenizer: string | Buffer;
  if (kind <= 3) {
    const section = rng.pick(['post_processor', 'model', 'pre_tokenizer', 'decoder', 'normalizer', 'added_tokens', 'truncation', 'padding']);
    if (rng.chance(0.2)) delete tok[section];
    else tok[section] = oddSection(rng);
    tokenizer = JSON.stringify(tok);
  } else if (kind <= 7) {
    // Mostly outside the vocabulary (it holds hundreds of paths that matter little).
    tokenizer = JSON.stringify(mutateJson(rng, tok, (p) => !(p[0] === 'model' && (p[1] === 'vocab' || p[1] === 'merges') && p.length > 2) || rng.chance(0.05)));
  } else {
    tokenizer = mutateBytes(rng, Buffer.from(JSON.stringify(tok)));
  }
  return { path: writeCheckpoint(dir, base, { tokenizer }) };
}

/** An edit file broken: its JSON (fields, targets, "vectors"), or its sidecar (bytes, header, shapes). */
export function makeEdit(rng: Rng, dir: string, base: Base): Variant {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'fuzz.json');
  let json: unknown = base.edit;
  let sidecar = safetensorsBytes(base.sidecarHeader, base.sidecarData);
  const kind = rng.int(0, 9);
  if (kind <= 4) json = mutateJson(rng, base.edit);
  else if (kind === 5) json = { ...base.edit, vectors: rng.pick(['..', '.', '', '/', 'fuzz.json', '../fuzz.safetensors', 'missing.safetensors', 'fuzz.safetensors/', null, 1]) };
  else if (kind === 6) json = { ...base.edit, targets: rng.pick([null, [null], [1], ['x'], [{}], [{ layer: 1, module: 'mlp.out', rank: 2, U: 'U', V: 'V' }], [{ layer: 1, module: 'mlp.out', rank: 1, U: 'V', V: 'U' }], [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V', K: 'U' }], [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V', K: 'nope' }]]) };
  else if (kind === 7) sidecar = mutateBytes(rng, sidecar);
  else if (kind === 8) sidecar = safetensorsBytes(mutateJson(rng, base.sidecarHeader), base.sidecarData);
  else {
    // NaN or infinite values in the vectors.
    const data = Buffer.from(base.sidecarData);
    data.writeFloatLE(rng.pick([NaN, Infinity, -Infinity]), 4 * rng.int(0, data.length / 4 - 1));
    sidecar = safetensorsBytes(base.sidecarHeader, data);
  }
  fs.writeFileSync(file, rng.chance(0.1) ? mutateBytes(rng, Buffer.from(JSON.stringify(json))) : JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'fuzz.safetensors'), sidecar);
  return { path: file, invalid: kind === 9 };
}

/** A .npy broken: truncated, bytes flipped, its header's descr / shape / fortran_order / length word. */
export function makeNpy(rng: Rng, dir: string, base: Base): Variant {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'fuzz.npy');
  const values = Float32Array.from({ length: 48 }, (_, i) => i);
  const kind = rng.int(0, 7);
  let buf: Buffer;
  if (kind <= 2) buf = mutateBytes(rng, base.npy);
  else if (kind === 3) {
    const shape = rng.pick(['(1000000000,)', '(-1,)', '(3e38,)', '(48, 1000000000)', '()', '(0,)', '(1, 2, 3)', '(x,)', '(48,48)', '(2**40,)', '(9007199254740993,)']);
    buf = npyBytes([], values, '<f4', `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`);
  } else if (kind === 4) {
    buf = npyBytes([48], values, rng.pick(['<f2', '>f4', '<i4', '|u1', '<f8', 'x', '']));
  } else if (kind === 5) {
    buf = Buffer.from(base.npy);
    if (rng.chance(0.5)) buf.writeUInt16LE(rng.pick([0, 1, 0xffff, 200]), 8);
    else buf[6] = rng.pick([0, 2, 3, 9]);
  } else if (kind === 6) {
    buf = npyBytes([48], values, '<f4', rng.pick(["{'descr': '<f4', 'fortran_order': True, 'shape': (48,), }", "{'shape': (48,), }", '', 'x'.repeat(5000), "{'descr': '<f4', 'fortran_order': False, 'shape': (48,),"]));
  } else {
    buf = npyBytes([48], values).subarray(0, rng.int(0, 200));
  }
  fs.writeFileSync(file, buf);
  return { path: file };
}
