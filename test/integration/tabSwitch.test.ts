// Results across a tab switch, on the bundled default model. Panels do not keep their page while
// hidden (no retainContextWhenHidden): VS Code loads it again when the tab comes back, and the
// panel draws its last result again (the webview's saved state, and the host's 'restore' of the
// answers it keeps, src/extension/webview/panelHost.ts). Causal Tracing says which model it traced:
// the edited one with its edits by label, or the bare one ("Trace the bare model"), which leaves
// the user's edits applied; beside the traced token it shows the model's greedy answer in full.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { TRACE_EXAMPLE } from '../../src/protocol/traceExample';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

type TraceSummary = {
  status: string; error?: string; stale?: string; answer: string; greedy: string; greedyTokens: string[]; tracedOn: string; bare: boolean; edits: string[];
  recommendedLayer?: number; cells: number; mlpAtSubjectLast: number[];
};
type ConceptSummary = { status: string; error?: string; best?: number; stale?: string };

describe('Tab switches: panels keep their results; Causal Tracing says which model it traced', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;
  let other: vscode.TextDocument;

  /** Shows another editor in the panel's group (the panel's page is dropped), then the panel again; resolves with its first render after. */
  const switchAway = async (panel: vscode.WebviewPanel) => {
    await vscode.window.showTextDocument(other, { viewColumn: panel.viewColumn, preview: false });
    for (let i = 0; panel.visible; i++) {
      assert.ok(i < 100, 'the panel was hidden by the other tab');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const switchBack = <T>(host: { onDidRender: vscode.Event<unknown>; panel: vscode.WebviewPanel }, accept: (s: T) => boolean, what: string) => {
    const drawn = waitFor(host.onDidRender, (s) => accept(s as T), what, 60_000);
    host.panel.reveal();
    return drawn as Promise<T>;
  };

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
    other = await vscode.workspace.openTextDocument({ content: 'Another editor tab.\n', language: 'plaintext' });
  });

  after(async () => {
    api.panels.tracing()?.panel.dispose();
    api.panels.concepts()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('Causal Tracing keeps its maps across a tab switch, says edited (with the label) or bare, and the bare toggle leaves the edit applied', async function () {
    this.timeout(180_000);
    await vscode.commands.executeCommand('mechedit.showCausalTracing');
    const host = api.panels.tracing()!;
    const done = (s: TraceSummary) => ['drawn', 'error'].includes(s.status);
    const trace = async (params: { bare: boolean }, what: string) => {
      const drawn = waitFor(host.onDidRender, (s) => done(s as TraceSummary), what, 60_000);
      host.notify('run', { ...TRACE_EXAMPLE, samples: 10, ...params });
      const s = (await drawn) as TraceSummary;
      assert.equal(s.status, 'drawn', s.error);
      return s;
    };

    const unedited = await trace({ bare: false }, 'the trace of the unedited model');
    assert.match(unedited.tracedOn, /model without edits \(none was applied\)/);
    assert.equal(unedited.answer, ' Qu', 'the traced token');
    assert.equal(unedited.greedyTokens[0], unedited.answer, 'the greedy answer starts with the traced token');
    assert.ok(unedited.greedy.length > unedited.answer.length && unedited.greedyTokens.length <= 8, `the full answer ${JSON.stringify(unedited.greedy)}`);

    // A tab switch: the page is dropped and loaded again; the same maps come back.
    await switchAway(host.panel);
    const back = await switchBack<TraceSummary>(host, done, 'the maps after the tab switch');
    assert.equal(back.status, 'drawn', 'the maps are drawn again, not the empty form');
    assert.equal(back.cells, unedited.cells);
    assert.deepEqual(back.mlpAtSubjectLast, unedited.mlpAtSubjectLast, 'the same trace');
    assert.equal(back.stale, undefined, 'and current');
    await screenshot('trace-after-tabswitch');

    // One edit applied (whatever its health: this test is about the trace): the trace says it ran
    // on the edited model, naming the edit by its label.
    const config = vscode.workspace.getConfiguration('mechedit');
    const policy = config.inspect<string>('applyPolicy')?.globalValue;
    await config.update('applyPolicy', 'always', vscode.ConfigurationTarget.Global);
    let made: { id: string; applied: boolean } | undefined;
    try {
      made = await vscode.commands.executeCommand<{ id: string; applied: boolean }>('mechedit.editFact', { method: 'rome', requests: [{ subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Vyswick' }], layer: 0, force: true });
    } finally {
      await config.update('applyPolicy', policy, vscode.ConfigurationTarget.Global);
    }
    assert.ok(made?.applied, 'the ROME edit was applied');
    const label = api.engine.stack.items[0].label;
    await vscode.commands.executeCommand('mechedit.showCausalTracing');
    // The maps drawn before the edit are marked stale: they are of the model without it.
    for (let i = 0; !/edits applied changed/.test((host.lastRender as TraceSummary | undefined)?.stale ?? ''); i++) {
      assert.ok(i < 100, `the unedited maps are marked stale once the edit is applied: ${(host.lastRender as TraceSummary | undefined)?.stale}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const edited = await trace({ bare: false }, 'the trace of the edited model');
    assert.deepEqual(edited.edits, [label]);
    assert.ok(edited.tracedOn.startsWith('Traced on the edited model: 1 edit applied') && edited.tracedOn.includes(JSON.stringify(label)), edited.tracedOn);
    await screenshot('trace-edited-label');
    // The same in a dark theme (the edited line's colour, the maps, the dark after a tab switch).
    const workbench = vscode.workspace.getConfiguration('workbench');
    const theme = workbench.inspect<string>('colorTheme')?.globalValue;
    await workbench.update('colorTheme', 'Default Dark Modern', vscode.ConfigurationTarget.Global);
    try {
      await switchAway(host.panel);
      const dark = await switchBack<TraceSummary>(host, done, 'the edited trace in the dark theme');
      assert.deepEqual(dark.edits, [label]);
      await new Promise((r) => setTimeout(r, 500));
      await screenshot('trace-edited-label-dark');
    } finally {
      await workbench.update('colorTheme', theme, vscode.ConfigurationTarget.Global);
    }

    // The bare toggle, with a tab switch while it runs: the answer comes back to the page loaded again.
    const drawnBare = waitFor(host.onDidRender, (s) => done(s as TraceSummary) && (s as TraceSummary).bare, 'the bare trace', 60_000);
    const started = waitFor(host.onDidRender, (s) => (s as TraceSummary).status === 'busy', 'the bare trace to start', 30_000);
    host.notify('run', { ...TRACE_EXAMPLE, samples: 10, bare: true });
    await started;
    await switchAway(host.panel);
    await new Promise((r) => setTimeout(r, 1500));
    host.panel.reveal();
    const bare = (await drawnBare) as TraceSummary;
    assert.equal(bare.status, 'drawn', bare.error);
    assert.deepEqual(bare.edits, []);
    assert.match(bare.tracedOn, /bare model/);
    assert.deepEqual(bare.mlpAtSubjectLast, unedited.mlpAtSubjectLast, 'the bare trace is the unedited one');
    assert.equal(bare.recommendedLayer, unedited.recommendedLayer);
    assert.deepEqual(api.engine.stack.items.map((i) => [i.id, i.enabled]), [[made.id, true]], 'the edit is still applied');
    assert.deepEqual((await api.engine.client.request('edits/list', {})).items.map((i) => [i.id, i.enabled]), [[made.id, true]], 'in the engine too');
    await screenshot('trace-bare-toggle');
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    host.panel.dispose();
  });

  it('the Concepts panel keeps its charts across a tab switch', async function () {
    this.timeout(90_000);
    await vscode.commands.executeCommand('mechedit.showConcepts');
    const host = api.panels.concepts()!;
    const done = (s: ConceptSummary) => ['drawn', 'error'].includes(s.status);
    const drawn = waitFor(host.onDidRender, (s) => done(s as ConceptSummary), 'the concept directions', 60_000);
    host.notify('run', { positive: 'Veltrazine is colored\nVeltrazine was first made by\nDravokine is colored', negative: 'Brindlecake is colored\nBrindlecake was first made by\nSunmallow is colored', probe: '' });
    const first = (await drawn) as ConceptSummary;
    assert.equal(first.status, 'drawn', first.error);
    await switchAway(host.panel);
    const back = await switchBack<ConceptSummary>(host, (s) => done(s) && s.best !== undefined, 'the concept charts after the tab switch');
    assert.equal(back.best, first.best, 'the same directions are drawn again');
    assert.equal(back.stale, undefined);
    await screenshot('concepts-after-tabswitch');
    // A run asked for while the panel is hidden waits for its page and runs when it is shown.
    await switchAway(host.panel);
    host.notify('run', { positive: 'Veltrazine is colored\nVeltrazine was first made by\nDravokine is colored', negative: 'Brindlecake is colored\nBrindlecake was first made by\nSunmallow is colored', probe: 'Dravokine is colored' });
    const probed = await switchBack<ConceptSummary & { probeTokens?: string[] }>(host, (s) => s.status === 'drawn' && !!s.probeTokens, 'the run asked for while hidden');
    assert.ok(probed.probeTokens!.length > 0);
    host.panel.dispose();
  });
});
