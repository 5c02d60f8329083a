// Opening a model in the integration suites, and the set-up and tear-down of a suite that runs on
// the bundled default model.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';

const EXTENSION_ID = 'mechedit.mechedit';

/** The bundled default model (models/default of the repository; this file runs from out/test/integration). */
export const DEFAULT_MODEL = path.join(__dirname, '..', '..', '..', 'models', 'default');

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

/** What a suite on the default model starts from, and the user's mechedit.modelPath to put back after it. */
export interface DefaultModelSuite {
  api: MechEditApi;
  previousModel: string | undefined;
}

/** A suite's `before`: activates the extension, remembers mechedit.modelPath, opens the default model with no edits applied. */
export async function startOnDefaultModel(): Promise<DefaultModelSuite> {
  const api = await vscode.extensions.getExtension<MechEditApi>(EXTENSION_ID)!.activate();
  const previousModel = vscode.workspace.getConfiguration('mechedit').inspect<string>('modelPath')?.globalValue;
  await useModel(api, DEFAULT_MODEL);
  await vscode.commands.executeCommand('mechedit.revertAllEdits');
  return { api, previousModel };
}

/**
 * A suite's `after` (once it has closed its own panels): the default model again when a test
 * opened another, no edits applied, no editors open, the user's mechedit.modelPath back.
 */
export async function endOnDefaultModel({ api, previousModel }: DefaultModelSuite): Promise<void> {
  if (api.engine.model?.path !== DEFAULT_MODEL) await useModel(api, DEFAULT_MODEL).catch(() => undefined);
  await vscode.commands.executeCommand('mechedit.revertAllEdits');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  await vscode.workspace.getConfiguration('mechedit').update('modelPath', previousModel, vscode.ConfigurationTarget.Global);
}

/**
 * Sets mechedit.applyPolicy (user settings; undefined removes it, i.e. the default 'healthy') and
 * answers the user value it replaced, to put back with this function. A suite that tests what
 * happens once an edit is on the stack sets 'always' where its edits are unhealthy under the
 * default policy, saying at the call which edit and the figure that holds it back.
 */
export async function setApplyPolicy(policy: string | undefined): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('mechedit');
  const previous = config.inspect<string>('applyPolicy')?.globalValue;
  await config.update('applyPolicy', policy, vscode.ConfigurationTarget.Global);
  return previous;
}
