// Honest UI state inside VS Code, on the bundled default model: causal tracing says when a trace
// is not informative and recommends no layer; a bad model path keeps the loaded model (and its
// edits) shown as loaded, with the error in the status bar; another model that opens drops the
// edits and says so; the applied stack comes back, in order with strengths and enabled flags,
// after the extension's memory is lost (a window reload); charts go stale; empty prompts and the
// run report are not silent no-ops.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { REPORT_VIEW_TYPE, openReportView } from '../../src/extension/webview/reportView';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { DEFAULT_MODEL as defaultModel, endOnDefaultModel, setApplyPolicy, startOnDefaultModel, useModel, type DefaultModelSuite } from './models';

type TraceSummary = { status: string; error?: string; stale?: string; informative: boolean; reason?: string; recommendedLayer?: number; useLayerShown: boolean; answerGiven?: { text: string; tokens: number }; legendMarks: { id: string; at: number }[]; domain: [number, number]; cleanProb: number; corruptedProb: number };

describe('UI state: tracing verdicts, model changes, reloads, stale charts', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;
  const repo = path.join(__dirname, '..', '..', '..');
  const fixture = path.join(repo, 'test', 'fixtures', 'models', 'llama-gqa');
  const config = () => vscode.workspace.getConfiguration('mechedit');
  const until = async (what: string, ok: () => boolean, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  // These ROME edits at layer 0 take but change the weight by ‖ΔW‖/‖W‖ 0.539, 0.419 and 0.445 >
  // 0.25 (`mechedit edit rome … --layer 0`, 2026-12-08), so the default policy 'healthy' would hold
  // them back; the tests are about the applied stack across model changes and reloads, so they
  // are applied anyway.
  const romeEdit = async (subject: string, target: string) => {
    const previousPolicy = await setApplyPolicy('always');
    const r = await vscode.commands.executeCommand<{ file: string; id: string; applied: boolean }>('mechedit.editFact', { method: 'rome', requests: [{ subject, prompt: '{} was born in', target }], layer: 0, force: true });
    await setApplyPolicy(previousPolicy);
    assert.ok(r?.applied, `the ROME edit toward ${target} was applied`);
    return r;
  };

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.panels.tracing()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('causal tracing of an answer the model does not know recommends no layer and says why; the scale is absolute with clean and corrupted marked', async function () {
    this.timeout(120_000);
    await vscode.commands.executeCommand('mechedit.showCausalTracing');
    const panel = api.panels.tracing()!;
    const traced = (s: unknown) => ['drawn', 'error'].includes((s as TraceSummary).status);
    let drawn = waitFor(panel.onDidRender, traced, 'the causal trace', 60_000);
    panel.notify('run', { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes', samples: 10 });
    const known = (await drawn) as TraceSummary;
    assert.equal(known.status, 'drawn', known.error);
    assert.equal(known.informative, true);
    assert.equal(known.useLayerShown, true);
    assert.deepEqual(known.domain, [0, 1], 'the absolute range of P');
    assert.deepEqual(known.legendMarks.map((m) => [m.id, m.at]), [['corrupted', known.corruptedProb], ['clean', known.cleanProb]]);

    drawn = waitFor(panel.onDidRender, traced, 'the uninformative trace', 60_000);
    panel.notify('run', { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Baekhyndvaes Drondraes', answer: 'Vyswick', samples: 10 });
    const unknown = (await drawn) as TraceSummary;
    assert.equal(unknown.status, 'drawn', unknown.error);
    assert.equal(unknown.informative, false);
    assert.equal(unknown.recommendedLayer, undefined);
    assert.equal(unknown.useLayerShown, false, '"Use layer N for edits" is hidden');
    assert.match(unknown.reason ?? '', /does not know this fact/);
    assert.equal(unknown.answerGiven?.text, 'Vyswick', 'the panel says the answer was cut to its first token');
    await screenshot('ui-tracing-not-informative');

    // A run that fails leaves the previous maps marked stale.
    const failed = waitFor(panel.onDidRender, (s) => (s as TraceSummary).status === 'error', 'the failed trace', 30_000);
    panel.notify('run', { prompt: 'Baekhyndvaes Drondraes was born in', subject: 'Nobody Here', samples: 10 });
    const err = (await failed) as TraceSummary;
    assert.match(err.error ?? '', /does not occur in the prompt/);
    assert.match(err.stale ?? '', /failed/, 'the old maps are marked stale');
    await screenshot('ui-tracing-stale-after-error');
    panel.panel.dispose();
  });

  it('a bad model path keeps the loaded model and its edits, shown under its own name, with the error in the status bar', async function () {
    this.timeout(180_000);
    await romeEdit('Baekhyndvaes Drondraes', 'Daekgrad');
    await romeEdit('Baequa Kaekmyth', 'Vyswick');
    const before = api.engine.stack.items.map((i) => i.id);
    assert.equal(before.length, 2);
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-not-a-model-'));
    await config().update('modelPath', bad, vscode.ConfigurationTarget.Global);
    await until('the failed open', () => api.engine.modelErrorPath === bad);
    assert.equal(api.engine.model?.path, defaultModel, 'the default model is still what is loaded');
    assert.deepEqual(api.engine.stack.items.map((i) => i.id), before, 'its edits are kept');
    const inEngine = await api.engine.client.request('edits/list', {});
    assert.deepEqual(inEngine.items.map((i) => i.id), before, 'and still applied in the engine');
    assert.match(api.statusBar.text, /\$\(error\) default model · open failed/);
    assert.match(String(api.statusBar.tooltip), new RegExp(`could not open ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const rows = api.model.getChildren();
    assert.equal(rows[0].label, `Could not open ${path.basename(bad)}`);
    assert.equal(rows[0].description, 'default model stays loaded');
    assert.equal(rows[1].label, 'default model (bundled)', 'the details are the loaded model\'s, under its own name');
    assert.equal(rows[1].description, 'loaded (previous model)');
    await vscode.commands.executeCommand('mechedit.model.focus');
    // The workbench redraws a tree view some time after its change event: let it, so the picture
    // shows the rows asserted above.
    await new Promise((r) => setTimeout(r, 1500));
    await screenshot('ui-bad-model-path');
    // Requests still run on the loaded model, with its edits.
    const p = await api.engine.client.request('model/predict', { prompt: 'Baekhyndvaes Drondraes was born in', top: 1 });
    assert.equal(p.next[0].text, ' Daek');
  });

  it('another model that opens drops the edits and offers to reapply them; the ones that fail are listed', async function () {
    this.timeout(180_000);
    const labels = api.engine.stack.items.map((i) => i.label);
    await useModel(api, fixture);
    assert.equal(api.engine.stack.items.length, 0, 'the new model starts with no edits');
    assert.deepEqual(api.engine.dropped.map((d) => d.label), labels, 'the dropped edits are remembered by name');
    assert.ok(!api.statusBar.text.includes('open failed'));
    await screenshot('ui-edits-dropped');
    const failed = await api.engine.reapplyDropped();
    assert.equal(failed.length, 2, 'edits made for the default model do not apply to another one');
    assert.deepEqual(api.engine.dropped.map((d) => d.label), labels, 'and stay offered');
    await useModel(api, defaultModel);
    assert.deepEqual(await api.engine.reapplyDropped(), [], 'back on their model, they reapply');
    assert.deepEqual(api.engine.stack.items.map((i) => i.label), labels);
  });

  it('after a reload the applied stack comes back in order, with strengths and enabled flags; a missing file is reported', async function () {
    this.timeout(180_000);
    const [a, b] = api.engine.stack.items;
    await api.engine.changeStack('edits/scale', { id: b.id, strength: 0.5 });
    await api.engine.changeStack('edits/setEnabled', { id: a.id, enabled: false });
    await api.engine.changeStack('edits/reorder', { ids: [b.id, a.id] });
    const c = await romeEdit('Baequa Kaekmyth', 'Quaemgrundport');
    const expected = api.engine.stack.items.map((i) => [i.label, i.strength, i.enabled]);
    assert.deepEqual(expected.map((e) => e.slice(1)), [[0.5, true], [1, false], [1, true]]);
    fs.rmSync(c.file);
    // A reload: the extension forgets everything and a fresh engine has no model open.
    await api.engine.client.request('model/close', {});
    api.engine.model = undefined;
    api.engine.stack = { items: [] };
    api.engine.fire();
    await api.engine.ensureModel();
    assert.deepEqual(api.engine.stack.items.map((i) => [i.label, i.strength, i.enabled]), expected.slice(0, 2), 'restored in order, with strengths and enabled flags');
    const inEngine = await api.engine.client.request('edits/list', {});
    assert.deepEqual(inEngine.items.map((i) => [i.label, i.strength, i.enabled]), expected.slice(0, 2));
    assert.deepEqual(api.engine.lastRestore?.failed.map((f) => f.edit.label), [expected[2][0]], 'the edit whose file is gone is reported');
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await screenshot('ui-stack-restored');
  });

  it('an empty prompt is not a silent no-op; the run report opens in a VS Code tab', async function () {
    this.timeout(60_000);
    assert.deepEqual(await vscode.commands.executeCommand('mechedit.predict', { prompt: '   ' }), { error: 'The prompt is empty: type the text the model should continue.' });
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-run-'));
    fs.writeFileSync(path.join(folder, 'report.html'), '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'"></head><body><h1>EVOKE report</h1></body></html>');
    const panel = openReportView(folder);
    assert.equal(panel.viewType, REPORT_VIEW_TYPE);
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes(REPORT_VIEW_TYPE));
    await until('the report tab', () => tabs().length === 1, 10_000);
    assert.match(tabs()[0].label, /MechEdit Report/);
    await screenshot('ui-report-tab');
    panel.dispose();
    assert.throws(() => openReportView(path.join(folder, 'gone')), /report\.html does not exist/);
  });
});
