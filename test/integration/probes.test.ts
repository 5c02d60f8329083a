// Knowledge probes in the Diagnostics panel, inside VS Code, on the bundled default model: a ROME
// edit (case 30: the capital of Broador → Quornwick) and a ROCR redirection (Veltrazine →
// Brindlecake) applied from test/fixtures/probes, each probed on the cases it matches; a screenshot.
// Then what the panel says it measured (issue 33): the mode line naming the applied edit, EVOKE on a
// stack that holds no EVOKE case's edit said in words, the run history comparing two runs, and the
// run's report in the dark and the light theme.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { ProbeSummary } from '../../src/protocol/diagnostics';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';
import { openReportView } from '../../src/extension/webview/reportView';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'probes');

describe('Knowledge probes in the Diagnostics panel', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    await endOnDefaultModel(suite);
  });

  it('probes a ROME edit and a ROCR redirection per edit: reversal gap, conflict winner, consistency, ripple, in context', async function () {
    this.timeout(240_000);
    for (const f of ['rome-case30.json', 'rocr-veltrazine.json']) await api.engine.changeStack('edits/apply', { file: path.join(FIXTURES, f) });
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    type Summary = { status: string; error?: string; kind?: string; method?: string; bars: { key: string; before: number; after: number }[]; probes?: { groups: { edit?: string; cases: number }[]; summary: ProbeSummary; rows: number } };
    const drawn = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'probes', 'the knowledge probes', 230_000);
    panel.notify('run', { kind: 'probes', method: 'none', limit: 2 });
    const s = (await drawn) as Summary;
    assert.equal(s.status, 'drawn', s.error);
    assert.equal(s.method, 'none');
    // One group per edit: the ROME edit's own case, the first two cases of the redirected concept.
    assert.deepEqual(s.probes!.groups, [{ edit: 'rome', cases: 1 }, { edit: 'rocr', cases: 2 }]);
    assert.equal(s.probes!.rows, 2 + 1 + 2, 'a header and one row per case in each group');
    const p = s.probes!.summary;
    assert.equal(p.parametric.efficacy, 100, 'both edits take on their own prompts');
    // The capital edit is not reversed: "Quornwick is a city in" still answers its old country (tools/probes_reference.py agrees).
    assert.equal(p.parametric.reversal.cases, 1);
    assert.equal(p.parametric.reversal.gap, 100);
    assert.equal(p.conflict.newContextWinsOverMemory, 100, 'the world\'s model reads "Imagine that …" facts from its context');
    assert.deepEqual(s.bars.map((b) => b.key), ['efficacy', 'consistency (agreement)', 'forms answering o*', 'reversal', 'ripple (two-hop)', 'R-Loc (same subject)']);
    await screenshot('diagnostics-knowledge-probes');
    panel.panel.dispose();
  });

  it('says what it compares, says when no case\'s edit is in the stack, keeps every run to compare two, and its report follows the theme', async function () {
    this.timeout(240_000);
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    await api.engine.changeStack('edits/apply', { file: path.join(FIXTURES, 'rome-case30.json') });
    const label = 'ROME: The capital of Broador is → Quornwick';
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    type Summary = { status: string; error?: string; kind?: string; method?: string; modeLine?: string; noMatch?: string; stack?: { edits: string[]; matching: number; cases: number };
      bars: { key: string; before: number; after: number }[]; labelsOutside?: number; history?: { runs: number; newest?: { savedAt: string; kind: string; method?: string }; compared?: { a: string; b: string; rows: number; diffs: { key: string; diff: number }[] }; error?: string } };
    const next = (ok: (s: Summary) => boolean, what: string, ms: number) => {
      const last = panel.lastRender as Summary | undefined;
      return last && ok(last) ? Promise.resolve(last) : (waitFor(panel.onDidRender, (x) => ok(x as Summary), what, ms) as Promise<Summary>);
    };
    // The mode line says in words what before and after are, naming the applied edit.
    const mode = await next((x) => !!x.modeLine?.includes(label), 'the mode line naming the edit', 30_000);
    assert.equal(mode.modeLine, `EVOKE / FINE-KED compare: before = the model without edits; after = the model with the 1 enabled edit (${label}). Each case is scored on its own requested fact: only the cases whose edit is in the stack can show efficacy; the others show what the stack does to facts it was not made for.`);
    await screenshot('diag-mode-line');
    const started = new Date().toISOString();

    // EVOKE on that stack: no EVOKE case edits the capital of Broador, and the panel says so.
    let drawn = next((x) => ['drawn', 'error'].includes(x.status) && x.kind === 'evoke' && x.method === 'none', 'EVOKE on the stack', 120_000);
    panel.notify('run', { kind: 'evoke', method: 'none', lti: false, limit: 2 });
    const stackRun = await drawn;
    assert.equal(stackRun.status, 'drawn', stackRun.error);
    assert.deepEqual(stackRun.stack, { edits: [label], matching: 0, cases: 2 });
    assert.match(stackRun.noMatch ?? '', /^None of the 2 EVOKE cases has its edit in the stack's 1 applied edit \(ROME: The capital of Broador is → Quornwick\)\. Efficacy, paraphrase, multi-hop and prefix distraction .* not measured here \(not 0 → 0\)/);
    await screenshot('diag-no-matching-cases');

    // Each case's own ROME edit: a second run; both are kept, and the two compare side by side.
    drawn = next((x) => ['drawn', 'error'].includes(x.status) && x.kind === 'evoke' && x.method === 'rome' && x.history?.newest?.method === 'rome' && x.history.newest.savedAt > started, 'EVOKE with per-case ROME, and the history', 150_000);
    panel.notify('run', { kind: 'evoke', method: 'rome', lti: false, limit: 1 });
    const romeRun = await drawn;
    assert.equal(romeRun.status, 'drawn', romeRun.error);
    const historyDir = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, '.mechedit', 'diagnostics', 'history');
    const kept = fs.readdirSync(historyDir).filter((n) => n.endsWith('-evoke.json')).sort();
    assert.ok(kept.length >= 2, `two EVOKE runs kept: ${kept.join(', ')}`);
    const comparedDrawn = next((x) => !!x.history?.compared || !!x.history?.error, 'the comparison', 30_000);
    panel.notify('compareRuns', {});
    const compared = (await comparedDrawn).history!;
    assert.equal(compared.error, undefined);
    assert.equal(compared.compared!.rows, romeRun.bars.length, 'one row per measure');
    const eff = compared.compared!.diffs.find((d) => d.key === 'efficacy · success')!;
    const a = stackRun.bars.find((b) => b.key === 'efficacy · success')!;
    const b = romeRun.bars.find((x) => x.key === 'efficacy · success')!;
    console.log(`history compare: efficacy · success A (stack) ${a.before} → ${a.after}, B (per-case ROME) ${b.before} → ${b.after}, B − A ${eff.diff}`);
    assert.equal(eff.diff, b.after - a.after);
    assert.ok(eff.diff > 0, 'each case\'s own ROME edit takes where the stack held none of them');
    await screenshot('diag-history-compare');

    // The stack run's report: titled by what ran, before then after, and in the theme's colours.
    const stackFile = path.join(historyDir, kept[kept.length - 2]);
    const saved = JSON.parse(fs.readFileSync(stackFile, 'utf8')) as { result: { out: { after: string } } };
    const html = fs.readFileSync(path.join(saved.result.out.after, 'report.html'), 'utf8');
    assert.match(html, new RegExp(`<h1>EVOKE — the edit stack \\(1 edit: ${label}\\) vs the model without edits</h1>`));
    const theme = vscode.workspace.getConfiguration('workbench').inspect<string>('colorTheme')?.globalValue;
    try {
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
      openReportView(saved.result.out.after);
      await new Promise((r) => setTimeout(r, 1500));
      await screenshot('diag-report');
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', 'Default Light Modern', vscode.ConfigurationTarget.Global);
      await new Promise((r) => setTimeout(r, 1500));
      await screenshot('diag-report-light');
    } finally {
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('draws ORT\'s forms of a concept edit with every axis label inside its chart, in the dark and the light theme', async function () {
    this.timeout(120_000);
    const theme = vscode.workspace.getConfiguration('workbench').inspect<string>('colorTheme')?.globalValue;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('workbench').update('colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('mechedit.showDiagnostics');
      const panel = api.panels.diagnostics()!;
      type Summary = { status: string; error?: string; kind?: string; bars: { key: string }[]; labelsOutside?: number };
      const diagnosed = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'edit', 'the ROCR edit diagnosed', 100_000);
      panel.notify('run', { kind: 'edit', file: path.join(FIXTURES, 'rocr-veltrazine.json') });
      const d = (await diagnosed) as Summary;
      assert.equal(d.status, 'drawn', d.error);
      assert.ok(d.bars.some((x) => x.key.includes(' · forget · ')), d.bars.map((x) => x.key).join(', '));
      assert.equal(d.labelsOutside, 0, 'every axis label lies inside its chart');
      await screenshot('diag-ort-labels-dark');
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', 'Default Light Modern', vscode.ConfigurationTarget.Global);
      await new Promise((r) => setTimeout(r, 1500));
      await screenshot('diag-ort-labels-light');
      panel.panel.dispose();
    } finally {
      await vscode.workspace.getConfiguration('workbench').update('colorTheme', theme, vscode.ConfigurationTarget.Global);
    }
  });
});
