// What the findings benches (bench/findings/*.mjs, issue 31 item 4) share:
//   - one command line: --preset paper|tuned (passed to every computeFactEdit / unlearning job),
//     --n (cases), --seed (the case draw), --out FILE (JSON), --boot-seed, --model DIR, --threads;
//   - a seeded bootstrap over cases: 95 % percentile intervals from 2000 resamples, of a mean
//     (bootMean) and of the paired difference of two methods on the same cases (bootPaired);
//   - the Markdown rows every finding prints (finding, figure, 95 % CI, n, command, date) and the
//     JSON it writes (the same rows, each with its per-case values, and the run's settings);
//   - the world of a model (world.json + facts.jsonl) and seeded draws from it.
// Seeds: the case draws use their own defaults (3101 … 3105, see bench/README.md "Findings"),
// none of which any default was tuned on (the tuning benches used seeds 1, 2, 3, 7 and 11).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { repo } from './lib.mjs';

export { repo };

/** mulberry32: a small seeded generator of uniforms in [0, 1) (the same recurrence as core/runtime/run.ts's, written here so the statistics never depend on out/). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const RESAMPLES = 2000;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted, q) {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]) - sorted[lo]);
}

/**
 * Percentile bootstrap of a statistic over cases: `stat(indices)` for `resamples` draws of n case
 * indices with replacement (seeded), the 2.5 % and 97.5 % quantiles. {value, lo, hi, n}; NaN for no case.
 */
export function bootstrap(n, stat, { seed = 1, resamples = RESAMPLES } = {}) {
  if (n === 0) return { value: NaN, lo: NaN, hi: NaN, n: 0 };
  const all = Array.from({ length: n }, (_, i) => i);
  const rand = rng(seed);
  const draws = new Float64Array(resamples);
  const idx = new Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    draws[b] = stat(idx);
  }
  draws.sort();
  return { value: stat(all), lo: quantile(draws, 0.025), hi: quantile(draws, 0.975), n };
}

/** Mean of per-case values (0/1 for a rate; ×100 for %) with its 95 % interval. NaN values are dropped. */
export function bootMean(xs, opts = {}) {
  const v = xs.filter((x) => Number.isFinite(x));
  return { ...bootstrap(v.length, (idx) => mean(idx.map((i) => v[i])), opts), values: v };
}

/**
 * Paired difference a − b over the same cases (a[i] and b[i] measured on case i): the mean
 * difference with its interval (cases resampled together). Cases where either is NaN are dropped.
 */
export function bootPaired(a, b, opts = {}) {
  if (a.length !== b.length) throw new Error(`paired values differ in length: ${a.length} vs ${b.length}`);
  const keep = a.map((x, i) => Number.isFinite(x) && Number.isFinite(b[i]));
  const d = a.map((x, i) => x - b[i]).filter((_, i) => keep[i]);
  return { ...bootstrap(d.length, (idx) => mean(idx.map((i) => d[i])), opts), values: d };
}

/** The command line every finding takes (plus its own `options`); values, the command as typed, and the date. */
export function findingArgs(script, defaults, options = {}) {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'tuned' },
      n: { type: 'string', default: String(defaults.n) },
      seed: { type: 'string', default: String(defaults.seed) },
      'boot-seed': { type: 'string', default: '20261207' },
      out: { type: 'string' },
      model: { type: 'string' },
      threads: { type: 'string', default: '0' },
      ...options,
    },
  });
  process.env.MECHEDIT_CACHE ??= path.join(os.homedir(), '.cache', 'mechedit');
  const command = ['node', path.relative(repo, script), ...process.argv.slice(2)].join(' ');
  return {
    values,
    n: Number(values.n),
    seed: Number(values.seed),
    bootSeed: Number(values['boot-seed']),
    preset: values.preset,
    modelDir: values.model ?? path.join(repo, 'models', 'default'),
    command,
    date: new Date().toISOString().slice(0, 10),
    started: performance.now(),
  };
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');

