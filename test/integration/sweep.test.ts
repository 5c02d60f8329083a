// A sweep root in the Diagnostics and Lifelong panels, without Slurm: `mechedit sweep` writes the plan of an
// EVOKE sweep (cells none and ft, 2 shards each, --limit 2) into the workspace; *MechEdit: Open
// Sweep…* shows its grid with every task missing; the four shards' command lines are then run
// directly with node, and the panel redraws the grid as all finished (its folder watcher, or its
// poll while tasks are left), with Merge now enabled; the merge (what Merge now asks the host) draws the two cells side by side, whose
// figures and differences are checked against the comparison.csv that sweep merge wrote; a
// screenshot. Then a sequential sweep (ft, memit; 2 world counterfactuals, each cell's run and
// its task's exit mark written as sweep.sbatch would): it opens in the Lifelong editing panel with
// a line per cell in every chart, and merged, its cells' figures are their last curve points.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { SweepView } from '../../src/protocol/sweep';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

interface SweepSummary {
  root: string;
  diagnostic: string;
  counts: Record<string, number>;
  grid: Record<string, string[]>;
  mergeEnabled: boolean;
  merged: boolean;
  picked: string[];
  compare: { figure: string; values: (number | undefined)[]; diffs: (number | undefined)[] }[];
  error?: string;
}

const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');

