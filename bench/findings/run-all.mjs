#!/usr/bin/env node
// Runs every finding at the given presets, one after another, each at its defaults (plus --n if
// given), writing <out-dir>/<finding>-<preset>.json, then prints the rows of all of them as one
// Markdown table with a preset column (the rows docs/results/findings.md takes). A JSON already there
// is not run again (delete it to rerun); --render-only only prints.
//
//   node bench/findings/run-all.mjs [--presets paper,tuned] [--only a,b,c,cm,d,e] [--out-dir docs/results/findings] [--render-only] [--n N]

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { repo } from '../findings-lib.mjs';

const FINDINGS = {
  a: ['dike-rloc.mjs'],
  b: ['glame-twohop.mjs'],
  c: ['lifelong.mjs'],
  cm: ['lifelong.mjs', '--method', 'memit', '--n', '100', '--batch', '100'],
  d: ['unlearn-sets.mjs'],
  e: ['uipe.mjs'],
};
const { values } = parseArgs({ options: {
  presets: { type: 'string', default: 'paper,tuned' }, only: { type: 'string', default: Object.keys(FINDINGS).join(',') },
  'out-dir': { type: 'string', default: path.join(repo, 'docs', 'results', 'findings') }, 'render-only': { type: 'boolean' }, n: { type: 'string' },
} });
const dir = path.resolve(values['out-dir']);
fs.mkdirSync(dir, { recursive: true });
const jobs = values.only.split(',').flatMap((f) => values.presets.split(',').map((p) => ({ f, p, file: path.join(dir, `${f}-${p}.json`) })));
for (const { f, p, file } of jobs) {
  if (!FINDINGS[f]) throw new Error(`unknown finding ${f}: one of ${Object.keys(FINDINGS).join(', ')}`);
  if (values['render-only'] || fs.existsSync(file)) continue;
  const [script, ...rest] = FINDINGS[f];
  const argv = [path.join('bench', 'findings', script), ...rest, '--preset', p, '--out', path.relative(repo, file), ...(values.n && f !== 'cm' ? ['--n', values.n] : [])];
  process.stderr.write(`\n== ${f} at ${p}: node ${argv.join(' ')}\n`);
  const r = spawnSync(process.execPath, argv, { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.stderr.write(`${f} at ${p} failed (exit ${r.status}); going on\n`);
}

const f1 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(1));
console.log('| finding | preset | figure | value | 95 % CI | n | command | date |');
console.log('|---|---|---|---:|---|---:|---|---|');
for (const { f, p, file } of jobs) {
  if (!fs.existsSync(file)) {
    console.log(`| ${f} | ${p} | *not run* | | | | | |`);
    continue;
  }
  const d = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const r of d.rows) {
    const unit = r.unit.trim() === '%' ? ' %' : r.unit;
    console.log(`| ${f} | ${d.preset} | ${r.label}${r.extra ? ` (${r.extra})` : ''} | ${f1(r.value)}${unit} | [${f1(r.lo)}, ${f1(r.hi)}] | ${r.n} | \`${d.command}\` | ${d.date} |`);
  }
}
