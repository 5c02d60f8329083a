// The GPU check behind bench/gpu-check.sh: one markdown table of which execution providers open
// (and why the others don't), parity of each against the CPU, forward and generation speed, ROME
// and MEMIT time per edit, an unlearning step, and peak GPU memory (nvidia-smi, when present).
//
//   npx tsc -p . && node bench/gpu-check.mjs [--providers cpu,cuda,webgpu] [--small]
//        [--cache DIR] [--xl-steps 2] [--xl-samples 1024] [--unlearn-steps 4] [--child-timeout 420]
//        [--tasks forward,edits,unlearn] [--json FILE]
//
// Models: the bundled model (models/default), a random GPT-2-small-shaped checkpoint (12 × 768,
// vocab 50257) and a random GPT-2-XL-shaped one (48 × 1600) for the edits, written once by
// tools/random-checkpoint.mjs into <cache>/ckpt/ (the folders bench/runtime.mjs uses; cache:
// $MECHEDIT_BENCH_CACHE or ~/.cache/mechedit-bench). --small swaps the two random shapes for tiny
// ones (2 × 64 and 4 × 128) and fewer runs: the same code paths in seconds, to test the script.
// The CPU always runs: it is the reference of every other column. Each cell is one child process
// (bench/gpu-check-child.mjs); a provider that fails, crashes or hangs costs its own cells only.
// Peak GPU memory: nvidia-smi's memory.used sampled every 100 ms while each child runs, minus the
// reading before it; the table gives the largest per provider.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { repo } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    providers: { type: 'string', default: 'cpu,cuda,webgpu' }, small: { type: 'boolean', default: false },
    cache: { type: 'string', default: process.env.MECHEDIT_BENCH_CACHE || path.join(os.homedir(), '.cache', 'mechedit-bench') },
    'xl-steps': { type: 'string', default: '2' }, 'xl-samples': { type: 'string', default: '1024' }, 'unlearn-steps': { type: 'string', default: '4' },
    'child-timeout': { type: 'string', default: '420' }, tasks: { type: 'string', default: 'forward,edits,unlearn' }, json: { type: 'string' },
  },
});
const TASKS = opt.tasks.split(',');
const PROVIDERS = ['cpu', ...opt.providers.split(',').filter((p) => p && p !== 'cpu')];
for (const p of PROVIDERS) if (!['cpu', 'cuda', 'webgpu'].includes(p)) throw new Error(`--providers: "${p}" is not one of cpu, cuda, webgpu`);
const SHAPES = opt.small
  ? { small: { layers: 2, dModel: 64, heads: 4 }, xl: { layers: 4, dModel: 128, heads: 4 } }
  : { small: { layers: 12, dModel: 768, heads: 12 }, xl: { layers: 48, dModel: 1600, heads: 25 } };
const RUNS = opt.small ? { runs: '3', seq: '32', gen: '8' } : { runs: '10', seq: '128', gen: '32' };
const log = (m) => process.stderr.write(`[gpu-check] ${m}\n`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-gpu-check-'));
const env = { ...process.env, MECHEDIT_CACHE: process.env.MECHEDIT_CACHE || path.join(opt.cache, 'mechedit') };
const hasSmi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).status === 0;

/** The checkpoint folder of a GPT-2 shape, written by tools/random-checkpoint.mjs unless there. */
function checkpoint(z) {
  const key = `gpt2-L${z.layers}-d${z.dModel}-h${z.heads}-v50257`;
  const dir = path.join(opt.cache, 'ckpt', key);
  if (!['config.json', 'tokenizer.json', 'model.safetensors'].every((f) => fs.existsSync(path.join(dir, f)))) {
    log(`writing a random ${key} checkpoint to ${dir}`);
    fs.rmSync(`${dir}.tmp`, { recursive: true, force: true });
    const r = spawnSync(process.execPath, [path.join(repo, 'tools', 'random-checkpoint.mjs'), '--arch', 'gpt2', '--out', `${dir}.tmp`, '--layers', String(z.layers), '--d-model', String(z.dModel), '--heads', String(z.heads)], { stdio: ['ignore', 2, 2] });
    if (r.status !== 0) throw new Error(`tools/random-checkpoint.mjs failed (${r.status ?? r.signal})`);
    fs.renameSync(`${dir}.tmp`, dir);
  }
  // Key statistics read <model>/corpus.txt.
  if (!fs.existsSync(path.join(dir, 'corpus.txt'))) fs.copyFileSync(path.join(repo, 'models', 'default', 'corpus.txt'), path.join(dir, 'corpus.txt'));
  return { dir, key };
}

