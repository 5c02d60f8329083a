// The Lifelong editing panel inside VS Code, on the bundled default model: *MechEdit: Lifelong
// Editing…* runs two sequential ROME edits (20 v* steps), measured at 0 and 2, while the panel
// draws the curves live — a chart per measure, a line per method, a dot per point; the run folder
// lands in the workspace's .mechedit/lifelong/ and the user's edit stack is untouched; the folder
// read back shows the same curve; a running session shows done / total, rate and time left; Cancel
// mid-way stops a session and its queued method and reports the edits actually done (kept in the
// folder, measured once more for the table and export); a session folder of two methods overlays
// them; screenshots.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { LifelongRunResult } from '../../src/protocol/lifelong';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

interface LifelongSummary {
  status: string;
  source?: string;
  folder?: string;
  runs: { method: string; status: string; points: number; lastEdits?: number; done?: number; progress?: string }[];
  notes?: string[];
  editsColumn?: string[];
  charts: number;
  measures: string[];
  lines: number;
  dots: number;
  cancelEnabled: boolean;
  error?: string;
}

describe('Lifelong editing panel', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.panels.lifelong()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('draws the curves of a sequential ROME run live, one chart per measure, and reads its folder back', async function () {
    this.timeout(300_000);
    const stack = api.engine.stack.items.map((i) => i.id);
    await vscode.commands.executeCommand('mechedit.lifelong');
    const panel = api.panels.lifelong()!;
    assert.ok(panel, 'the Lifelong editing panel is open');
    if (panel.lastRender === undefined) await waitFor(panel.onDidRender, () => true, 'the empty Lifelong editing panel', 30_000);
    const live = waitFor(panel.onDidRender, (s) => (s as LifelongSummary).status === 'running' && (s as LifelongSummary).dots >= 1, 'a point drawn while it runs', 200_000);
    const finished = waitFor(panel.onDidRender, (s) => ['drawn', 'error'].includes((s as LifelongSummary).status) && (s as LifelongSummary).runs[0]?.status !== 'queued', 'the finished run drawn', 280_000);
    const ran = vscode.commands.executeCommand<(LifelongRunResult | undefined)[] | undefined>('mechedit.lifelong', { methods: ['rome'], n: 2, every: 2, settings: { steps: 20 } });
    const during = (await live) as LifelongSummary;
    assert.ok(during.cancelEnabled, 'Cancel is enabled while it runs');
    assert.equal(during.runs[0].status, 'running');
    const results = await ran;
    assert.ok(results?.[0], 'the command returned the run');
    const r = results[0];
    assert.equal(r.cancelled, false);
    assert.deepEqual(r.points.map((p) => p.edits), [0, 2], 'measured at 0 and at the end');
    assert.ok(r.points[1].health.length >= 1 && r.points[1].health[0].relNorm > 0, 'the run\'s own stack grew');

    const s = (await finished) as LifelongSummary;
    assert.equal(s.status, 'drawn', s.error);
    assert.deepEqual(s.runs.map((x) => [x.method, x.status, x.points]), [['rome', 'done', 2]]);
    assert.equal(s.charts, s.measures.length, 'a chart per measure');
    assert.deepEqual(s.measures.slice(0, 6), ['efficacy', 'paraphrase', 'specificity', 'choice', 'trueFalse', 'twoHop']);
    // Every measure that has figures draws a line with a dot per point (paraphrase too: the world's counterfactuals carry them).
    assert.equal(s.lines, s.measures.length, `${s.lines} lines`);
    assert.equal(s.dots, 2 * s.measures.length, `${s.dots} dots`);
    assert.equal(s.cancelEnabled, false);

    // The run folder: in the workspace, the curve as drawn; the user's stack as it was.
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    assert.ok(r.folder.startsWith(path.join(ws, '.mechedit', 'lifelong')), `in the workspace: ${r.folder}`);
    assert.equal(fs.readFileSync(path.join(r.folder, 'curve.jsonl'), 'utf8').trim().split('\n').length, 2);
    assert.deepEqual(api.engine.stack.items.map((i) => i.id), stack, 'the user stack is untouched');
    panel.panel.reveal();
    await new Promise((res) => setTimeout(res, 500));
    await screenshot('lifelong-rome-curves');

    // The session folder read back (what Open Run Folder… and Reload do): the same points.
    const read = waitFor(panel.onDidRender, (x) => (x as LifelongSummary).source === 'folder', 'the folder read back', 20_000);
    await vscode.commands.executeCommand('mechedit.lifelong', { folder: path.dirname(r.folder) });
    const back = (await read) as LifelongSummary;
    assert.equal(back.status, 'drawn', back.error);
    assert.deepEqual(back.runs.map((x) => [x.method, x.status, x.points, x.lastEdits]), [['rome', 'loaded', 2, 2]]);
    assert.equal(back.dots, s.dots);
  });

  it('cancels mid-way from the panel: the edits done are reported and kept, the queued method never starts', async function () {
    this.timeout(120_000);
    await vscode.commands.executeCommand('mechedit.lifelong');
    const panel = api.panels.lifelong()!;
    // Two edits done: the run line has a measured rate and time left.
    const paced = waitFor(panel.onDidRender, (x) => (x as LifelongSummary).status === 'running' && ((x as LifelongSummary).runs[0]?.done ?? 0) >= 2, 'two edits done', 100_000);
    const stopped = waitFor(panel.onDidRender, (x) => (x as LifelongSummary).status === 'drawn' && (x as LifelongSummary).runs.length === 2, 'the cancelled session', 110_000);
    const ran = vscode.commands.executeCommand<(LifelongRunResult | undefined)[] | undefined>('mechedit.lifelong', { methods: ['rome', 'memit'], n: 20, every: 10, settings: { steps: 20 } });
    const during = (await paced) as LifelongSummary;
    assert.match(during.runs[0].progress ?? '', /^\d+ \/ 20 edits · [\d.]+ edits\/(s|min) · about .+ left$/, 'done / total, rate, time left');
    assert.equal(during.notes?.[0], during.runs[0].progress, 'shown on the run line');
    panel.panel.reveal();
    await screenshot('lifelong-eta');
    // What the panel's Cancel button asks the host.
    assert.equal(panel.runs.cancel(), true);
    const results = await ran;
    const s = (await stopped) as LifelongSummary;
    assert.deepEqual(s.runs.map((x) => [x.method, x.status]), [['rome', 'cancelled'], ['memit', 'cancelled']]);
    assert.equal(results?.length, 2);
    assert.equal(results[1], undefined, 'MEMIT never ran');
    const rome = results[0]!;
    assert.ok(rome.cancelled, 'ROME was cancelled');
    // The edits actually done: in the folder, in the result, in the table, and measured (the export's last row).
    const saved = fs.readdirSync(path.join(rome.folder, 'edits')).filter((f) => f.endsWith('.json')).length;
    assert.ok(saved >= 2 && saved < 20, `${saved} edits saved`);
    assert.equal(rome.edits, saved);
    assert.equal(rome.points[rome.points.length - 1].edits, saved, 'the last point measures them');
    assert.equal(s.runs[0].lastEdits, saved);
    assert.equal(s.editsColumn?.[0], String(saved));
    assert.match(s.notes?.[0] ?? '', new RegExp(`^cancelled after ${saved} edits`));
    assert.equal(s.runs[1].points, 0);
    assert.equal(s.cancelEnabled, false);
    assert.ok(s.folder && !fs.existsSync(path.join(s.folder, 'memit')), 'no MEMIT folder');
    await screenshot('lifelong-cancelled');
  });

  it('overlays the runs of a session folder, a line per method in every chart', async function () {
    this.timeout(60_000);
    // test/fixtures/lifelong/session: a real session (lifelong/run on the bundled model, 20 world
    // counterfactuals, 20 v* steps, measured every 5; ROME one at a time, AlphaEdit in batches of 5).
    const folder = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'lifelong', 'session');
    await vscode.commands.executeCommand('mechedit.lifelong');
    const panel = api.panels.lifelong()!;
    const read = waitFor(panel.onDidRender, (x) => (x as LifelongSummary).folder === folder, 'the session folder drawn', 20_000);
    await vscode.commands.executeCommand('mechedit.lifelong', { folder });
    const s = (await read) as LifelongSummary;
    assert.equal(s.status, 'drawn', s.error);
    assert.deepEqual(s.runs.map((x) => [x.method, x.points, x.lastEdits]), [['rome', 5, 20], ['alphaedit', 5, 20]]);
    assert.equal(s.lines, 2 * s.charts, 'two lines in every chart');
    assert.equal(s.dots, 2 * 5 * s.charts);
    panel.panel.reveal();
    await new Promise((res) => setTimeout(res, 500));
    await screenshot('lifelong-rome-alphaedit-overlay');
  });

  it('FT-M, added through the registry alone: Edit a Fact… computes and applies it, and the Lifelong panel runs it', async function () {
    this.timeout(120_000);
    const r = await vscode.commands.executeCommand<{ file: string; id: string; applied: boolean }>('mechedit.editFact', { method: 'ft', requests: [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }], force: true });
    assert.ok(r && fs.existsSync(r.file), 'the FT-M edit is saved');
    assert.equal((JSON.parse(fs.readFileSync(r.file, 'utf8')) as { method: string }).method, 'ft');
    assert.equal(r.applied, true, 'it took and is on the stack');
    assert.ok(api.engine.stack.items.some((i) => i.id === r.id));
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    await vscode.commands.executeCommand('mechedit.lifelong');
    const panel = api.panels.lifelong()!;
    const drawn = waitFor(panel.onDidRender, (x) => (x as LifelongSummary).status === 'drawn' && (x as LifelongSummary).runs[0]?.method === 'ft', 'the FT-M run drawn', 100_000);
    const results = await vscode.commands.executeCommand<(LifelongRunResult | undefined)[] | undefined>('mechedit.lifelong', { methods: ['ft'], n: 2, every: 2 });
    assert.deepEqual(results?.[0]?.points.map((p) => p.edits), [0, 2]);
    const s = (await drawn) as LifelongSummary;
    assert.deepEqual(s.runs.map((x) => [x.method, x.status]), [['ft', 'done']]);
  });
});
