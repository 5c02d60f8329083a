// Runtime benchmark: session open time and memory, forward latency with and without taps,
// onnxruntime vs PyTorch eager, and KV-cache generation, on random GPT-2-shaped checkpoints made
// on the fly (tools/random-checkpoint.mjs) and kept in a cache folder for the next run.
// Markdown tables go to stdout, progress to stderr. Not a test: nothing fails on a missed target.
//
// Usage: npx tsc -p . && node bench/runtime.mjs [--sizes small,xl | --small-only] [--threads N]
//          [--seq 128] [--runs N] [--warmup N] [--gen 32] [--prompt 32] [--gen-runs N]
//          [--cache DIR] [--out-dir out] [--gap-ms 200] [--no-torch] [--json FILE]
//   sizes: small = GPT-2 small shape (124M, 0.5 GB fp32), xl = GPT-2 XL shape (1.56B, 6.2 GB fp32).
//   cache: $MECHEDIT_BENCH_CACHE or ~/.cache/mechedit-bench (checkpoints + MECHEDIT_CACHE graphs).
//
// Every measurement runs in a child process of this script (this file with --child …), so that
// nothing of one model or runtime stays in memory for the next:
//   open-cold  fresh process, the .onnx files of the checkpoint deleted: LoadedModel.open + build,
//              write and open the plain graph (logits 'all'); memory after; then a first forward.
//   open-warm  fresh process, the same with the graph already written.
//   serve      ORT process answering forward/generate requests; a PyTorch process
//              (bench/torch_eager.py --serve) beside it, both memory-mapping the same file.
//              The parent alternates plain / taps / torch forwards round by round (rotating the
//              order), so a busy neighbour on the machine slows all three alike; an idle gap
//              (--gap-ms) before each request lets the other process's spinning threads
//              (OpenBLAS spins ~0.1 s after a GEMM) go to sleep first.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const repo = path.resolve(import.meta.dirname, '..');
const MB = 2 ** 20;

const SIZES = {
  small: { label: 'GPT-2 small shape', arch: 'gpt2', layers: 12, dModel: 768, heads: 12, vocab: 50257, positions: 1024, warmup: 3, runs: 15, genRuns: 3 },
  xl: { label: 'GPT-2 XL shape', arch: 'gpt2', layers: 48, dModel: 1600, heads: 25, vocab: 50257, positions: 1024, warmup: 1, runs: 9, genRuns: 2 },
};
const ALIASES = { '124m': 'small', gpt2: 'small', '1.5b': 'xl', 'gpt2-xl': 'xl' };

const { values: opt } = parseArgs({
  options: {
    child: { type: 'string' }, model: { type: 'string' },
    sizes: { type: 'string', default: 'small,xl' }, 'small-only': { type: 'boolean', default: false },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    seq: { type: 'string', default: '128' }, runs: { type: 'string' }, warmup: { type: 'string' },
    gen: { type: 'string', default: '32' }, prompt: { type: 'string', default: '32' }, 'gen-runs': { type: 'string' },
    cache: { type: 'string', default: process.env.MECHEDIT_BENCH_CACHE || path.join(os.homedir(), '.cache', 'mechedit-bench') },
    'out-dir': { type: 'string', default: path.join(repo, 'out') },
    'gap-ms': { type: 'string', default: '200' }, 'no-torch': { type: 'boolean', default: false }, json: { type: 'string' },
  },
});
const threads = Number(opt.threads);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (m) => process.stderr.write(`[bench${opt.child ? `:${opt.child}` : ''}] ${m}\n`);

// ---------------------------------------------------------------------------------------------
// shared helpers
// ---------------------------------------------------------------------------------------------

