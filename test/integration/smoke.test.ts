// Minimal proof that the harness runs inside a real VS Code with MechEdit loaded.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { screenshot } from './screenshot';

const EXTENSION_ID = 'mechedit.mechedit';

describe('smoke', () => {
  it('has the MechEdit extension installed', () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is not loaded`);
  });

  it('activates the extension', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('opens the fixture workspace', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'no workspace folder is open');
    const readme = vscode.Uri.joinPath(folder.uri, 'README.md');
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(readme));
    await screenshot('smoke-readme');
  });
});
