// *MechEdit: Unlearn…* end to end inside VS Code, on the bundled default model: an unlearn line of
// a request file gets its CodeLens; running it trains GradDiff on Veltrazine's question–answer
// items (a few steps) while the Unlearning panel draws the loss and the forget top-1 per step; the
// edit is saved, applied, and listed in the Edits and Edit Strengths views; the Diagnostics panel's
// ORT view measures the model without and with it. The outcome is scoped: the training retain set
// is named as such, the forget target's ORT neighbour sets are measured in the same run (and equal
// the ORT view's neighbour rows), and Diagnose links the ORT forms into it. A second run is started
// from the panel's own form (the panel opened from the palette is not a dead end), shows its rate
// and time left, is cancelled and leaves nothing behind.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { UnlearnOutcome } from '../../src/protocol/engine';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { DEFAULT_MODEL, endOnDefaultModel, setApplyPolicy, startOnDefaultModel, type DefaultModelSuite } from './models';

interface UnlearnSummary {
  status: string;
  points: number;
  progress?: string;
  labels?: string[];
  form?: { shown: boolean; forgets: number; objectives: number; startEnabled: boolean };
  steps?: number;
  lastForgetTop1?: number;
  series: string[];
  cancelEnabled: boolean;
  chart: number;
  result?: { file: string; stoppedBy: string; neighbours: number; ort?: number };
  error?: string;
}

/** What the panel's buttons ask the host (the webview's requests), called as the webview does. */
const handlers = (panel: unknown) => (panel as { handlers: Record<string, (p: unknown) => Promise<unknown>> }).handlers;