/** memory.used (MiB) of GPU 0 now, or undefined without nvidia-smi. */
function gpuMemory() {
  if (!hasSmi) return undefined;
  const r = spawnSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-i', '0'], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** Runs one child measurement: its JSON, or { error }; with the peak GPU memory it added. */
function child(task, provider, args = []) {
  const base = gpuMemory();
  let peak = base;
  const sampler = hasSmi ? setInterval(() => (peak = Math.max(peak ?? 0, gpuMemory() ?? 0)), 100) : undefined;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(repo, 'bench', 'gpu-check-child.mjs'), task, '--provider', provider, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), Number(opt['child-timeout']) * 1000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(sampler);
      const line = stdout.split('\n').find((l) => l.startsWith('@@'));
      const gpuMiB = base === undefined ? undefined : peak - base;
      if (line) return resolve({ ...JSON.parse(line.slice(2)), gpuMiB });
      const lines = stderr.trim().split('\n').filter((l) => l.trim() && !l.startsWith('[gpu-check') && !l.startsWith('Node.js'));
      const why = lines.find((l) => /Error\b.*:|message:/.test(l)) ?? lines.at(-1) ?? '';
      resolve({ error: signal === 'SIGKILL' ? `timed out after ${opt['child-timeout']} s` : `exit ${code ?? signal}: ${why.trim().replace(/\|/g, '/').slice(0, 200)}`, gpuMiB });
    });
  });
}

/** max |Δ| of two float32 logit files [1, S, V] and how many positions share the argmax. */
function parity(fileA, fileB, vocab) {
  const a = new Float32Array(fs.readFileSync(fileA).buffer.slice(0));
  const b = new Float32Array(fs.readFileSync(fileB).buffer.slice(0));
  if (a.length !== b.length) return { maxAbs: NaN, agree: 0, positions: 0 };
  let maxAbs = 0;
  let agree = 0;
  const positions = a.length / vocab;
  for (let s = 0; s < positions; s++) {
    let ia = 0;
    let ib = 0;
    for (let v = 0; v < vocab; v++) {
      const k = s * vocab + v;
      maxAbs = Math.max(maxAbs, Math.abs(a[k] - b[k]));
      if (a[k] > a[s * vocab + ia]) ia = v;
      if (b[k] > b[s * vocab + ib]) ib = v;
    }
    if (ia === ib) agree++;
  }
  return { maxAbs, agree, positions };
}

const results = { providers: {}, forward: {}, edits: {}, unlearn: {} };
log(`providers: ${PROVIDERS.join(', ')}${opt.small ? ' (--small: tiny shapes)' : ''}`);
for (const p of PROVIDERS) {
  const r = await child('probe', p);
  results.providers[p] = r.error ? { ok: false, reason: `the probe process failed: ${r.error}` } : r;
}
const open = PROVIDERS.filter((p) => results.providers[p].ok);
const models = { default: { dir: path.join(repo, 'models', 'default'), key: 'models/default' } };
if (TASKS.includes('forward')) models.small = checkpoint(SHAPES.small);
if (TASKS.includes('edits')) models.xl = checkpoint(SHAPES.xl);

for (const m of TASKS.includes('forward') ? ['default', 'small'] : []) {
  results.forward[m] = {};
  for (const p of open) {
    const file = path.join(tmp, `${m}-${p}.f32`);
    results.forward[m][p] = { ...(await child('forward', p, ['--model', models[m].dir, '--logits', file, ...Object.entries(RUNS).flatMap(([k, v]) => [`--${k}`, v])])), file };
  }
}
for (const p of TASKS.includes('edits') ? open : []) results.edits[p] = await child('edits', p, ['--model', models.xl.dir, '--steps', opt['xl-steps'], '--samples', opt.small ? '256' : opt['xl-samples']]);
for (const p of TASKS.includes('unlearn') ? open : []) results.unlearn[p] = await child('unlearn', p, ['--model', models.default.dir, '--steps', opt['unlearn-steps']]);

