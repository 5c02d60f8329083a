// The Features view inside VS Code: open it on gpt2-tiny with an SAE MechEdit trained
// (test/fixtures/sae/ours-topk, blocks.1.resid_post), show the top features at each token of a
// prompt, open a feature's page, ablate the feature as an edit; check what the webview drew (its
// 'rendered' summary) against the SAE run here in the extension host from the core's own
// functions on the engine's activations, and screenshot each step.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { openSae } from '../../src/core/sae/saeFile';
import { LoadedModel } from '../../src/core/runtime/model';
import { topFeaturesAtTokens } from '../../src/core/sae/features';
import { featureDirection } from '../../src/core/sae/sae';
import { conceptDirections } from '../../src/core/analysis/concepts';
import { EditStack } from '../../src/core/edits/stack';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { useModel } from './models';

const EXTENSION_ID = 'mechedit.mechedit';
const repo = path.join(__dirname, '..', '..', '..');

interface Summary {
  status: string;
  error?: string;
  hook?: string;
  tokens?: string[];
  topFeatures?: number[][];
  feature?: number;
  contexts?: number;
  highlighted?: number[];
  logitTop?: string[];
  histogram?: number[];
  ablated?: string;
}

describe('Features view', () => {
  let api: MechEditApi;
  const fixture = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
  const sae = path.join(repo, 'test', 'fixtures', 'sae', 'ours-topk');
  const corpus = [path.join(repo, 'models', 'default', 'corpus.txt')];
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
    api.panels.features()?.panel.dispose();
    await vscode.workspace.getConfiguration('mechedit').update('modelPath', previousModel, vscode.ConfigurationTarget.Global);
  });

  it('shows the top SAE features at each token, a feature page, and ablates the feature as an edit', async function () {
    this.timeout(300_000);
    await vscode.commands.executeCommand('mechedit.showFeatures');
    const panel = api.panels.features();
    assert.ok(panel, 'the Features view is open');
    const prompt = 'Veltrazine is stored in a vial';
    const done = (status: string) => (r: unknown) => (r as Summary).status === status || (r as Summary).status === 'error';
    const rendered = waitFor(panel.onDidRender, done('page'), 'the feature page', 120_000);
    const concept = { conceptName: 'hazard', conceptPositive: 'Veltrazine is colored\nVeltrazine was first made by\nDravokine is colored', conceptNegative: 'Brindlecake is colored\nBrindlecake was first made by\nSunmallow is colored' };
    panel.notify('run', { sae, prompt, feature: 3, corpus, ...concept });
    const s = (await rendered) as Summary & { concepts: { name: string; layer: number; cos: number }[] };
    assert.equal(s.error, undefined);
    // The same SAE run here from the core, on the model the engine has open (no edits yet).
    const model = LoadedModel.open(fixture, { provider: 'cpu', threads: 1 });
    const opened = openSae(sae, model.dims);
    const want = await topFeaturesAtTokens(model, opened, prompt, 5);
    // The concept's direction at the hook's layer (difference of means, as the Concepts panel), against d_f.
    const dirs = await conceptDirections(model, new EditStack(model), { positive: concept.conceptPositive.split('\n'), negative: concept.conceptNegative.split('\n') });
    const d = featureDirection(opened, 3);
    const dn = Math.hypot(...d);
    const cos = dirs.layers[1].direction.reduce((a, v, i) => a + (v * d[i]) / dn, 0) / Math.hypot(...dirs.layers[1].direction);
    await model.release();
    assert.equal(s.concepts.length, 1);
    assert.equal(s.concepts[0].layer, 1);
    assert.ok(Math.abs(s.concepts[0].cos - cos) < 1e-4, `concept cosine ${s.concepts[0].cos} vs ${cos}`);
    assert.equal(s.hook, 'blocks.1.resid_post');
    assert.deepEqual(s.tokens, want.tokens.map((t) => t.token));
    assert.deepEqual(s.topFeatures, want.tokens.map((t) => t.features.map((f) => f.feature)));
    assert.equal(s.feature, 3);
    assert.ok((s.contexts ?? 0) > 0, 'top contexts are shown');
    assert.ok(s.highlighted!.every((n) => n > 0), 'every context highlights the tokens where the feature fires');
    assert.equal(s.logitTop?.length, 8);
    assert.ok((s.histogram ?? []).reduce((a, b) => a + b, 0) > 0);
    await screenshot('features-page');

    // A tab switch drops the page; shown again, it gets the token table and the feature page back from the host.
    const other = await vscode.workspace.openTextDocument({ content: 'Another editor tab.\n', language: 'plaintext' });
    await vscode.window.showTextDocument(other, { viewColumn: panel.panel.viewColumn, preview: false });
    for (let i = 0; panel.panel.visible; i++) {
      assert.ok(i < 100, 'the Features view was hidden by the other tab');
      await new Promise((r) => setTimeout(r, 50));
    }
    const back = waitFor(panel.onDidRender, done('page'), 'the feature page after a tab switch', 30_000);
    panel.panel.reveal();
    const sb = (await back) as Summary;
    assert.deepEqual([sb.feature, sb.topFeatures, sb.contexts], [s.feature, s.topFeatures, s.contexts], 'the same table and page are drawn again');
    await screenshot('features-after-tabswitch');

    const before = api.engine.enabledEdits;
    const r = await panel.ablate(sae, 3);
    assert.ok(r.applied, 'the ablation is applied');
    assert.equal(api.engine.enabledEdits, before + 1);
    panel.notify('run', { sae, prompt, feature: 3, corpus });
    const s2 = (await waitFor(panel.onDidRender, (r) => (r as Summary).status === 'page' && ((r as { edits?: unknown[] }).edits?.length ?? 0) > 0, 'the page with the edit', 120_000)) as Summary & { edits: { cos: number }[] };
    // The ablation's values U are −d_f at every module: |cos| with the feature is 1.
    assert.ok(s2.edits.every((e) => Math.abs(e.cos - 1) < 1e-5), JSON.stringify(s2.edits));
    await screenshot('features-ablated');
  });
});