/** MB figures of this process: /proc/self/status, smaps_rollup, V8. */
function procMem() {
  const r = {};
  for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = line.match(/^(VmRSS|VmHWM|RssAnon|RssFile|RssShmem):\s+(\d+) kB/);
    if (m) r[m[1]] = Number(m[2]) / 1024;
  }
  try {
    for (const line of fs.readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n')) {
      const m = line.match(/^(Pss|Pss_Anon|Pss_File|Private_Dirty|Private_Clean):\s+(\d+) kB/);
      if (m) r[m[1]] = Number(m[2]) / 1024;
    }
  } catch { /* older kernels */ }
  const mu = process.memoryUsage();
  r.heapUsed = mu.heapUsed / MB;
  r.external = mu.external / MB;
  return r;
}

/** Deterministic token ids in [0, vocab - 1) (never the EOS id 50256 of the GPT-2 tokenizer). */
function benchIds(n, vocab, seed) {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % (vocab - 1);
  });
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  const h = a.length >> 1;
  return a.length % 2 ? a[h] : (a[h - 1] + a[h]) / 2;
};

function loadRuntime() {
  const out = path.resolve(opt['out-dir']);
  const file = (p) => path.join(out, 'src', 'core', p);
  if (!fs.existsSync(file('runtime/model.js'))) throw new Error(`${file('runtime/model.js')} is missing: run \`npx tsc -p .\` first`);
  return {
    ...require(file('runtime/model.js')), ...require(file('runtime/ort.js')), ...require(file('graph/taps.js')),
    ...require(file('graph/forward.js')), ...require(file('runtime/run.js')),
  };
}

const gc = () => globalThis.gc?.();
const reply = (obj) => process.stdout.write(`@@${JSON.stringify(obj)}\n`);

// ---------------------------------------------------------------------------------------------
// children (ORT)
// ---------------------------------------------------------------------------------------------

async function childOpen(cold) {
  const rt = loadRuntime();
  rt.loadOrt(); // the native library belongs to the baseline, not to the model
  gc();
  const baseline = procMem();
  let t = performance.now();
  const model = rt.LoadedModel.open(opt.model, { provider: 'cpu', threads, log });
  const loadedModelOpenMs = performance.now() - t;
  gc();
  const afterLoadedModelOpen = procMem();
  let deleted = 0;
  if (cold) {
    for (const f of fs.readdirSync(model.graphDir.dir)) {
      if (f.endsWith('.onnx') || f.endsWith('.tmp')) {
        fs.unlinkSync(path.join(model.graphDir.dir, f));
        deleted++;
      }
    }
  }
  t = performance.now();
  await model.session({ logits: 'all' });
  const sessionMs = performance.now() - t;
  gc();
  const afterOpen = procMem();
  // The graph build alone (not written, not opened): what `cold` spends before ORT sees the file.
  t = performance.now();
  const bytes = rt.buildForward(model.plan, model.graphDir.locate, { logits: 'all' });
  const buildMs = performance.now() - t;
  const batch = model.makeBatch([benchIds(Number(opt.seq), model.dims.vocab, 1)]);
  t = performance.now();
  await model.run({ logits: 'all' }, batch);
  const firstForwardMs = performance.now() - t;
  gc();
  const afterFirstForward = procMem();
  reply({
    cold, deleted, graphMode: model.graphDir.mode, graphDir: model.graphDir.dir, params: model.dims.params,
    loadedModelOpenMs, sessionMs, buildMs, graphBytes: bytes.length, firstForwardMs, baseline, afterLoadedModelOpen, afterOpen, afterFirstForward,
  });
}

