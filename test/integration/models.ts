// Opening a model in the integration suites.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';

/** Sets mechedit.modelPath (user settings) to `dir` and waits until the engine has it open. */
export async function useModel(api: MechEditApi, dir: string, ms = 120_000): Promise<void> {
  await vscode.workspace.getConfiguration('mechedit').update('modelPath', dir, vscode.ConfigurationTarget.Global);
  const deadline = Date.now() + ms;
  while (api.engine.model?.path !== dir) {
    assert.ok(Date.now() < deadline, `the model did not open: model ${api.engine.model?.path}, error ${api.engine.modelError}`);
    await api.engine.ensureModel().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 250));
  }
}