/** Runs the CLI with the extension host's node (Electron's binary as node in desktop VS Code). */
function mechedit(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mechedit ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

const sweepOf = (s: unknown) => (s as { sweep?: SweepSummary } | undefined)?.sweep;

describe('Sweep root in the Diagnostics and Lifelong panels', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.panels.diagnostics()?.panel.dispose();
    api.panels.lifelong()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('opens an EVOKE sweep, follows its shards to finished, merges and compares two cells', async function () {
    this.timeout(600_000);
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const root = path.join(ws, '.mechedit', 'sweeps', `evoke-${Date.now()}`);
    await mechedit(['sweep', '--diagnostic', 'evoke', '--default', '--method', 'none', 'ft', '--shards', '2', '--root', root, '--', '--limit', '2']);

    const opened = await vscode.commands.executeCommand<SweepView | undefined>('mechedit.openSweep', { root });
    assert.ok(opened, 'Open Sweep returned the view');
    assert.deepEqual([opened.diagnostic, opened.cells, opened.shards, opened.counts.missing], ['evoke', ['none', 'ft'], 2, 4]);
    const panel = api.panels.diagnostics()!;
    assert.ok(panel, 'the sweep opens in the Diagnostics panel');
    const drawn = (s: unknown, accept: (x: SweepSummary) => boolean) => !!sweepOf(s) && sweepOf(s)!.root === opened.root && accept(sweepOf(s)!);
    const missing = sweepOf(drawn(panel.lastRender, () => true) ? panel.lastRender : await waitFor(panel.onDidRender, (s) => drawn(s, () => true), 'the sweep drawn', 30_000))!;
    assert.deepEqual(missing.grid, { none: ['missing', 'missing'], ft: ['missing', 'missing'] });
    assert.equal(missing.mergeEnabled, false);

    // The array tasks' command lines (sweep.json's plan, as sweep.sbatch spells them), run here one after another.
    const plan = JSON.parse(fs.readFileSync(path.join(root, 'sweep.json'), 'utf8')) as { cells: { id: string; method: string }[]; modelArgs: string[]; args: string[] };
    const t0 = Date.now();
    for (const cell of plan.cells) {
      for (const s of [0, 1]) await mechedit(['evoke', ...plan.modelArgs, '--method', cell.method, ...plan.args, '--shard', `${s}/2`, '--resume', '--out', path.join(root, 'cells', cell.id, `shard-${s}of2`)]);
    }
    console.log(`    the 4 shards ran in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const allDone = (s: unknown) => drawn(s, (x) => x.counts.finished === 4);
    const done = sweepOf(allDone(panel.lastRender) ? panel.lastRender : await waitFor(panel.onDidRender, allDone, 'the redraw with every shard finished', 60_000))!;
    assert.deepEqual(done.grid, { none: ['finished', 'finished'], ft: ['finished', 'finished'] });
    assert.deepEqual(done.counts, { finished: 4, running: 0, stopped: 0, missing: 0 });
    assert.equal(done.mergeEnabled, true, 'Merge now is offered');
    assert.equal(done.merged, false);

    // Merge now (the host's answer to the button), then the two cells side by side.
    const mergedDrawn = waitFor(panel.onDidRender, (s) => drawn(s, (x) => x.merged && x.compare.length > 1), 'the merged comparison drawn', 120_000);
    const view = await panel.sweeps.handlers.mergeSweep({ root: opened.root });
    assert.ok(view.merged, 'merged');
    const m = sweepOf(await mergedDrawn)!;
    assert.equal(m.mergeEnabled, false);
    assert.deepEqual(m.picked, ['none', 'ft']);
    // Against comparison.csv as `sweep merge` wrote it (one row per cell, numbers to 6 significant digits).
    const [head, ...rows] = fs.readFileSync(path.join(root, 'comparison.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const csv = (cell: string, figure: string) => rows.find((r) => r[0] === cell)![head.indexOf(figure)];
    assert.equal(m.compare.length, head.length - 3, 'a row per figure of the CSV (cases and every column)');
    // A figure one cell lacks (an empty CSV field) is missing in the panel too (undefined, null once posted), and has no difference.
    const shown = (x: number | null | undefined) => (x === undefined || x === null ? '' : String(Number(x.toPrecision(6))));
    let both = 0;
    for (const r of m.compare) {
      assert.ok(head.includes(r.figure), `${r.figure} is a column of comparison.csv`);
      const [none, ft] = r.values as (number | null | undefined)[];
      assert.equal(shown(none), csv('none', r.figure), `none ${r.figure}`);
      assert.equal(shown(ft), csv('ft', r.figure), `ft ${r.figure}`);
      if (typeof none === 'number' && typeof ft === 'number') {
        both++;
        assert.ok(Math.abs(r.diffs[0]! - (ft - none)) < 1e-9, `Δ ${r.figure}`);
      } else assert.ok(r.diffs[0] === undefined || r.diffs[0] === null, `no Δ for ${r.figure}`);
    }
    assert.ok(both > 10, `${both} figures both cells have`);
    assert.equal(m.compare[0].figure, 'cases');
    assert.ok(m.compare[0].values[0]! > 0 && m.compare[0].diffs[0] === 0, 'both cells ran the same cases');
    assert.ok(m.compare.some((r) => r.diffs[0] !== 0), 'FT\'s per-case edits change some figure');
    panel.panel.reveal();
    await new Promise((res) => setTimeout(res, 500));
    await screenshot('diagnostics-sweep-compare');
    // Printed, not asserted: under code-server here the FileSystemWatcher reported the shards'
    // writes in some runs (46 events) and none in others (0; runs of 2026-12-07); the 5 s poll
    // redraws the grid either way.
    console.log(`    FileSystemWatcher events seen: ${panel.sweeps.watchEvents}`);
  });

  it('opens a sequential sweep in the Lifelong panel: the cells\' curves on one chart, merged and compared', async function () {
    this.timeout(300_000);
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const root = path.join(ws, '.mechedit', 'sweeps', `sequential-${Date.now()}`);
    await mechedit(['sweep', '--diagnostic', 'sequential', '--default', '--method', 'ft', 'memit', '--root', root, '--', '--world-counterfactuals', '2', '--every', '2']);
    // Each cell's run as its array task runs it, and the exit mark sweep.sbatch writes after it (a sequential task is finished by its exit 0).
    const plan = JSON.parse(fs.readFileSync(path.join(root, 'sweep.json'), 'utf8')) as { cells: { id: string; method: string }[]; modelArgs: string[]; args: string[] };
    for (const [i, cell] of plan.cells.entries()) {
      await mechedit(['sequential', ...plan.modelArgs, '--method', cell.method, ...plan.args, '--resume', '--out', path.join(root, 'cells', cell.id, 'run')]);
      fs.writeFileSync(path.join(root, 'tasks', `${i}.json`), JSON.stringify({ task: i, host: 'test', started: new Date().toISOString(), exit: 0 }));
    }
    const opened = await vscode.commands.executeCommand<SweepView | undefined>('mechedit.openSweep', { root });
    assert.ok(opened?.curves, 'a sequential sweep comes with its curves');
    const panel = api.panels.lifelong()!;
    assert.ok(panel, 'a sequential sweep opens in the Lifelong editing panel');
    const all = (s: unknown) => sweepOf(s)?.root === opened.root && sweepOf(s)!.counts.finished === 2;
    const s = (all(panel.lastRender) ? panel.lastRender : await waitFor(panel.onDidRender, all, 'the sequential sweep drawn', 30_000)) as { sweep: SweepSummary; sweepLines: number; measures: string[] };
    assert.deepEqual(s.sweep.grid, { ft: ['finished'], memit: ['finished'] });
    assert.equal(s.sweep.mergeEnabled, true);
    assert.equal(s.sweepLines, 2 * s.measures.length, 'a line per cell in every chart');

    const mergedDrawn = waitFor(panel.onDidRender, (x) => sweepOf(x)?.root === opened.root && !!sweepOf(x)?.merged, 'the merged sequential sweep', 60_000);
    await panel.sweeps.handlers.mergeSweep({ root: opened.root });
    const m = sweepOf(await mergedDrawn)!;
    // A sequential cell's figures are its last curve point, read here from curve.jsonl.
    const last = (id: string) => JSON.parse(fs.readFileSync(path.join(root, 'cells', id, 'run', 'curve.jsonl'), 'utf8').trim().split('\n').pop()!) as { edits: number; efficacy: number; specificity: number };
    const row = (figure: string) => m.compare.find((r) => r.figure === figure)!;
    for (const figure of ['edits', 'efficacy', 'specificity'] as const) {
      assert.deepEqual(row(figure).values, [last('ft')[figure], last('memit')[figure]], figure);
      assert.ok(Math.abs(row(figure).diffs[0]! - (last('memit')[figure] - last('ft')[figure])) < 1e-9, `Δ ${figure}`);
    }
    panel.panel.reveal();
    await new Promise((res) => setTimeout(res, 500));
    await screenshot('lifelong-sweep-curves');
  });
});