async function childServe() {
  const rt = loadRuntime();
  const ort = rt.loadOrt();
  let t = performance.now();
  const model = rt.LoadedModel.open(opt.model, { provider: 'cpu', threads, log });
  // A fixed number of new tokens: no stop on EOS (the PyTorch side does not stop either).
  model.dims.eosIds = [];
  const taps = rt.allTapNames(model.dims.layers).filter((n) => n !== 'logits');
  const variants = { plain: { logits: 'all' }, taps: { taps, logits: 'all' } };
  const openMs = {};
  for (const [name, o] of Object.entries(variants)) {
    t = performance.now();
    await model.session(o);
    openMs[name] = performance.now() - t;
  }
  reply({ ready: true, openMs, ort: ort.env.versions?.node, taps: taps.length, mem: procMem() });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const req = JSON.parse(line);
    if (req.cmd === 'forward') {
      const batch = model.makeBatch([req.ids]);
      t = performance.now();
      const out = await model.run(variants[req.variant], batch);
      const ms = performance.now() - t;
      const outBytes = Object.values(out).reduce((a, x) => a + x.data.byteLength, 0);
      if (req.logitsOut) {
        const l = out.logits;
        const [, s, v] = l.dims;
        fs.writeFileSync(req.logitsOut, Buffer.from(l.data.buffer, l.data.byteOffset + (s - 1) * v * 4, v * 4));
      }
      reply({ ms, outputs: Object.keys(out).length, outBytes });
    } else if (req.cmd === 'generate') {
      const stamps = [];
      const t0 = performance.now();
      const r = await rt.generateIds(model, req.prompt, { maxTokens: req.n, onToken: () => stamps.push(performance.now()) });
      const n = r.tokens.length;
      reply({
        kv_cache: true, ids: r.tokens.map((x) => x.id), stopped: r.stopped, tokens_per_s: r.tokensPerSecond,
        prefill_ms: stamps[0] - t0, decode_tokens_per_s: n > 1 ? (n - 1) / ((stamps[n - 1] - stamps[0]) / 1000) : null,
      });
    } else if (req.cmd === 'mem') {
      gc();
      reply(procMem());
    } else if (req.cmd === 'quit') {
      reply({});
      break;
    } else {
      reply({ error: `unknown command ${req.cmd}` });
    }
  }
  await model.release();
}

// ---------------------------------------------------------------------------------------------
// parent
// ---------------------------------------------------------------------------------------------

/** A child that answers one @@-prefixed JSON line per request (the first one when it is ready). */
class Server {
  constructor(cmd, args, env) {
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    this.waiting = [];
    this.replies = [];
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      this.dead = `exited with ${signal ?? code}`;
      for (const w of this.waiting.splice(0)) w.reject(new Error(`${cmd} ${args[0]} ${this.dead}`));
      resolve();
    }));
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      if (!line.startsWith('@@')) return void process.stderr.write(`${line}\n`);
      const msg = JSON.parse(line.slice(2));
      const w = this.waiting.shift();
      if (w) w.resolve(msg);
      else this.replies.push(msg);
    });
  }
  next() {
    if (this.replies.length) return Promise.resolve(this.replies.shift());
    if (this.dead) return Promise.reject(new Error(`child ${this.dead}`));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
  async request(obj) {
    this.proc.stdin.write(`${JSON.stringify(obj)}\n`);
    const r = await this.next();
    if (r.error) throw new Error(r.error);
    return r;
  }
  async close() {
    if (!this.dead) {
      await this.request({ cmd: 'quit' }).catch(() => undefined);
      this.proc.stdin.end();
    }
    await this.exited;
  }
}

