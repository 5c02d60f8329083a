// The Activations panel inside VS Code: open it on the llama-gqa fixture, trace a prompt, check
// what the webview drew (its 'rendered' summary) against the engine's own trace, screenshot it.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { useModel } from './models';

const EXTENSION_ID = 'mechedit.mechedit';

interface Summary {
  status: string;
  error?: string;
  metric: string;
  view: string;
  charts: string[];
  layers: number;
  tokens: number;
  cells: number;
  min: number;
  max: number;
  tokenTexts: string[];
  target?: string;
  selectedToken?: number;
  curve?: number[];
  drawMs: number;
  cellsDrawMs: number;
}

describe('Activations panel', () => {
  let api: MechEditApi;
  const fixture = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'models', 'llama-gqa');
  let previousModel: string | undefined;

  before(async function () {
    this.timeout(150_000);
    const ext = vscode.extensions.getExtension<MechEditApi>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    previousModel = vscode.workspace.getConfiguration('mechedit').inspect<string>('modelPath')?.globalValue;
    await useModel(api, fixture);
  });

  after(async () => {
    api.panels.activations()?.panel.dispose();
    // Later suites open the fixture themselves and wait for the change.
    await vscode.workspace.getConfiguration('mechedit').update('modelPath', previousModel, vscode.ConfigurationTarget.Global);
  });

  const drawn = (metric: string, view: string, extra: (s: Summary) => boolean = () => true) => (r: unknown) => {
    const s = r as Summary;
    return (s.status === 'drawn' || s.status === 'error') && (s.status === 'error' || (s.metric === metric && s.view === view && extra(s)));
  };

  it('draws the residual norm heatmap of a prompt, before and after side by side', async () => {
    await vscode.commands.executeCommand('mechedit.showActivations');
    const panel = api.panels.activations();
    assert.ok(panel, 'the Activations panel is open');
    const prompt = 'the cat sat on the mat';
    const rendered = waitFor(panel.onDidRender, drawn('residNorm', 'side', (s) => s.selectedToken === 2), 'the residual-norm heatmap', 60_000);
    panel.notify('run', { prompt, target: 'cat', metric: 'residNorm', view: 'side', token: 2 });
    const s = (await rendered) as Summary;
    assert.equal(s.error, undefined);
    const ref = await api.engine.client.request('model/trace', { prompt, top: 5 });
    assert.equal(s.layers, 3);
    assert.equal(s.layers, ref.layers.length);
    assert.equal(s.tokens, ref.tokens.length);
    assert.deepEqual(s.tokenTexts, ref.tokens.map((t) => t.text));
    assert.deepEqual(s.charts, ['before the edits', 'after the edits']);
    assert.equal(s.cells, 2 * 3 * ref.tokens.length);
    const all = ref.layers.flatMap((l) => l.residNorm);
    assert.ok(Math.abs(s.min - Math.min(...all)) < 1e-4 && Math.abs(s.max - Math.max(...all)) < 1e-4, `range ${s.min}…${s.max}`);
    // The clicked token's curve: the metric through the layers at that position.
    assert.deepEqual(s.curve!.map((v) => v.toFixed(4)), ref.layers.map((l) => l.residNorm[2].toFixed(4)));
    assert.ok(s.target, 'the target token is named');
    console.log(`      activations: ${s.layers} layers × ${s.tokens} tokens × 2 charts drawn in ${s.drawMs.toFixed(1)} ms (cells of one chart ${s.cellsDrawMs.toFixed(2)} ms)`);
    await screenshot('activations-side');
  });

  it('shows P(target) through the layers, and a zero difference without edits', async () => {
    const panel = api.panels.activations()!;
    const prompt = 'the cat sat on the mat';
    let rendered = waitFor(panel.onDidRender, drawn('targetProb', 'after'), 'the P(target) heatmap', 60_000);
    panel.notify('run', { prompt, target: 'mat', metric: 'targetProb', view: 'after', token: 5 });
    const s = (await rendered) as Summary;
    assert.equal(s.error, undefined);
    assert.ok(s.target, 'the target token is named');
    const scored = await api.engine.client.request('model/score', { prompt, answers: ['mat'] });
    const targetId = scored.answers[0].tokens[0].id;
    const ref = await api.engine.client.request('model/trace', { prompt, top: 5, targetId });
    assert.equal(ref.target?.id, targetId);
    assert.deepEqual(s.curve!.map((v) => v.toFixed(5)), ref.layers.map((l) => l.targetProb![5].toFixed(5)));
    assert.ok(s.min >= 0 && s.max <= 1);
    // When the target is the lens's top-1, P(target) equals the top-1 probability.
    for (const l of ref.layers) l.lens.forEach((t, p) => { if (t.id === targetId) assert.ok(Math.abs(t.prob - l.targetProb![p]) < 1e-5); });
    await screenshot('activations-target');

    rendered = waitFor(panel.onDidRender, drawn('mlpNorm', 'diff'), 'the difference view', 60_000);
    panel.notify('run', { prompt, metric: 'mlpNorm', view: 'diff' });
    const d = (await rendered) as Summary;
    assert.equal(d.error, undefined);
    assert.equal(d.min, 0);
    assert.equal(d.max, 0);
    await screenshot('activations-diff');
  });
});
