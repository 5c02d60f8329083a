// Runs inside a real VS Code (code-server here, @vscode/test-electron where VS Code can be
// downloaded): activation, commands, views, the engine process, a panel, a crash and restart.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { EngineError } from '../../src/extension/engine/client';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { writeEdit } from '../../src/core/edits/editFile';

const EXTENSION_ID = 'mechedit.mechedit';

describe('MechEdit in VS Code', () => {
  let api: MechEditApi;

  before(async () => {
    const ext = vscode.extensions.getExtension<MechEditApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is not installed in this VS Code`);
    api = await ext.activate();
  });

  it('activates and returns its API', () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID)?.isActive);
    assert.ok(api.engine);
  });

  it('registers every command contributed in package.json', async () => {
    const contributed: { command: string; category: string }[] = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands;
    assert.ok(contributed.length >= 8);
    assert.ok(contributed.every((c) => c.category === 'MechEdit'));
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepEqual(missing, []);
  });

  it('shows the MechEdit container with its Model and Edits views', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.mechedit');
    // The views' own focus commands exist only once the container and views are registered.
    await vscode.commands.executeCommand('mechedit.model.focus');
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await screenshot('mechedit-container');
  });

  it('starts the engine process, which answers with onnxruntime loaded outside the extension host', async () => {
    const info = await api.engine.refreshInfo();
    assert.equal(api.engine.client.state, 'running');
    assert.notEqual(info.pid, process.pid);
    assert.equal(info.ortVersion, '1.30.0');
    assert.equal(info.telemetryDisabled, true);
    assert.equal(require.cache[require.resolve('onnxruntime-node')], undefined, 'onnxruntime-node must not be loaded in the extension host');
  });

  it('opens the Engine panel, which renders the engine state and a self-test chart', async () => {
    await vscode.commands.executeCommand('mechedit.showEngine');
    const panel = api.panels.engine();
    assert.ok(panel, 'the Engine panel did not open');
    const hasInfo = (r: unknown) => ((r as { infoRows?: number } | undefined)?.infoRows ?? 0) > 0;
    // The panel may have drawn before we got here: take its last render, else wait for one.
    const drawn = (hasInfo(panel.lastRender) ? panel.lastRender : await waitFor(panel.onDidRender, hasInfo, 'the panel to draw the engine info')) as { status: string; infoRows: number };
    assert.equal(drawn.status, 'running');
    assert.equal(drawn.infoRows, 5);

    const chart = waitFor(panel.onDidRender, (r) => (r as { bars: number }).bars === 50, 'the self-test chart');
    const result = await vscode.commands.executeCommand<{ provider: string; runMs: number[]; maxAbsError: number }>('mechedit.selfTest');
    assert.ok(result, 'self-test returned nothing');
    assert.equal(result.runMs.length, 50);
    assert.ok(result.maxAbsError < 1e-3);
    const withChart = await chart as { probes: number };
    assert.ok(withChart.probes >= 1);
    await screenshot('engine-panel');
  });

  it('opens a configured checkpoint in the engine and shows it in the Model view', async () => {
    const fixture = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'models', 'llama-gqa');
    const opened = waitFor(api.engine.onDidChange, (s) => s.model?.path === fixture || !!s.modelError, 'the model to open', 60_000);
    await vscode.workspace.getConfiguration('mechedit').update('modelPath', fixture, vscode.ConfigurationTarget.Global);
    const state = await opened;
    assert.equal(state.modelError, undefined);
    assert.equal(state.model?.architecture, 'llama');
    assert.equal(state.model?.kvHeads, 2);
    assert.equal(state.model?.headDim, 16);
    const p = await api.engine.client.request('model/predict', { prompt: 'the cat sat', top: 5 });
    assert.equal(p.next.length, 5);
    assert.ok(p.next[0].logprob >= p.next[4].logprob);
    await vscode.commands.executeCommand('mechedit.model.focus');
    await screenshot('model-open');
  });

  it('applies an edit file from the workspace through the Edits view, and reverts it exactly', async () => {
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const model = api.engine.model!;
    const U = Float32Array.from({ length: model.dModel }, (_, i) => Math.sin(i) * 4);
    const V = Float32Array.from({ length: model.dMlp }, (_, i) => Math.cos(i) * 4);
    const file = writeEdit(path.join(folder, '.mechedit', 'edits'), {
      json: { format: 'mechedit-edit/1', id: 'push-1', label: 'push layer 1', method: 'manual', modelFingerprint: model.fingerprint, targets: [{ layer: 1, module: 'mlp.out', rank: 1, U: 'U', V: 'V' }], vectors: '', created: new Date().toISOString() },
      tensors: [{ U, V }],
    }, () => ({ out: model.dModel, in: model.dMlp }), { dir: model.path, weightFiles: [] });
    const before = await api.engine.client.request('model/predict', { prompt: 'the cat sat', top: 5 });
    await vscode.commands.executeCommand('mechedit.edits.focus');
    const state = await vscode.commands.executeCommand<{ items: { id: string; enabled: boolean }[]; lastChangeMs: number }>('mechedit.applyEdit', vscode.Uri.file(file));
    assert.deepEqual(state?.items.map((i) => [i.id, i.enabled]), [['push-1', true]]);
    const nodes = await api.edits.getChildren();
    assert.equal(nodes.find((n) => n.uri?.fsPath === file)?.item?.id, 'push-1', 'the Edits view shows the edit as applied');
    const edited = await api.engine.client.request('model/predict', { prompt: 'the cat sat', top: 5 });
    assert.notDeepEqual(edited.next, before.next);
    await screenshot('edit-applied');
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    assert.deepEqual(api.engine.stack.items, []);
    assert.deepEqual((await api.engine.client.request('model/predict', { prompt: 'the cat sat', top: 5 })).next, before.next);
  });

  it('redirects a concept with ROCR from a command: the edit is saved in the workspace and applied', async () => {
    const r = await vscode.commands.executeCommand<{ file: string; id: string; state: { items: { id: string }[] }; health: { targets: unknown[] } }>('mechedit.redirectConcept', { concept: 'the cat', harmless: 'a dog', layers: [0, 1] });
    assert.ok(r, 'ROCR returned nothing');
    assert.ok(r.file.startsWith(vscode.workspace.workspaceFolders![0].uri.fsPath), 'saved in the workspace');
    assert.deepEqual(api.engine.stack.items.map((i) => i.id), [r.id]);
    assert.equal(r.health.targets.length, 2);
    const nodes = await api.edits.getChildren();
    assert.ok(nodes.some((n) => n.item?.id === r.id), 'the Edits view lists it as applied');
    await screenshot('rocr-applied');
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
  });

  it('reports a crash of the engine to a pending request and restarts on the next one', async () => {
    const client = api.engine.client;
    const oldPid = client.pid!;
    let killed = false;
    const pending = client.request('engine/selfTest', { size: 128, iterations: 100_000 }, {
      onProgress: () => {
        if (!killed) process.kill(oldPid, 'SIGKILL');
        killed = true;
      },
    });
    await assert.rejects(pending, (e: EngineError) => {
      assert.equal(e.data.code, 'crashed');
      assert.match(e.data.message, /killed by signal SIGKILL/);
      return true;
    });
    const info = await api.engine.refreshInfo();
    assert.notEqual(info.pid, oldPid);
    assert.equal(client.state, 'running');
    // The configured model comes back with the new engine.
    const model = await api.engine.ensureModel();
    assert.equal(model?.architecture, 'llama');
    await screenshot('after-engine-restart');
  });
});