const childArgs = (mode, dir) => ['--expose-gc', import.meta.filename, '--child', mode, '--model', dir, '--threads', String(threads), '--seq', opt.seq, '--out-dir', opt['out-dir']];
// NODE_PATH: an --out-dir outside the repository still finds onnxruntime-node.
const ortEnv = () => ({ MECHEDIT_CACHE: path.join(opt.cache, 'mechedit'), NODE_PATH: path.join(repo, 'node_modules') });
const torchEnv = () => ({ OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' });

async function runOnce(mode, dir) {
  const s = new Server(process.execPath, childArgs(mode, dir), ortEnv());
  const r = await s.next();
  await s.exited;
  return r;
}

function python() {
  if (process.env.MECHEDIT_BENCH_PYTHON) return process.env.MECHEDIT_BENCH_PYTHON;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function paramCount(z) {
  const D = z.dModel;
  return z.vocab * D + z.positions * D + z.layers * (12 * D * D + 13 * D) + 2 * D;
}

/** The checkpoint folder of a size, made with tools/random-checkpoint.mjs unless already there. */
function ensureCheckpoint(name, z) {
  const key = `${z.arch}-L${z.layers}-d${z.dModel}-h${z.heads}-v${z.vocab}`;
  const dir = path.join(opt.cache, 'ckpt', key);
  const weightBytes = 4 * paramCount(z);
  const complete = () => ['config.json', 'tokenizer.json', 'model.safetensors'].every((f) => fs.existsSync(path.join(dir, f)))
    && fs.statSync(path.join(dir, 'model.safetensors')).size > weightBytes;
  if (complete()) return { dir, key, weightBytes, created: false, ms: 0 };
  fs.mkdirSync(path.join(opt.cache, 'ckpt'), { recursive: true });
  const free = fs.statfsSync(opt.cache);
  const freeBytes = free.bavail * free.bsize;
  if (freeBytes < weightBytes + 2 ** 30) {
    return { dir, key, weightBytes, skipped: `${(freeBytes / 2 ** 30).toFixed(1)} GiB free in ${opt.cache}, ${(weightBytes / 2 ** 30 + 1).toFixed(1)} GiB needed` };
  }
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  log(`${name}: writing a random ${key} checkpoint (${(weightBytes / 2 ** 30).toFixed(2)} GiB) to ${dir}`);
  const t = performance.now();
  const r = spawnSync(process.execPath, [path.join(repo, 'tools', 'random-checkpoint.mjs'), '--arch', z.arch, '--out', tmp, '--layers', String(z.layers),
    '--d-model', String(z.dModel), '--heads', String(z.heads), '--vocab', String(z.vocab), '--positions', String(z.positions)], { stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error(`random-checkpoint.mjs failed (${r.status ?? r.signal})`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return { dir, key, weightBytes, created: true, ms: performance.now() - t };
}

function machine(torchInfo) {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model ?? '?';
  const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1].split(' ') ?? [];
  const simd = ['avx2', 'fma', 'avx512f', 'avx512_bf16', 'avx512_vnni', 'amx_tile'].filter((f) => flags.includes(f)).join(' ');
  const memTotal = Number(fs.readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)[1]) * 1024;
  return { cpu, simd, cores: os.availableParallelism(), memTotal, node: process.version, ort: require('onnxruntime-node/package.json').version, torch: torchInfo };
}

const f0 = (x) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(0));
const f1 = (x) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(1));
const f2 = (x) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(2));
const ok = (b) => (b == null ? 'n/a' : b ? 'yes' : '**no**');
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

async function benchSize(name, z, torchOk) {
  const ck = ensureCheckpoint(name, z);
  const res = { name, label: z.label, shape: z, ...ck, params: paramCount(z) };
  if (ck.skipped) {
    log(`${name}: skipped (${ck.skipped})`);
    return res;
  }
  const warmup = Number(opt.warmup ?? z.warmup);
  const runs = Number(opt.runs ?? z.runs);
  const genRuns = Number(opt['gen-runs'] ?? z.genRuns);
  const seq = Number(opt.seq);
  const gapMs = Number(opt['gap-ms']);
  const fwdIds = benchIds(seq, z.vocab, 1);
  const promptIds = benchIds(Number(opt.prompt), z.vocab, 2);

  log(`${name}: open, cold (graph built and written) …`);
  res.openCold = await runOnce('open-cold', ck.dir);
  log(`${name}: open, warm (graph already written, fresh process) …`);
  res.openWarm = await runOnce('open-warm', ck.dir);

  log(`${name}: forward latency, ${warmup} warm-up + ${runs} rounds of plain / taps${torchOk ? ' / torch' : ''} (batch 1, seq ${seq}) …`);
  const ortS = new Server(process.execPath, childArgs('serve', ck.dir), ortEnv());
  const torchS = torchOk ? new Server(python(), [path.join(repo, 'bench', 'torch_eager.py'), ck.dir, '--threads', String(threads), '--serve'], torchEnv()) : undefined;
  try {
    res.serveOrt = await ortS.next();
    if (torchS) res.serveTorch = await torchS.next();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-bench-'));
    const logits = { ort: path.join(tmp, 'ort.f32'), torch: path.join(tmp, 'torch.f32') };
    const kinds = ['plain', 'taps', ...(torchS ? ['torch'] : [])];
    const times = Object.fromEntries(kinds.map((k) => [k, []]));
    const rounds = [];
    for (let r = 0; r < warmup + runs; r++) {
      const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]);
      const round = {};
      for (const k of order) {
        const last = r === warmup + runs - 1;
        await sleep(gapMs);
        const x = k === 'torch'
          ? await torchS.request({ cmd: 'forward', ids: fwdIds, logits_out: last ? logits.torch : undefined })
          : await ortS.request({ cmd: 'forward', variant: k, ids: fwdIds, logitsOut: last && k === 'plain' ? logits.ort : undefined });
        round[k] = x.ms;
        if (k === 'taps') res.tapsOut = { outputs: x.outputs, bytes: x.outBytes };
      }
      log(`${name}: round ${r + 1}/${warmup + runs}${r < warmup ? ' (warm-up)' : ''}: ${order.map((k) => `${k} ${f0(round[k])} ms`).join(', ')}`);
      if (r >= warmup) {
        rounds.push(round);
        for (const k of kinds) times[k].push(round[k]);
      }
    }
    res.forward = { times, rounds };
    if (torchS) {
      const a = new Float32Array(fs.readFileSync(logits.ort).buffer.slice(0));
      const b = new Float32Array(fs.readFileSync(logits.torch).buffer.slice(0));
      let maxDiff = 0, maxAbs = 0, am = 0, bm = 0;
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        maxAbs = Math.max(maxAbs, Math.abs(b[i]));
        if (a[i] > a[am]) am = i;
        if (b[i] > b[bm]) bm = i;
      }
      res.logitsCheck = { maxDiff, maxAbs, argmaxSame: am === bm };
    }
    fs.rmSync(tmp, { recursive: true, force: true });
    res.memAfterForwards = { ort: await ortS.request({ cmd: 'mem' }), torch: torchS ? await torchS.request({ cmd: 'mem' }) : undefined };

    const n = Number(opt.gen);
    log(`${name}: generation, ${n} new tokens after a ${promptIds.length}-token prompt, ${genRuns} run(s) each …`);
    await ortS.request({ cmd: 'generate', prompt: promptIds, n: 2 }); // builds the KV-cache graph
    if (torchS) await torchS.request({ cmd: 'generate', prompt: promptIds, n: 2 });
    res.generate = { ort: [], torch: [] };
    for (let r = 0; r < genRuns; r++) {
      await sleep(gapMs);
      const g = await ortS.request({ cmd: 'generate', prompt: promptIds, n });
      res.generate.ort.push(g);
      log(`${name}: ORT generation ${r + 1}/${genRuns}: ${f2(g.tokens_per_s)} tok/s (decode ${f2(g.decode_tokens_per_s)})`);
      if (torchS) {
        await sleep(gapMs);
        const h = await torchS.request({ cmd: 'generate', prompt: promptIds, n });
        res.generate.torch.push(h);
        log(`${name}: torch generation ${r + 1}/${genRuns}: ${f2(h.tokens_per_s)} tok/s (decode ${f2(h.decode_tokens_per_s)})`);
      }
    }
  } finally {
    await ortS.close();
    await torchS?.close();
  }
  return res;
}

