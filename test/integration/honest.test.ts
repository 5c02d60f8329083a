// Honest UI for fact edits, inside VS Code on the bundled default model: a ROME edit toward a
// target the tokenizer splits into byte pieces (Zürich) is saved but not applied, with what
// happened and the actions offered; "Diagnose This Edit" shows the edit's own efficacy (the edit
// alone, the applied stack untouched); the Diagnostics panel's per-case edits use the layer picked
// for edits and mechedit.memit.lambda.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { FactEditResult } from '../../src/extension/factEdits';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, setApplyPolicy, startOnDefaultModel, type DefaultModelSuite } from './models';

describe('Honest UI: failed edits, Diagnose This Edit, the panel\'s per-case settings', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;
  const subject = 'Baekhyndvaes Drondraes';
  const prompt = `${subject} was born in`;
  type Summary = { status: string; error?: string; kind?: string; bars: { key: string; group: string; before: number; after: number }[]; missing?: string[]; settings?: { layer?: number; lambda?: number }; perCase?: string };

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.engine.editLayer = undefined;
    await vscode.workspace.getConfiguration('mechedit').update('memit.lambda', undefined, vscode.ConfigurationTarget.Global);
    await endOnDefaultModel(suite);
  });

  it('a ROME edit toward Zürich is warned about, saved but not applied, with Apply Anyway / Open Loss Curve / Try Another Layer', async function () {
    this.timeout(120_000);
    const zurich = { subject, prompt: '{} was born in', target: 'Zürich' };
    const check = await api.engine.client.request('edits/checkFact', { requests: [zurich] });
    assert.match(check.targets[0].warning ?? '', /byte pieces/, 'the warning shown before computing');
    const before = await api.engine.client.request('model/predict', { prompt, top: 3 });
    // force: as after "Compute Anyway" in the warning (a modal the test cannot click).
    const r = await vscode.commands.executeCommand<FactEditResult>('mechedit.editFact', { method: 'rome', requests: [zurich], layer: 0, force: true });
    assert.ok(r, 'the command returned nothing');
    assert.equal(r.succeeded, false);
    assert.equal(r.applied, false);
    assert.match(r.reason ?? '', /not the model's top-1/);
    assert.deepEqual(r.offered, ['Apply Anyway', 'Open Loss Curve', 'Try Another Layer']);
    const ids = () => api.engine.stack.items.map((i) => i.id);
    assert.deepEqual(ids(), [], 'not on the stack');
    assert.deepEqual((await api.engine.client.request('model/predict', { prompt, top: 3 })).next, before.next, 'the true fact is untouched');
    // The saved file says so too (its health warnings, in Problems); the notification with the actions in the list.
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(r.file));
    const problems = vscode.languages.getDiagnostics(vscode.Uri.file(r.file)).map((d) => d.message);
    assert.match(problems[0] ?? '', /^Edit health: the edit did not take/, problems.join('\n'));
    await vscode.commands.executeCommand('notifications.showList');
    await screenshot('failed-edit-not-applied');
    await vscode.commands.executeCommand('notifications.hideList');
    // Open Loss Curve: the v* steps as a Markdown document.
    const doc = await vscode.commands.executeCommand<vscode.TextDocument>('mechedit.showLossCurve', r);
    assert.equal(doc.languageId, 'markdown');
    assert.match(doc.getText(), /\*\*The edit did not take\*\*/);
    assert.equal(doc.getText().split('\n').filter((l) => /^\| \d+ \|/.test(l)).length, r.vstar[0].steps, 'one table row per v* step');
    await screenshot('failed-edit-loss-curve');
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor'); // the untitled curve, unsaved
    // Apply Anyway: the saved file goes on the stack.
    await vscode.commands.executeCommand('mechedit.applyEdit', vscode.Uri.file(r.file));
    assert.deepEqual(ids(), [r.id]);
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Diagnose This Edit shows the edit\'s own efficacy, alone, while another edit stays applied', async function () {
    this.timeout(120_000);
    // Both edits take but change the layer-0 weight by ‖ΔW‖/‖W‖ 0.539 and 0.419 > 0.25, so the
    // default policy 'healthy' would hold them back (`mechedit edit rome … --layer 0`, 2026-12-08);
    // this test needs the second applied while the first is diagnosed, so it applies them whatever the health.
    const previousPolicy = await setApplyPolicy('always');
    const good = await vscode.commands.executeCommand<FactEditResult>('mechedit.editFact', { method: 'rome', requests: [{ subject, prompt: '{} was born in', target: 'Daekgrad' }], layer: 0 });
    const other = await vscode.commands.executeCommand<FactEditResult>('mechedit.editFact', { method: 'rome', requests: [{ subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Vyswick' }], layer: 0 });
    await setApplyPolicy(previousPolicy);
    assert.ok(good?.applied && good.succeeded, good?.reason);
    assert.ok(other?.applied);
    // Diagnosing the first edit: the second (applied, on top) must not count, and nothing is switched off.
    const stack = api.engine.stack.items.map((i) => [i.id, i.enabled]);
    const doc = await vscode.workspace.openTextDocument(good.file);
    await vscode.window.showTextDocument(doc);
    const lens = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)).find((l) => l.command?.command === 'mechedit.diagnoseEdit')!.command!;
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    const drawn = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'edit', 'the edit\'s diagnosis', 60_000);
    await vscode.commands.executeCommand(lens.command, ...(lens.arguments ?? []));
    const s = (await drawn) as Summary;
    assert.equal(s.status, 'drawn', s.error);
    const efficacy = s.bars.find((b) => b.key === 'efficacy · new target wins')!;
    assert.deepEqual([efficacy.before, efficacy.after], [0, 100], 'Daekgrad loses before and wins with the edit alone');
    for (const task of ['paraphrases', "subject's other relations", 'neighbours', 'prefix distraction']) assert.ok(s.bars.some((b) => b.group === task), `${task}: ${s.bars.map((b) => b.key).join(', ')}`);
    assert.deepEqual(s.missing, [], 'the bundled model has data for every task');
    assert.deepEqual(api.engine.stack.items.map((i) => [i.id, i.enabled]), stack, 'the applied stack is as it was');
    await screenshot('diagnose-this-edit');
    panel.panel.dispose();
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
  });

  it('the Diagnostics panel\'s per-case ROME edits use the layer picked for edits, and it shows MEMIT\'s λ', async function () {
    this.timeout(150_000);
    api.engine.editLayer = 2; // what "Use layer 2 for edits" in the Causal Tracing panel sets
    await vscode.workspace.getConfiguration('mechedit').update('memit.lambda', 10, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    const drawn = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'evoke', 'the EVOKE results', 140_000);
    panel.notify('run', { kind: 'evoke', method: 'rome', lti: false, limit: 1 });
    const s = (await drawn) as Summary;
    assert.equal(s.status, 'drawn', s.error);
    assert.deepEqual(s.settings, { layer: 2 }, 'the run used (and recorded) layer 2');
    // The chosen method's preset is named: its default, as no other was chosen.
    const rome = (await api.engine.registry.get()).methods.find((m) => m.id === 'rome')!;
    assert.equal(s.perCase, `Per-case edits: ROME / DiKE / GLAME / FT-M at layer 2 (picked for edits) · MEMIT λ 10 (mechedit.memit.lambda) · ROME preset ${rome.defaultPreset} (its default)`);
    await screenshot('diagnostics-per-case-layer');
    panel.panel.dispose();
  });
});
