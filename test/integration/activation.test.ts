// The first open of a window (this file sorts first in the suite, so nothing has used MechEdit yet):
// the extension activates at startup (activationEvents "onStartupFinished") and its status item is
// there before the side bar is opened, saying the model is not loaded, with a click that loads it;
// the engine process has not started. Loading through that click opens the bundled model.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { screenshot } from './screenshot';

const EXTENSION_ID = 'mechedit.mechedit';

describe('Startup: the status item before MechEdit is used', () => {
  it('is shown at startup with "model not loaded"; its click loads the model', async function () {
    this.timeout(120_000);
    const ext = vscode.extensions.getExtension<MechEditApi>(EXTENSION_ID)!;
    const deadline = Date.now() + 20_000;
    while (!ext.isActive) {
      assert.ok(Date.now() < deadline, 'the extension did not activate at startup (no command or view asked for it)');
      await new Promise((r) => setTimeout(r, 200));
    }
    const api = ext.exports;
    assert.equal(api.engine.client.state, 'stopped', 'the engine starts only when MechEdit is used');
    assert.equal(api.statusBar.text, '$(beaker) MechEdit: model not loaded');
    assert.equal(api.statusBar.command, 'mechedit.loadModel');
    await screenshot('startup-status-item');
    await vscode.commands.executeCommand('mechedit.loadModel');
    assert.ok(api.engine.model, 'the click loaded the model');
    assert.match(api.statusBar.text, /default model · /);
    assert.equal(api.statusBar.command, 'mechedit.showEngine');
    await vscode.commands.executeCommand('mechedit.edits.focus');
    await new Promise((r) => setTimeout(r, 1000));
    await screenshot('startup-edits-welcome');
  });
});
