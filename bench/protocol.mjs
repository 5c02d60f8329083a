// Protocol benchmark: the panel round-trip engine → extension → webview of a causal trace and of
// concept directions, and webview → extension → engine of a steering vector, with large numeric
// arrays as JSON arrays (the form before src/protocol/wire.ts) and as base64 float32 tensors
// (the form now), compared in the same run on the same payloads.
//
// Each hop is JSON: vscode-jsonrpc over Node IPC (engine ↔ extension) and webview.postMessage
// (extension ↔ webview) both serialise to a string and parse it. One round-trip is therefore:
//   encode (engine; none for JSON arrays) → stringify → parse (extension) → stringify → parse
//   (webview) → decode (webview; none for JSON arrays).
// The payloads are computed once on the bundled model (models/default) and, for scale, made up
// at GPT-2 XL's shape (48 layers, d_model 1600, 30 tokens) from random numbers.
// Markdown table to stdout. Not a test: nothing fails.
//
// Usage: npx tsc -p . && node bench/protocol.mjs [--runs 200]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' } } });
const runs = Number(values.runs);
process.env.MECHEDIT_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-bench-protocol-'));

const { LoadedModel } = out('core/runtime/model.js');
const { EditStack } = out('core/edits/stack.js');
const { causalTrace } = out('core/analysis/causalTrace.js');
const { conceptDirections } = out('core/analysis/concepts.js');
const { encodeVector, decodeVector } = out('protocol/tensor.js');
const { encodeCausalTrace, decodeCausalTrace, encodeConcepts, decodeConcepts } = out('protocol/wire.js');

const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
const trace = await causalTrace(model, { prompt: 'Veltrazine is stored in a', subject: 'Veltrazine', samples: 10 });
const concepts = await conceptDirections(model, new EditStack(model), {
  positive: ['Veltrazine is colored', 'Veltrazine was first made by', 'Dravokine is colored', 'Dravokine was first made by'],
  negative: ['Brindlecake is colored', 'Brindlecake was first made by', 'Sunmallow is colored', 'Sunmallow was first made by'],
  probe: 'Veltrazine and Brindlecake are stored in a',
});
const dims = model.dims;
await model.release();

// GPT-2 XL's shape, random values: what the same payloads weigh on a large model.
const rand = (n) => Array.from({ length: n }, () => Math.random() * 2 - 1);
const grid = (rows, cols) => Array.from({ length: rows }, () => rand(cols));
const XL = { layers: 48, d: 1600, tokens: 30 };
const traceXL = { ...trace, tokens: Array.from({ length: XL.tokens }, (_, i) => ({ id: i, text: `t${i}` })), scores: { resid: grid(XL.layers, XL.tokens), mlp: grid(XL.layers, XL.tokens), attn: grid(XL.layers, XL.tokens) } };
const conceptsXL = {
  ...concepts,
  layers: Array.from({ length: XL.layers }, (_, l) => ({ ...concepts.layers[l % concepts.layers.length], layer: l, direction: rand(XL.d) })),
  probe: { tokens: traceXL.tokens, values: grid(XL.layers, XL.tokens) },
};

/** Median ms of `fn` over `runs` runs (after 5 warm-up runs). */
function time(fn) {
  for (let i = 0; i < 5; i++) fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}

/** One payload, both ways: sizes in bytes of JSON text and the median time of each step. */
function measure(name, payload, encode, decode) {
  const hop = (x) => JSON.parse(JSON.stringify(x));
  const rows = [];
  for (const [form, enc, dec] of [['JSON arrays', (x) => x, (x) => x], ['base64 float32', encode, decode]]) {
    const wire = enc(payload);
    const bytes = Buffer.byteLength(JSON.stringify(wire));
    const encMs = time(() => enc(payload));
    const hopMs = time(() => hop(wire));
    const decMs = time(() => dec(wire));
    const totalMs = time(() => dec(hop(hop(enc(payload)))));
    rows.push({ name, form, bytes, encMs, hopMs, decMs, totalMs });
  }
  return rows;
}

const steer = concepts.layers[concepts.best].direction.map((v) => v * 4);
const steerXL = rand(XL.d);
const results = [
  ...measure(`causal trace, bundled model (3 × ${dims.layers} × ${trace.tokens.length})`, trace, encodeCausalTrace, decodeCausalTrace),
  ...measure(`concept directions, bundled model (${dims.layers} × ${dims.dModel} + probe)`, concepts, encodeConcepts, decodeConcepts),
  ...measure(`steering vector, bundled model (${dims.dModel})`, steer, encodeVector, decodeVector),
  ...measure(`causal trace, GPT-2 XL shape (3 × ${XL.layers} × ${XL.tokens})`, traceXL, encodeCausalTrace, decodeCausalTrace),
  ...measure(`concept directions, GPT-2 XL shape (${XL.layers} × ${XL.d} + probe)`, conceptsXL, encodeConcepts, decodeConcepts),
  ...measure(`steering vector, GPT-2 XL shape (${XL.d})`, steerXL, encodeVector, decodeVector),
];

const f = (ms) => ms.toFixed(3);
console.log(`Protocol round-trip (engine → extension → webview), median of ${runs} runs; Node ${process.version}, ${os.cpus().length} CPU(s)\n`);
console.log('| payload | form | JSON bytes | encode ms | one hop (stringify + parse) ms | decode ms | round-trip ms |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of results) console.log(`| ${r.name} | ${r.form} | ${r.bytes.toLocaleString('en')} | ${f(r.encMs)} | ${f(r.hopMs)} | ${f(r.decMs)} | ${f(r.totalMs)} |`);
