// Presets in VS Code, on the bundled default model: an edit asked for with a preset is computed
// with it and says so (the result, the edit file's hparams.preset, the Edits view's description
// and tooltip); an edit file written before presets shows none (never "undefined"); the settings
// UI's mechedit.edit.preset lists the registry's presets.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { FactEditResult } from '../../src/extension/factEdits';
import { endOnDefaultModel, setApplyPolicy, startOnDefaultModel, type DefaultModelSuite } from './models';

describe('Presets: the edit says which preset it used', () => {
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

  it('a fact edit with a preset records and shows it; a file without one shows none', async function () {
    this.timeout(180_000);
    const registry = await api.engine.registry.get();
    const d = registry.methods.find((m) => m.kind === 'fact' && m.presets.length > 0)!;
    // A preset that is not the method's default (the method's only one when it has one).
    const preset = (d.presets.find((p) => p.id !== d.defaultPreset) ?? d.presets[0]).id;
    const pkg = vscode.extensions.all.find((e) => e.packageJSON?.name === 'mechedit')?.packageJSON as { contributes: { configuration: { properties: Record<string, { enum?: string[] }> } } } | undefined;
    assert.ok(pkg?.contributes.configuration.properties['mechedit.edit.preset'].enum?.includes(preset), 'the setting lists the preset');

    // The edit (ROME, preset paper, layer 0) takes but changes the weight by ‖ΔW‖/‖W‖ 0.406 > 0.25
    // (`mechedit edit rome … --preset paper`, 2026-12-08), so the default policy 'healthy' would
    // hold it back; this test is about the applied row naming its preset, so it applies it anyway.
    const previousPolicy = await setApplyPolicy('always');
    const r = await vscode.commands.executeCommand<FactEditResult>('mechedit.editFact', { method: d.id, preset, requests: [{ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }], force: true });
    await setApplyPolicy(previousPolicy);
    assert.ok(r?.applied, r?.notApplied);
    assert.equal(r?.preset, preset, 'the engine answers the preset it used');
    const json = JSON.parse(fs.readFileSync(r.file, 'utf8')) as { hparams: Record<string, unknown> };
    assert.equal(json.hparams.preset, preset, 'the edit file records it');

    const older = path.join(path.dirname(r.file), `older-${path.basename(r.file)}`);
    fs.writeFileSync(older, JSON.stringify({ ...json, id: `${(json as { id?: string }).id}-older`, hparams: { ...json.hparams, preset: undefined } }));
    // The view finds files through the workspace's file search and its watcher, which may lag a
    // fresh file: scan again until both are listed (10 s at most).
    let nodes = await api.edits.getChildren();
    for (let i = 0; i < 20 && !(nodes.some((n) => n.uri?.fsPath === r.file) && nodes.some((n) => n.uri?.fsPath === older)); i++) {
      await api.edits.refresh();
      nodes = await api.edits.getChildren();
      if (!nodes.some((n) => n.uri?.fsPath === older)) await new Promise((res) => setTimeout(res, 500));
    }
    assert.ok(nodes.some((n) => n.uri?.fsPath === older), `the Edits view lists ${path.basename(older)}: ${nodes.map((n) => n.uri && path.basename(n.uri.fsPath)).join(', ')}`);
    const made = nodes.find((n) => n.uri?.fsPath === r.file)!;
    const item = api.edits.getTreeItem(made);
    assert.ok(String(item.description).includes(`(${preset})`), `the description names the preset: ${item.description}`);
    assert.ok((item.tooltip as vscode.MarkdownString).value.includes(`preset ${preset}`), 'the tooltip names it');
    const old = api.edits.getTreeItem(nodes.find((n) => n.uri?.fsPath === older)!);
    // The copy keeps the edit's health record, so its row is marked unhealthy (editRows.ts heldBack).
    assert.equal(old.description, 'unhealthy · not applied', 'a file without a preset shows none');
    assert.ok(!(old.tooltip as vscode.MarkdownString).value.includes('undefined'));
    fs.rmSync(older);
  });
});
