#!/usr/bin/env node
// Resource hints for a sweep (docs/cluster.md): per EVOKE --method (the registry's list), the
// peak memory (max RSS) of one `mechedit evoke` process and its seconds per case on the bundled
// model, one thread (what one Slurm task with --cpus-per-task=1 gets). Each method runs twice on a
// warm cache (key statistics computed by a warm-up run first): with --limit 1 and with --limit N;
// seconds per case = (s_N − s_1) / (cases_N − cases_1), so the model load and graph build cancel,
// where s is the process's CPU time (user + system), which other jobs on the machine slow less
// than the wall time; the wall-clock figure is printed beside it.
// Prints a Markdown table.
//
//   npx tsc -p . && node bench/sweep-resources.mjs [--limit 4] [--methods none,rome,…] [--model DIR]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { out, repo } from './lib.mjs';

const { values: opt } = parseArgs({ options: { limit: { type: 'string' }, methods: { type: 'string' }, model: { type: 'string' } } });
const limit = Number(opt.limit ?? 4);
const { evokePlugin } = out('core/diagnostics/plugins/evoke.js');
const all = evokePlugin.descriptor.settings.find((s) => s.name === 'method').options;
const methods = opt.methods ? opt.methods.split(',') : all;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-bench-sweep-'));
const cli = path.join(repo, 'out', 'src', 'cli', 'main.js');
// Reports the process's peak RSS on exit (resourceUsage().maxRSS, KiB) on stderr.
const probe = path.join(tmp, 'rss.cjs');
fs.writeFileSync(probe, "process.on('exit', () => { const u = process.resourceUsage(); require('fs').writeSync(2, `\\nMAXRSS ${u.maxRSS} CPU ${u.userCPUTime + u.systemCPUTime}\\n`); });\n");
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
const model = opt.model ? ['--model', opt.model] : ['--default'];

function run(method, n) {
  const dir = path.join(tmp, `${method}-${n}-${Math.random().toString(36).slice(2)}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['-r', probe, cli, 'evoke', ...model, '--provider', 'cpu', '--threads', '1', '--method', method, '--limit', String(n), '--out', dir, '--json'], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${method}: ${r.stderr.slice(-2000)}`);
  const [, rss, cpu] = /MAXRSS (\d+) CPU (\d+)/.exec(r.stderr);
  return { seconds, cpu: Number(cpu) / 1e6, cases: JSON.parse(r.stdout).cases, rssMiB: Number(rss) / 1024 };
}

console.log(`| method | cases | CPU seconds per case | wall seconds per case | peak RSS (MiB) |\n|---|---:|---:|---:|---:|`);
for (const m of methods) {
  run(m, 1); // warm-up: key statistics into the cache
  const a = run(m, 1);
  const b = run(m, limit);
  const per = (k) => ((b[k] - a[k]) / (b.cases - a.cases)).toFixed(2);
  console.log(`| ${m} | ${b.cases} | ${per('cpu')} | ${per('seconds')} | ${Math.max(a.rssMiB, b.rssMiB).toFixed(0)} |`);
}
fs.rmSync(tmp, { recursive: true, force: true });