function report(info, results, wallMs) {
  const m = info.machine;
  const out = [];
  out.push('# MechEdit runtime benchmark', '');
  out.push(table(['', ''], [
    ['CPU', `${m.cpu} (${m.simd})`],
    ['cores (os.availableParallelism)', String(m.cores)],
    ['RAM', `${(m.memTotal / 2 ** 30).toFixed(1)} GiB`],
    ['Node', m.node],
    ['onnxruntime-node', `${m.ort} (CPU provider, graph optimisation 'all', prepacking off)`],
    ['runtime under test', info.build],
    ['PyTorch', m.torch ? `${m.torch.torch} (numpy ${m.torch.numpy}), eager fp32, tools/reference.py forward` : 'not run'],
    ['threads', `ORT intra-op ${threads}; torch.set_num_threads ${m.torch?.threads ?? 'n/a'} (interop ${m.torch?.interop_threads ?? 'n/a'}), ${m.torch ? Object.entries(m.torch.env).map(([k, v]) => `${k}=${v}`).join(' ') : ''}`],
    ['load average (1 min) at start / end', `${info.load[0].toFixed(2)} / ${info.load[1].toFixed(2)}`],
    ['batch × sequence (forward); prompt + new tokens (generation)', `1 × ${opt.seq}; ${opt.prompt} + ${opt.gen}, greedy`],
    ['wall time', `${(wallMs / 1000).toFixed(0)} s`],
  ]), '');

  const done = results.filter((r) => !r.skipped);
  out.push('## Checkpoints', '');
  out.push(table(['model', 'layers × d_model × heads, vocab', 'parameters', 'fp32 weights', 'checkpoint'], results.map((r) => [
    `${r.name} (${r.label})`, `${r.shape.layers} × ${r.shape.dModel} × ${r.shape.heads}, ${r.shape.vocab}`, `${(r.params / 1e6).toFixed(1)} M`,
    `${f0(r.weightBytes / MB)} MB`, r.skipped ? `skipped: ${r.skipped}` : r.created ? `written now in ${f1(r.ms / 1000)} s` : 'reused from the cache',
  ])), '');

  out.push('## 1. Session open (plain graph, logits all)', '');
  out.push(table(['model', 'case', 'LoadedModel.open', 'graph build (in memory)', 'session() (build + write + create, or create)', 'open total', '≤ 2 s', '.onnx size', 'graph folder'],
    done.flatMap((r) => [r.openCold, r.openWarm].map((o) => [
      r.name, o.cold ? 'first open: build + write + open' : 'second open, fresh process', `${f0(o.loadedModelOpenMs)} ms`, `${f0(o.buildMs)} ms`,
      `${f0(o.sessionMs)} ms`, `${f0(o.loadedModelOpenMs + o.sessionMs)} ms`, ok(o.loadedModelOpenMs + o.sessionMs <= 2000), `${f1(o.graphBytes / MB)} MB`, o.graphMode,
    ]))), '');
  out.push('Memory of the ORT process (MB; baseline = Node + onnxruntime loaded, before the model; private = RssAnon, anonymous resident memory):', '');
  out.push(table(['model', 'case', 'fp32 weights', 'baseline RssAnon', 'RssAnon after LoadedModel.open', 'after session(): VmRSS', 'RssAnon', 'RssFile', 'Private_Dirty', 'JS heap', 'RssAnon / weights (Δ over baseline)', '≤ 10 %', 'first forward', 'after it: RssAnon', 'RssFile'],
    done.flatMap((r) => [r.openCold, r.openWarm].map((o) => {
      const w = r.weightBytes / MB;
      const a = o.afterOpen;
      return [r.name, o.cold ? 'first open' : 'second open', f0(w), f0(o.baseline.RssAnon), f0(o.afterLoadedModelOpen.RssAnon), f0(a.VmRSS), f0(a.RssAnon), f0(a.RssFile), f0(a.Private_Dirty), f0(a.heapUsed),
        `${f1((100 * a.RssAnon) / w)} % (${f1((100 * (a.RssAnon - o.baseline.RssAnon)) / w)} %)`, ok(a.RssAnon <= 0.1 * w),
        `${f0(o.firstForwardMs)} ms`, f0(o.afterFirstForward.RssAnon), f0(o.afterFirstForward.RssFile)];
    }))), '');
  out.push(table(['model', 'ORT serve process after all forwards: VmRSS', 'RssAnon', 'RssFile', 'Pss', 'PyTorch process: VmRSS', 'RssAnon', 'RssFile'], done.map((r) => {
    const o = r.memAfterForwards.ort, t = r.memAfterForwards.torch;
    return [r.name, f0(o.VmRSS), f0(o.RssAnon), f0(o.RssFile), f0(o.Pss), f0(t?.VmRSS), f0(t?.RssAnon), f0(t?.RssFile)];
  })), '');
  out.push('RssFile is the memory-mapped weights (clean page cache, shared with other processes, counted once per mapping: two sessions map the file twice).', '');

  out.push(`## 2. Forward latency, batch 1 × ${opt.seq}: all taps vs plain`, '');
  out.push(table(['model', 'runs', 'plain (logits all): median (min)', 'all taps: median (min)', 'outputs (taps + logits)', 'taps overhead (medians)', 'overhead (median of paired rounds)', '≤ 10 %'], done.map((r) => {
    const t = r.forward.times;
    const ov = (100 * median(t.taps)) / median(t.plain) - 100;
    const paired = 100 * median(r.forward.rounds.map((x) => x.taps / x.plain)) - 100;
    return [r.name, String(t.plain.length), `${f0(median(t.plain))} ms (${f0(Math.min(...t.plain))})`, `${f0(median(t.taps))} ms (${f0(Math.min(...t.taps))})`,
      `${r.tapsOut.outputs} (${f0(r.tapsOut.bytes / MB)} MB)`, `${f1(ov)} %`, `${f1(paired)} %`, ok(ov <= 10)];
  })), '');

  out.push('## 3. onnxruntime vs PyTorch eager (same ids, same machine, same run)', '');
  out.push(table(['model', 'threads ORT / torch', 'ORT plain: median (min)', 'PyTorch eager: median (min)', 'eager / ORT (medians)', 'median of paired rounds', 'ORT no slower', 'last-position logits max |Δ| (max |logit|)', 'same argmax'], done.map((r) => {
    const t = r.forward.times;
    if (!t.torch) return [r.name, `${threads} / n/a`, `${f0(median(t.plain))} ms`, 'not run', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'];
    const ratio = median(t.torch) / median(t.plain);
    return [r.name, `${threads} / ${r.serveTorch.threads}`, `${f0(median(t.plain))} ms (${f0(Math.min(...t.plain))})`, `${f0(median(t.torch))} ms (${f0(Math.min(...t.torch))})`,
      `${f2(ratio)}×`, `${f2(median(r.forward.rounds.map((x) => x.torch / x.plain)))}×`, ok(ratio >= 1),
      `${r.logitsCheck.maxDiff.toExponential(1)} (${f1(r.logitsCheck.maxAbs)})`, ok(r.logitsCheck.argmaxSame)];
  })), '');

  out.push(`## 4. Generation with the KV cache (greedy, ${opt.prompt}-token prompt, ${opt.gen} new tokens)`, '');
  out.push(table(['model', 'runs', 'ORT tok/s (generateIds)', 'ORT decode tok/s', 'ORT prefill', 'PyTorch eager tok/s', 'decode tok/s', 'prefill', 'ORT / eager (tok/s)', 'same tokens'], done.map((r) => {
    const o = r.generate.ort, t = r.generate.torch;
    const mo = (k) => median(o.map((x) => x[k]));
    const mt = (k) => (t.length ? median(t.map((x) => x[k])) : null);
    let same = 'n/a';
    if (t.length) {
      const a = o[0].ids, b = t[0].ids;
      let k = 0;
      while (k < Math.min(a.length, b.length) && a[k] === b[k]) k++;
      same = `${k}/${Math.max(a.length, b.length)}`;
    }
    return [r.name, String(o.length), f2(mo('tokens_per_s')), f2(mo('decode_tokens_per_s')), `${f0(mo('prefill_ms'))} ms`,
      t.length ? f2(mt('tokens_per_s')) : 'not run', t.length ? f2(mt('decode_tokens_per_s')) : 'n/a', t.length ? `${f0(mt('prefill_ms'))} ms` : 'n/a',
      t.length ? `${f2(mo('tokens_per_s') / mt('tokens_per_s'))}×` : 'n/a', same];
  })), '');
  out.push('tok/s = new tokens / time from the call to the last token (prefill included), as generateIds reports it; decode tok/s leaves the first token (the prefill) out. '
    + 'PyTorch eager generation is bench/torch_eager.py\'s KV cache (torch.cat per step, last-position logits) on tools/reference.py\'s layers; reference.py itself has no KV cache.', '');
  return out.join('\n');
}

async function main() {
  const t0 = performance.now();
  const load0 = os.loadavg()[0];
  let sizes = opt['small-only'] ? ['small'] : opt.sizes.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  sizes = sizes.map((s) => ALIASES[s] ?? s);
  for (const s of sizes) if (!SIZES[s]) throw new Error(`unknown size ${s} (small, xl)`);
  const modelJs = path.join(path.resolve(opt['out-dir']), 'src', 'core', 'runtime', 'model.js');
  if (!fs.existsSync(modelJs)) throw new Error(`${modelJs} is missing: run \`npx tsc -p .\` first (or give --out-dir)`);
  const git = (...a) => spawnSync('git', a, { cwd: repo, encoding: 'utf8' }).stdout?.trim() ?? '';
  const dirty = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length;
  const outRel = path.relative(repo, path.resolve(opt['out-dir']));
  const build = `${outRel.startsWith('..') ? path.resolve(opt['out-dir']) : outRel} compiled from git ${git('rev-parse', '--short', 'HEAD') || '?'}${dirty ? ` + ${dirty} changed file(s) in src/` : ''}`;

  let torchInfo;
  let torchOk = !opt['no-torch'];
  if (torchOk) {
    const r = spawnSync(python(), ['-c', 'import json, torch, numpy; print(json.dumps({"torch": torch.__version__, "numpy": numpy.__version__}))'], { encoding: 'utf8', env: { ...process.env, ...torchEnv() } });
    if (r.status !== 0) {
      log(`PyTorch is not usable with ${python()} (${(r.stderr || '').trim().split('\n').pop()}); its columns say "not run"`);
      torchOk = false;
    }
  }
  const memTotal = Number(fs.readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)[1]) * 1024;
  const results = [];
  for (const s of sizes) {
    const z = SIZES[s];
    if (4 * paramCount(z) * 1.5 + 2 * 2 ** 30 > memTotal) {
      results.push({ name: s, label: z.label, shape: z, params: paramCount(z), weightBytes: 4 * paramCount(z), skipped: `needs about ${f0((4 * paramCount(z) * 1.5) / 2 ** 30 + 2)} GiB of RAM` });
      continue;
    }
    results.push(await benchSize(s, z, torchOk));
    if (torchOk && !torchInfo) torchInfo = results.at(-1).serveTorch;
  }
  const info = { machine: machine(torchInfo), load: [load0, os.loadavg()[0]], build };
  const text = report(info, results, performance.now() - t0);
  process.stdout.write(`${text}\n`);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ info, results }, null, 1));
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const entry = opt.child === 'open-cold' ? () => childOpen(true)
  : opt.child === 'open-warm' ? () => childOpen(false)
    : opt.child === 'serve' ? childServe
      : main;
entry().catch((e) => {
  log(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exit(1);
});
