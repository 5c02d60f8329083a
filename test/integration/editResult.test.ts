// The Edit Result view's other entry points, inside VS Code on the bundled model: a request
// file's lenses ("Compute ROME edit", then "Edit this fact…", which asks for the method with the
// last one used preselected — not the configured default, set to MEMIT here) each end in the view; a prompt no causal trace was run on gets its layer list
// from the fast probe, said as such; the Edits view's "Show Result" (a row) shows an earlier edit.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { screenshot } from './screenshot';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

interface ResultSummary {
  status: string;
  error?: string;
  id?: string;
  heldBack?: string;
  prompts?: { kind: string; after: string[] }[];
  layersSource?: string;
  layerEffects?: number[];
}

async function shown(api: MechEditApi, id: string, ms = 60_000): Promise<ResultSummary> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = api.panels.editResult()?.lastRender as ResultSummary | undefined;
    if (s && (s.status === 'error' || (s.status === 'drawn' && s.id === id))) return s;
    assert.ok(Date.now() < deadline, `the Edit Result view did not show ${id}: ${JSON.stringify(s)?.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Made = { file: string; id: string };

describe('Edit Result view: entry points', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    api.panels.editResult()?.panel.dispose();
    await endOnDefaultModel(suite);
  });

  it('request lenses end in the view; "Edit this fact…" asks for the method, the last one used preselected; Show Result from a row', async function () {
    this.timeout(180_000);
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(folder, '.mechedit', 'requests', 'result.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Grikport' }) + '\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    assert.deepEqual(lenses.slice(0, 3).map((l) => l.command?.title), ['Edit this fact…', 'Compute ROME edit', 'ROME + LTI']);
    assert.equal((lenses[0].command!.arguments![0] as { method?: string }).method, undefined, '"Edit this fact…" names no method: it asks');

    // "Compute ROME edit" (the method given): remembered as the last one used; the view shows the edit, layers from the probe.
    const rome = lenses[1].command!;
    const first = await vscode.commands.executeCommand<Made>(rome.command, ...(rome.arguments ?? []));
    const s = await shown(api, first.id);
    assert.equal(s.status, 'drawn', s.error);
    assert.equal(s.layersSource, 'probe', 'no causal trace of this prompt was run: the fast probe, said as such');
    assert.equal(s.layerEffects?.length, api.engine.model!.layers);
    assert.deepEqual(s.prompts?.map((p) => p.kind), ['prompt', 'paraphrase', 'neighbour']);
    console.log(`      edit result: probe P(target) per layer ${s.layerEffects!.map((v) => v.toFixed(4)).join(' ')}; held back: ${s.heldBack ?? 'no'}`);
    await screenshot('edit-result-probe');

    // "Edit this fact…": the method quick pick (then the preset's) preselect the last choice, ROME,
    // though the configured default is now MEMIT; accepting them computes ROME again.
    const config = vscode.workspace.getConfiguration('mechedit');
    const previousMethod = config.inspect<string>('edit.method')?.globalValue;
    await config.update('edit.method', 'memit', vscode.ConfigurationTarget.Global);
    const ask = lenses[0].command!;
    let done = false;
    const second = Promise.resolve(vscode.commands.executeCommand<Made>(ask.command, ...(ask.arguments ?? []))).finally(() => (done = true));
    const accept = async () => {
      while (!done) {
        await new Promise((r) => setTimeout(r, 700));
        if (!done) await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
      }
    };
    const [made] = await Promise.all([second, accept()]).finally(() => config.update('edit.method', previousMethod, vscode.ConfigurationTarget.Global));
    assert.ok(made && made.id !== first.id, 'a second edit was computed');
    const json = JSON.parse(fs.readFileSync(made.file, 'utf8')) as { method: string };
    assert.equal(json.method, 'rome', 'the preselected choice was the last one used, ROME (not the configured default, MEMIT)');
    assert.equal((await shown(api, made.id)).status, 'drawn');

    // The Edits view's "Show Result" on a row (its argument: the row, with the file's URI).
    const pick = await vscode.commands.executeCommand<string>('mechedit.showEditResult', { uri: vscode.Uri.file(first.file) });
    assert.equal(pick, first.file);
    assert.equal((await shown(api, first.id)).status, 'drawn');
    fs.rmSync(file, { force: true });
  });
});
