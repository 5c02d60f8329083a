// What comes back after a window reload, on the bundled default model: the Diagnostics panel's last
// results (the panel closed and opened again builds a new host with nothing in memory, as a reload
// does; the serializer that revives a panel after a real reload goes through the same constructor),
// marked restored with their date, or a damaged last.json named with what is wrong; the Edits view
// lists applied edits whose files live outside the workspace's .mechedit/edits, before and after
// the stack is restored; the Concepts panel marks its charts stale when an analysis fails.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, setApplyPolicy, startOnDefaultModel, type DefaultModelSuite } from './models';

type DiagnosticsSummary = { status: string; error?: string; kind?: string; bars: { key: string; before: number; after: number }[]; restored?: string; restoreError?: string };
type ConceptSummary = { status: string; error?: string; best?: number; stale?: string };

describe('Restored after a reload: Diagnostics results, applied edits in the Edits view; stale concept charts', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;
  const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
  /** Opens the Diagnostics panel (a new host when it was closed) and waits for a render that `accept` takes. */
  const openDiagnostics = async (accept: (s: DiagnosticsSummary) => boolean, what: string) => {
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    const drawn = panel.lastRender && accept(panel.lastRender as DiagnosticsSummary) ? panel.lastRender : await waitFor(panel.onDidRender, (s) => accept(s as DiagnosticsSummary), what, 30_000);
    return { panel, summary: drawn as DiagnosticsSummary };
  };

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.panels.diagnostics()?.panel.dispose();
    api.panels.concepts()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('the Diagnostics panel shows its last results again after it is closed and opened again, marked restored; a damaged last.json is named', async function () {
    this.timeout(180_000);
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    const ran = waitFor(panel.onDidRender, (s) => ['drawn', 'error'].includes((s as DiagnosticsSummary).status) && (s as DiagnosticsSummary).kind === 'ort', 'the ORT results', 150_000);
    panel.notify('run', { kind: 'ort' });
    const first = (await ran) as DiagnosticsSummary;
    assert.equal(first.status, 'drawn', first.error);
    assert.equal(first.restored, undefined, 'results just computed are not marked restored');
    assert.ok(first.bars.length > 0);
    const last = path.join(workspace(), '.mechedit', 'diagnostics', 'last.json');
    assert.ok(fs.existsSync(last), `the results are kept in ${last}`);

    // A reload: the panel and its host go; a new one has nothing in memory but the workspace's.
    panel.panel.dispose();
    assert.equal(api.panels.diagnostics(), undefined);
    const back = await openDiagnostics((s) => s.status === 'drawn' || !!s.restoreError, 'the restored results');
    assert.equal(back.summary.kind, 'ort');
    assert.deepEqual(back.summary.bars, first.bars, 'the same results');
    assert.ok(back.summary.restored && !Number.isNaN(Date.parse(back.summary.restored)), `marked restored, with their date: ${back.summary.restored}`);
    await screenshot('restore-diagnostics');

    // A damaged last.json: nothing is drawn from it, and the panel says which file and why.
    back.panel.panel.dispose();
    fs.writeFileSync(last, '{"format":"mechedit-diagnostics/1","savedAt":');
    const damaged = await openDiagnostics((s) => !!s.restoreError, 'the restore error');
    assert.equal(damaged.summary.status, 'empty');
    assert.match(damaged.summary.restoreError ?? '', /last\.json is not valid JSON/);
    await screenshot('restore-diagnostics-damaged');
    damaged.panel.panel.dispose();
    fs.rmSync(last);
  });

  it('the Edits view lists applied edits whose files are outside the workspace, also once the stack is restored after a reload', async function () {
    this.timeout(180_000);
    // The edit takes but changes the layer-0 weight by ‖ΔW‖/‖W‖ 0.539 > 0.25 (`mechedit edit rome
    // … --layer 0`, 2026-12-08), so the default policy 'healthy' would hold it back; this test is
    // about where applied edits are listed, so it applies it anyway.
    const previousPolicy = await setApplyPolicy('always');
    const made = await vscode.commands.executeCommand<{ file: string; id: string; applied: boolean }>('mechedit.editFact', { method: 'rome', requests: [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }], layer: 0, force: true });
    await setApplyPolicy(previousPolicy);
    assert.ok(made?.applied, 'the ROME edit was applied');
    // The same edit kept in a folder of its own, outside the workspace, applied from there.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-edits-elsewhere-'));
    const json = JSON.parse(fs.readFileSync(made.file, 'utf8')) as { vectors: string };
    fs.copyFileSync(path.join(path.dirname(made.file), json.vectors), path.join(elsewhere, json.vectors));
    const copy = path.join(elsewhere, path.basename(made.file));
    fs.copyFileSync(made.file, copy);
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    await api.engine.changeStack('edits/apply', { file: copy });
    assert.deepEqual(api.engine.stack.items.map((i) => i.file), [copy]);
    const listed = async () => (await api.edits.getChildren()).map((n) => [n.uri?.fsPath, !!n.item] as const);
    await vscode.commands.executeCommand('mechedit.edits.focus');
    assert.deepEqual((await listed()).filter(([, applied]) => applied), [[copy, true]], 'the applied edit is listed with its file');
    for (let i = 0; !(await listed()).some(([file, applied]) => file === made.file && !applied); i++) {
      assert.ok(i < 50, 'the workspace copy is listed as not applied');
      await new Promise((r) => setTimeout(r, 200));
    }
    await screenshot('restore-edits-elsewhere');

    // A reload: the extension forgets everything and a fresh engine has no model open.
    await api.engine.client.request('model/close', {});
    api.engine.model = undefined;
    api.engine.stack = { items: [] };
    api.engine.fire();
    await api.engine.ensureModel();
    assert.deepEqual(api.engine.stack.items.map((i) => i.file), [copy], 'the stack is restored from the file outside the workspace');
    assert.deepEqual((await listed()).filter(([, applied]) => applied), [[copy, true]], 'and the view lists it');
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await screenshot('restore-edits-after-reload');
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
  });

  it('the Concepts panel marks its charts stale when the analysis that should replace them fails', async function () {
    this.timeout(90_000);
    await vscode.commands.executeCommand('mechedit.showConcepts');
    const panel = api.panels.concepts()!;
    const done = (s: unknown) => ['drawn', 'error'].includes((s as ConceptSummary).status);
    const drawn = waitFor(panel.onDidRender, done, 'the concept directions', 60_000);
    panel.notify('run', { positive: 'Veltrazine is colored\nVeltrazine was first made by\nDravokine is colored', negative: 'Brindlecake is colored\nBrindlecake was first made by\nSunmallow is colored', probe: '' });
    const ok = (await drawn) as ConceptSummary;
    assert.equal(ok.status, 'drawn', ok.error);
    assert.equal(ok.stale, undefined, 'fresh charts are not stale');
    const failed = waitFor(panel.onDidRender, (s) => (s as ConceptSummary).status === 'error', 'the failed analysis', 60_000);
    panel.notify('run', { positive: 'Veltrazine is colored\nDravokine is colored', negative: 'Brindlecake is colored', probe: '' });
    const err = (await failed) as ConceptSummary;
    assert.match(err.error ?? '', /at least two negative prompts/);
    assert.match(err.stale ?? '', /failed/, 'the previous charts are marked stale');
    assert.equal(err.best, ok.best, 'and still shown');
    await screenshot('restore-concepts-stale-after-error');
    panel.panel.dispose();
  });
});