/** A collector of result rows: add(...) one figure, then print() the Markdown table and save() the JSON. */
export function report(finding, args) {
  const rows = [];
  const notes = [];
  return {
    rows,
    notes,
    /** A figure in % (per-case values 0/1 or 0–100 are scaled by `scale`), from bootMean or bootPaired. */
    add(label, ci, { scale = 100, unit = ' %', extra } = {}) {
      rows.push({ label, value: ci.value * scale, lo: ci.lo * scale, hi: ci.hi * scale, n: ci.n, unit, extra, values: ci.values });
    },
    note(text) {
      notes.push(text);
    },
    print() {
      console.log(`\n### ${finding} (preset ${args.preset}, seed ${args.seed}, ${args.date})\n`);
      console.log('| figure | value | 95 % CI | n | command | date |');
      console.log('|---|---:|---|---:|---|---|');
      for (const r of rows) {
        const unit = r.unit.trim() === '%' ? ' %' : r.unit;
        console.log(`| ${r.label}${r.extra ? ` (${r.extra})` : ''} | ${f1(r.value)}${unit} | [${f1(r.lo)}, ${f1(r.hi)}] | ${r.n} | \`${args.command}\` | ${args.date} |`);
      }
      for (const t of notes) console.log(`\n${t}`);
      const s = (performance.now() - args.started) / 1000;
      console.log(`\nwall ${s.toFixed(0)} s on ${os.cpus().length} cores (${os.cpus()[0].model.trim()})`);
    },
    save(extra = {}) {
      if (!args.values.out) return;
      const body = { finding, preset: args.preset, seed: args.seed, n: args.n, bootSeed: args.bootSeed, resamples: RESAMPLES, command: args.command, date: args.date, wallSeconds: (performance.now() - args.started) / 1000, rows, notes, ...extra };
      fs.mkdirSync(path.dirname(path.resolve(args.values.out)), { recursive: true });
      fs.writeFileSync(args.values.out, `${JSON.stringify(body, null, 1)}\n`);
      process.stderr.write(`wrote ${args.values.out}\n`);
    },
  };
}

/**
 * "12.7 s per case … → the default n 36 takes ≈ 7.6 min": printed after the first cases, so a smoke
 * run says what the default costs. Also the process's CPU seconds per case (user + system since it
 * started, model loading included): on a shared machine wall time grows with the load, CPU time less.
 */
export function costEstimate(what, seconds, done, defaultN) {
  const per = seconds / Math.max(1, done);
  const cpu = process.cpuUsage();
  const cpuPer = (cpu.user + cpu.system) / 1e6 / Math.max(1, done);
  return `cost: ${per.toFixed(1)} s wall, ${cpuPer.toFixed(1)} s CPU per ${what} on this machine (${done} measured; load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores) → the default n ${defaultN} takes ≈ ${((per * defaultN) / 60).toFixed(1)} min wall at this load`;
}

/**
 * The fact world of a model: world.json (entities, relations with templates and questions,
 * facts, two_hop_facts) and facts.jsonl (every prompt the model was trained or held out on), with
 * `obj(subject, relation)` looking up a one-hop fact.
 */
export function loadWorld(modelDir) {
  const file = path.join(modelDir, 'world.json');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: the findings benches need a model with a fact world (world.json, facts.jsonl)`);
  const world = JSON.parse(fs.readFileSync(file, 'utf8'));
  const prompts = fs.readFileSync(path.join(modelDir, 'facts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const bySubject = new Map();
  for (const f of world.facts) {
    if (!bySubject.has(f.subject)) bySubject.set(f.subject, {});
    bySubject.get(f.subject)[f.relation] = f.object;
  }
  const obj = (s, r) => bySubject.get(s)?.[r];
  const question = (q, s) => `Question: ${q.replace('{}', s)}\nAnswer:`;
  return { world, prompts, bySubject, obj, question };
}

/** A seeded sample of k distinct items of xs (partial Fisher–Yates on a copy). */
export function sample(xs, k, rand) {
  const a = [...xs];
  const m = Math.min(k, a.length);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, m);
}

/**
 * n counterfactual requests of one relation on distinct subjects (seeded): the relation's first
 * template, and a new object of the relation's objects ≠ the true one; `accept(subject, target)`
 * may refuse a pair (the draw goes on). Fewer than n when the world runs out: the caller says so.
 */
export function drawCounterfactuals(w, relation, n, rand, accept = () => true) {
  const people = w.world.facts.filter((f) => f.relation === relation).map((f) => f.subject);
  const objects = [...new Set(w.world.facts.filter((f) => f.relation === relation).map((f) => f.object))];
  const cases = [];
  for (const s of sample(people, people.length, rand)) {
    if (cases.length >= n) break;
    const candidates = sample(objects.filter((o) => o !== w.obj(s, relation) && accept(s, o)), 1, rand);
    if (!candidates.length) continue;
    cases.push({ subject: s, prompt: w.world.relations[relation].templates[0], target: candidates[0], old: w.obj(s, relation) });
  }
  return cases;
}

/** Per pair: every answer token top-1 (teacher-forced), and the mean log-probability. */
export async function scorePairs(scoreAnswers, model, pairs) {
  if (!pairs.length) return [];
  const r = await scoreAnswers(model, pairs);
  return r.map((x) => ({ top: x.tokenTop.every(Boolean), lp: x.meanLogprob }));
}
