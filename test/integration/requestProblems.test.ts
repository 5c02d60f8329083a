// Bad lines of a request file and a broken edit file are not silent (issue 33, item 9): each bad
// line gets a Problems error naming its field and no lens, the file-level lens counts valid facts
// only, and an edit file that breaks the schema gets an error naming the field. The files are
// removed afterwards, so the other suites see the workspace as before.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { screenshot } from './screenshot';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

/** The problems of one source on a file, once there are `count` of them (they arrive after an event). */
async function problemsOf(uri: vscode.Uri, source: string, count: number): Promise<vscode.Diagnostic[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = vscode.languages.getDiagnostics(uri).filter((d) => d.source === source);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Bad request lines and broken edit files', () => {
  let suite: DefaultModelSuite;
  const folder = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
  const written: string[] = [];

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const f of written) fs.rmSync(f, { force: true });
    await endOnDefaultModel(suite);
  });

  it('gives each bad request line a problem naming the field, and counts valid facts only', async function () {
    this.timeout(60_000);
    const file = path.join(folder(), '.mechedit', 'requests', 'bad-lines.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    written.push(file);
    fs.writeFileSync(file, [
      JSON.stringify({ subject: 'Baekhyndvaes Drondraes', prompt: '{} was born in', target: 'Daekgrad' }),
      '"subject": "Baequa Kaekmyth", "prompt": "{} was born in", "target": "Vyswick"',
      'not json at all',
      JSON.stringify({ subject: 'Baequa Kaekmyth', prompt: '{} was born in' }),
      JSON.stringify({ subject: 'Quesknou Rende', prompt: 'was born in', target: 'Daekgrad' }), // issue 33's screenshot 60: no "{}"
      JSON.stringify({ subject: 'Baequa Kaekmyth', prompt: '{} was born in', target: 'Vyswick' }),
    ].join('\n') + '\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const problems = await problemsOf(doc.uri, 'MechEdit requests', 4);
    assert.deepEqual(problems.map((d) => d.range.start.line).sort(), [1, 2, 3, 4], problems.map((d) => d.message).join('\n'));
    assert.equal(problems.find((d) => d.range.start.line === 3)?.code, 'target');
    assert.equal(problems.find((d) => d.range.start.line === 4)?.code, 'prompt');
    assert.match(problems.find((d) => d.range.start.line === 4)!.message, /has no "\{\}" for the subject/);
    assert.match(problems.find((d) => d.range.start.line === 1)!.message, /JSON object|Not valid JSON/);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    const lines = new Set(lenses.filter((l) => l.range.start.line > 0).map((l) => l.range.start.line));
    assert.deepEqual([...lines], [5], 'only the valid lines get lenses (line 0 carries the file-level ones too)');
    assert.ok(lenses.some((l) => l.command?.title === 'Compute one MEMIT edit for all 2 facts'), lenses.map((l) => l.command?.title).join(', '));
    await screenshot('request-file-problems');
  });

  it('gives an edit file that breaks the schema a problem naming the field', async function () {
    this.timeout(30_000);
    const file = path.join(folder(), '.mechedit', 'edits', 'broken-edit.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    written.push(file);
    const edit = { format: 'mechedit-edit/1', id: 'broken-edit', label: 'broken', method: 'magic', modelFingerprint: '0123456789abcdef', targets: [{ layer: 0, module: 'mlp.out', rank: 1, U: 'u', V: 'v' }], vectors: 'broken-edit.safetensors', created: '2026-12-07T12:00:00.000Z' };
    fs.writeFileSync(file, JSON.stringify(edit, null, 2));
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const [problem] = await problemsOf(doc.uri, 'MechEdit edit file', 1);
    assert.ok(problem, 'the broken edit file has a problem');
    assert.equal(problem.code, 'method');
    assert.equal(problem.range.start.line, 4, 'on the "method" key');
    // Not offered for applying: its lens says it is broken, and its Edits row is marked, with no check box.
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    assert.deepEqual(lenses.map((l) => l.command?.title), ['Broken: cannot be applied ("method"; see Problems)']);
    const api = suite.api;
    let node = api.edits.getChildren().find((n) => n.uri?.fsPath === file);
    for (let i = 0; i < 20 && !node; i++, await new Promise((r) => setTimeout(r, 500))) {
      await api.edits.refresh();
      node = api.edits.getChildren().find((n) => n.uri?.fsPath === file);
    }
    assert.ok(node, 'the Edits view lists the broken file');
    const row = api.edits.getTreeItem(node);
    assert.deepEqual([row.label, row.contextValue, row.checkboxState, (row.iconPath as vscode.ThemeIcon).id], ['broken', 'mechedit.edit.broken', undefined, 'error']);
    assert.match(String(row.description), /^broken · not applied/);
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await new Promise((r) => setTimeout(r, 1500)); // the side bar draws its views after the focus
    await screenshot('edit-file-problem');
  });
});