// ---- the table ------------------------------------------------------------------------------
const f = (x, n = 1) => (Number.isFinite(x) ? x.toFixed(n) : '–');
const speed = (p, x, cpu, higherIsBetter) => (p === 'cpu' || !Number.isFinite(cpu) ? '' : ` (${f(higherIsBetter ? x / cpu : cpu / x, 2)}× CPU)`);
/** A provider's cell: '–' where it does not open, 'not run' where --tasks left it out. */
const cell = (p, r, fn) => (!results.providers[p].ok ? '–' : !r ? 'not run' : r.error ? `✗ ${r.error}` : fn(r));
const shapeKey = (z) => `gpt2-L${z.layers}-d${z.dModel}-h${z.heads}-v50257`;
const rows = [];
rows.push(['opens', '', ...PROVIDERS.map((p) => (results.providers[p].ok ? '✓' : `✗ ${results.providers[p].reason.replace(/\|/g, '/').slice(0, 400)}`))]);
for (const m of ['default', 'small']) {
  const fw = results.forward[m] ?? {};
  const key = models[m]?.key ?? shapeKey(SHAPES.small);
  const cpu = fw.cpu;
  const vocab = cpu?.dims?.[2];
  rows.push(['parity vs CPU: max abs Δ logit, argmax agreement, greedy ids', key, ...PROVIDERS.map((p) => (p === 'cpu' ? 'reference' : cell(p, fw[p], (r) => {
    if (!cpu || cpu.error) return 'no CPU reference';
    const q = parity(cpu.file, r.file, vocab);
    const same = r.genIds.length === cpu.genIds.length && r.genIds.every((id, i) => id === cpu.genIds[i]);
    return `${q.maxAbs.toExponential(1)}, ${q.agree}/${q.positions}, ${same ? 'same' : 'differ'}`;
  })))]);
  rows.push([`forward 1 × ${RUNS.seq}, median ms`, key, ...PROVIDERS.map((p) => cell(p, fw[p], (r) => `${f(r.forwardMs)}${speed(p, r.forwardMs, cpu?.forwardMs, false)}`))]);
  rows.push([`generation, ${RUNS.gen} tokens after 32, tok/s`, key, ...PROVIDERS.map((p) => cell(p, fw[p], (r) => `${f(r.genTokPerS)}${speed(p, r.genTokPerS, cpu?.genTokPerS, true)}`))]);
}
for (const method of ['rome', 'memit']) {
  const cpu = results.edits.cpu?.[method]?.editMs;
  rows.push([`${method.toUpperCase()} s / edit (statistics cached; first edit in brackets), ${opt['xl-steps']} v* steps`, shapeKey(SHAPES.xl), ...PROVIDERS.map((p) => cell(p, results.edits[p], (r) => `${f(r[method].editMs / 1000, 2)} (${f(r[method].firstMs / 1000, 1)})${speed(p, r[method].editMs, cpu, false)}`))]);
}
rows.push(['unlearning step (GradDiff, rank 8, batch 16), median ms', 'models/default', ...PROVIDERS.map((p) => cell(p, results.unlearn[p], (r) => `${f(r.stepMs, 0)}${speed(p, r.stepMs, results.unlearn.cpu?.stepMs, false)}`))]);
const peak = (p) => Math.max(...[...Object.values(results.forward).map((x) => x[p]), results.edits[p], results.unlearn[p]].map((r) => r?.gpuMiB ?? -Infinity));
rows.push(['peak GPU memory, MiB (nvidia-smi)', 'all of the above', ...PROVIDERS.map((p) => (!hasSmi ? 'no nvidia-smi' : Number.isFinite(peak(p)) ? String(peak(p)) : '–'))]);

const gpuName = hasSmi ? spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader', '-i', '0'], { encoding: 'utf8' }).stdout.trim() : 'no NVIDIA GPU';
const ortVersion = JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')).version;
console.log(`\nGPU check, ${new Date().toISOString().slice(0, 10)}: ${gpuName}; ${os.cpus()[0]?.model ?? 'CPU'} × ${os.cpus().length}; onnxruntime-node ${ortVersion}${opt.small ? '; --small (tiny shapes: tests the script, not the GPU)' : ''}\n`);
console.log(`| check | model | ${PROVIDERS.join(' | ')} |`);
console.log(`|---|---|${PROVIDERS.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(results, null, 2));
fs.rmSync(tmp, { recursive: true, force: true });