describe('Unlearning (MechEdit: Unlearn…)', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;
  // The default cap; GradDiff's early stop ends the run before it (68 steps on this model).
  const steps = 100;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.panels.unlearn()?.panel.dispose();
    api.panels.diagnostics()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('runs GradDiff on Veltrazine\'s question–answer items from a request file, with the live loss chart, and applies the edit', async function () {
    this.timeout(600_000);
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(folder, '.mechedit', 'requests', 'unlearn.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, [
      '// Unlearn a concept: its ORT target folder in the model (eval/ort/<n>_<Name>/) unless "forget" names a JSONL file or folder.',
      JSON.stringify({ kind: 'unlearn', concept: 'Veltrazine', method: 'graddiff', forms: ['qa'], steps }),
    ].join('\n') + '\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    assert.deepEqual(lenses.map((l) => `${l.range.start.line}:${l.command?.title}`), ['1:Unlearn (GradDiff)']);
    const lens = lenses[0].command!;

    // The panel first, so that the test sees every step it draws.
    await vscode.commands.executeCommand('mechedit.showUnlearning');
    const panel = api.panels.unlearn()!;
    assert.ok(panel, 'the Unlearning panel is open');
    // Its webview ready (before that, only the latest snapshot would be kept for it).
    if (panel.lastRender === undefined) await waitFor(panel.onDidRender, () => true, 'the empty Unlearning panel', 30_000);
    const drawn: UnlearnSummary[] = [];
    const sub = panel.onDidRender((s) => drawn.push(s as UnlearnSummary));
    const live = waitFor(panel.onDidRender, (s) => (s as UnlearnSummary).status === 'running' && (s as UnlearnSummary).points >= 2, 'two steps drawn while training', 300_000);
    const finished = waitFor(panel.onDidRender, (s) => ['done', 'error', 'cancelled'].includes((s as UnlearnSummary).status), 'the finished run drawn', 600_000);
    // The run's edit is unhealthy (‖ΔW‖/‖W‖ 0.303, 1.155, 0.369 at layers 3–5 and KL 0.177 > 0.1:
    // `mechedit unlearn --method graddiff --forget eval/ort/1_Veltrazine --forms qa --steps 100`,
    // 2026-12-08), so the default policy 'healthy' would hold it back; this test follows the
    // applied edit (Edits view, Diagnose), so it applies it anyway.
    const previousPolicy = await setApplyPolicy('always');
    const ran = vscode.commands.executeCommand<UnlearnOutcome | undefined>(lens.command, ...(lens.arguments ?? []));
    const during = (await live) as UnlearnSummary;
    assert.ok(during.cancelEnabled, 'Cancel is enabled while it trains');
    assert.equal(during.steps, steps);
    assert.deepEqual(during.series.slice(0, 2), ['loss', 'forget top-1'], 'the chart draws the loss and the forget top-1');
    assert.ok(during.chart >= 2, 'with a line each');
    const r = await ran;
    await setApplyPolicy(previousPolicy);
    assert.ok(r, 'the command returned the outcome');

    // The edit: saved in the workspace, applied on top of the stack, in the Edits view.
    assert.ok(r.file.startsWith(path.join(folder, '.mechedit', 'edits')), `saved in the workspace: ${r.file}`);
    const json = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { method: string; request: { concept?: string; forms?: string[] }; targets: unknown[] };
    assert.equal(json.method, 'unlearn');
    assert.equal(json.request.concept, 'Veltrazine');
    assert.deepEqual(json.request.forms, ['qa']);
    // Under the default apply policy (healthy) this GradDiff edit is held back: its KL on neutral
    // prompts passes 0.1 nats. Apply Anyway (what its toast's button asks the engine) applies it.
    if (!r.applied) {
      assert.ok(r.notApplied && r.health.warnings.length > 0, `held back with a reason: ${r.notApplied}`);
      await api.engine.changeStack('edits/apply', { file: r.file });
    }
    assert.deepEqual(api.engine.stack.items.map((i) => [i.id, i.method, i.enabled, i.strength]), [[r.id, 'unlearn', true, 1]]);
    assert.ok((await api.edits.getChildren()).some((n) => n.item?.id === r.id), 'listed in the Edits view');
    assert.ok(r.curve.length >= 1 && r.curve.length <= steps, `${r.curve.length} steps`);
    assert.equal(r.stoppedBy, 'early-stop', 'the forget items fell under 10 % top-1');
    assert.ok(r.figures.forgetTop1[1] < 0.1 && r.figures.retainTop1[1] >= 0.95, `forget top-1 → ${r.figures.forgetTop1[1]}, retain → ${r.figures.retainTop1[1]}`);
    assert.equal(r.material.name, '1_Veltrazine');
    assert.ok(r.material.forget > 0 && r.material.forms.join() === 'qa', `trained on ${r.material.forget} qa items`);

    // The panel's last drawing: every step, the outcome, Cancel off.
    await finished;
    sub.dispose();
    const points = drawn.filter((s) => s.status === 'running').map((s) => s.points);
    assert.deepEqual([...new Set(points)].filter((n) => n > 0), Array.from({ length: Math.max(...points) }, (_, i) => i + 1), 'one more point drawn per step');
    const done = (await finished) as UnlearnSummary;
    assert.equal(done.status, 'done', done.error);
    assert.equal(done.points, r.curve.length);
    assert.equal(done.result?.file, r.file);
    assert.equal(done.cancelEnabled, false);
    panel.panel.reveal();
    await new Promise((res) => setTimeout(res, 500));
    await screenshot('unlearn-loss-chart');

    // The Edit Strengths view lists it with a slider.
    await vscode.commands.executeCommand('mechedit.strengths.focus');
    const deadline = Date.now() + 30_000;
    while (!api.strengths()) {
      assert.ok(Date.now() < deadline, 'the Edit Strengths view did not resolve');
      await new Promise((res) => setTimeout(res, 100));
    }
    const view = api.strengths()!;
    const shown = (view.lastRender as { items?: { id: string }[] } | undefined)?.items?.some((i) => i.id === r.id)
      ? view.lastRender
      : await waitFor(view.onDidRender, (x) => !!(x as { items: { id: string }[] }).items.some((i) => i.id === r.id), 'the edit in Edit Strengths', 20_000);
    assert.ok((shown as { items: { id: string; strength: number }[] }).items.some((i) => i.id === r.id && i.strength === 1));

    // ORT in the Diagnostics panel: without vs with the stack (the unlearn edit). The trained form's
    // answers become less likely.
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const diagnostics = api.panels.diagnostics()!;
    type Bars = { status: string; kind?: string; error?: string; bars: { key: string; before: number; after: number }[] };
    const ort = waitFor(diagnostics.onDidRender, (s) => ['drawn', 'error'].includes((s as Bars).status) && (s as Bars).kind === 'ort', 'the ORT results', 300_000);
    diagnostics.notify('run', { kind: 'ort' });
    const o = (await ort) as Bars;
    assert.equal(o.status, 'drawn', o.error);
    const qa = o.bars.find((b) => b.key === '1_Veltrazine · forget · question-answer');
    assert.ok(qa, o.bars.map((b) => b.key).join('; '));
    assert.ok(qa.after < qa.before, `the question–answer form's loss_prob falls with the edit: ${qa.before.toFixed(2)} → ${qa.after.toFixed(2)} %`);
    assert.equal(api.engine.model?.path, DEFAULT_MODEL);
    await screenshot('unlearn-ort-without-with');

    // The outcome's scope: the retain figure is the training retain set's; the neighbour sets were
    // measured in the same run with ORT's formulas — here (an empty stack before) the very figures
    // of the ORT view's neighbour rows, before and after.
    assert.ok(done.labels?.some((l) => l.startsWith('training retain set: top-1')), done.labels?.join(' | '));
    assert.ok(r.neighbours && r.neighbours.rows.length >= 3, 'the neighbour sets were measured');
    assert.equal(done.result?.neighbours, r.neighbours.rows.length);
    for (const row of r.neighbours.rows) {
      const bar = o.bars.find((b) => b.key === `1_Veltrazine · neighbor · ${row.form}`);
      assert.ok(bar, `the ORT view has neighbour ${row.form}`);
      assert.ok(Math.abs(bar.before - 100 * row.before.lossProb) < 1e-6 && Math.abs(bar.after - 100 * row.after.lossProb) < 1e-6, `${row.form}: ${bar.before} → ${bar.after} (ORT) vs ${100 * row.before.lossProb} → ${100 * row.after.lossProb} (this run)`);
    }
    diagnostics.panel.dispose();
    // Diagnose from the outcome: ORT's forms of the edit alone, linked into it.
    const linked = waitFor(panel.onDidRender, (x) => ((x as UnlearnSummary).result?.ort ?? 0) > 0, 'the ORT forms in the outcome', 120_000);
    await handlers(panel).diagnose({ file: r.file });
    const withOrt = (await linked) as UnlearnSummary;
    assert.ok(withOrt.labels?.some((l) => l === 'forget · question-answer') && withOrt.labels.some((l) => l === 'neighbour · fill-in'), withOrt.labels?.join(' | '));
    api.panels.diagnostics()?.panel.dispose();
    panel.panel.reveal();
    await new Promise((res) => setTimeout(res, 500));
    await screenshot('unlearn-outcome-scoped');
    // The same outcome in a dark theme (the tables and warnings use the theme's variables).
    const workbench = vscode.workspace.getConfiguration('workbench');
    const theme = workbench.inspect<string>('colorTheme')?.globalValue;
    await workbench.update('colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
    try {
      await new Promise((res) => setTimeout(res, 1000));
      await screenshot('unlearn-outcome-scoped-dark');
    } finally {
      await workbench.update('colorTheme', theme, vscode.ConfigurationTarget.Global);
    }
  });

  it('starts a run from the panel\'s own form (with its rate and time left) and cancels it: nothing is saved or applied', async function () {
    this.timeout(300_000);
    const stack = api.engine.stack.items.map((i) => i.id);
    const editsDir = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, '.mechedit', 'edits');
    const files = fs.existsSync(editsDir) ? fs.readdirSync(editsDir).sort() : [];
    api.panels.unlearn()?.panel.dispose();
    await vscode.commands.executeCommand('mechedit.showUnlearning');
    const panel = api.panels.unlearn()!;
    // The panel from the palette offers the model's forget sets and the registry's objectives.
    const offered = (panel.lastRender as UnlearnSummary | undefined)?.form?.objectives
      ? (panel.lastRender as UnlearnSummary)
      : ((await waitFor(panel.onDidRender, (x) => ((x as UnlearnSummary).form?.objectives ?? 0) > 0, 'the start form', 30_000)) as UnlearnSummary);
    assert.deepEqual([offered.form?.shown, offered.form?.forgets, offered.form?.startEnabled], [true, 2, true], JSON.stringify(offered.form));
    panel.panel.reveal();
    await new Promise((res) => setTimeout(res, 300));
    await screenshot('unlearn-panel-start');
    const training = waitFor(panel.onDidRender, (s) => (s as UnlearnSummary).status === 'running' && (s as UnlearnSummary).points >= 3, 'three steps drawn', 200_000);
    const forget = path.join(DEFAULT_MODEL, 'eval', 'ort', '2_Dravokine');
    assert.deepEqual(await handlers(panel).start({ forget, method: 'ga', forms: ['qa'] }), { started: true });
    const during = (await training) as UnlearnSummary;
    assert.match(during.progress ?? '', /^\d+ \/ 100 steps · [\d.]+ steps\/(s|min) · about .+ left$/, 'done / total, rate, time left');
    assert.equal(panel.run.snapshot?.concept, 'Dravokine');
    await screenshot('unlearn-eta');
    const stopped = waitFor(panel.onDidRender, (s) => (s as UnlearnSummary).status === 'cancelled', 'the cancelled run', 60_000);
    // What the panel's Cancel button asks the host.
    assert.equal(panel.run.cancel(), true);
    const s = (await stopped) as UnlearnSummary;
    assert.equal(s.cancelEnabled, false);
    assert.ok(s.points >= 3 && s.points < 100);
    assert.deepEqual(api.engine.stack.items.map((i) => i.id), stack, 'the stack is as it was');
    assert.deepEqual(fs.existsSync(editsDir) ? fs.readdirSync(editsDir).sort() : [], files, 'no file written');
    await screenshot('unlearn-cancelled');
  });
});
