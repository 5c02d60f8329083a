// First contact: when the engine starts, the context keys that hide palette commands which cannot
// run, and the commands of the empty views and of the status item (Load the Configured Model,
// Use the Bundled Model).
//
// The extension activates at startup (activationEvents "onStartupFinished") so that its status
// item is there from the start; the engine process and the model are started only when MechEdit
// is used: at once in a workspace that holds MechEdit files (.mechedit/edits or .mechedit/requests)
// or when a MechEdit view is shown, else on the first command or panel that needs the model.
//
// Context keys set here (package.json menus.commandPalette and view/title use them):
//   mechedit.modelConfigured   a model is configured (or the bundled default is used): commands that
//                              open it on demand can run;
//   mechedit.hasBundledModel   the extension ships models/default;
//   mechedit.usingBundledModel the bundled default is the configured model;
//   mechedit.engineStarted     the engine process is not stopped (Restart Engine makes sense);
//   mechedit.unappliedEdits    the Edits view lists an edit file that is not applied (Apply Edit).
// (mechedit.modelLoaded and mechedit.editsApplied are set by EngineService.)

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineService } from './engine/engineService';
import type { EditsView } from './views/editsView';
import { bundledModelPath, readSettings, SECTION } from './settings';

/** True when a workspace folder holds .mechedit/edits or .mechedit/requests. */
export function hasMechEditFiles(folders: readonly string[]): boolean {
  return folders.some((f) => ['edits', 'requests'].some((d) => fs.existsSync(path.join(f, '.mechedit', d))));
}

/** The onboarding context keys for the current settings, engine and Edits view (pure, for the tests). */
export function onboardingKeys(s: { modelPath: string; usingDefault: boolean }, bundled: string | undefined, engineStatus: string, unapplied: boolean): Record<string, boolean> {
  return {
    'mechedit.modelConfigured': !!s.modelPath,
    'mechedit.hasBundledModel': !!bundled,
    'mechedit.usingBundledModel': s.usingDefault,
    'mechedit.engineStarted': engineStatus !== 'stopped',
    'mechedit.unappliedEdits': unapplied,
  };
}

/** Loads the configured model (asking for one when none is), then shows the MechEdit side bar. */
async function loadModel(engine: EngineService): Promise<unknown> {
  const model = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'MechEdit: loading the model' }, () => engine.requireModel());
  if (model) await vscode.commands.executeCommand('mechedit.model.focus');
  return model;
}

/** Clears mechedit.modelPath wherever it is set and turns the bundled default on, then opens it. */
async function useBundledModel(engine: EngineService): Promise<unknown> {
  if (!bundledModelPath()) {
    void vscode.window.showErrorMessage('MechEdit: this installation ships no bundled model (models/default). Open a model folder instead.');
    return undefined;
  }
  const c = vscode.workspace.getConfiguration(SECTION);
  const seen = c.inspect<string>('modelPath');
  if (seen?.workspaceFolderValue !== undefined && vscode.workspace.workspaceFolders?.[0]) {
    await vscode.workspace.getConfiguration(SECTION, vscode.workspace.workspaceFolders[0].uri).update('modelPath', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
  }
  if (seen?.workspaceValue !== undefined) await c.update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
  if (seen?.globalValue !== undefined) await c.update('modelPath', undefined, vscode.ConfigurationTarget.Global);
  if (c.get<boolean>('openDefaultModel', true) === false) await c.update('openDefaultModel', true, vscode.ConfigurationTarget.Global);
  return loadModel(engine);
}

export function registerOnboarding(context: vscode.ExtensionContext, engine: EngineService, edits: EditsView, modelTree: vscode.TreeView<unknown>): void {
  const set = new Map<string, boolean>();
  const update = () => {
    const unapplied = edits.getChildren().some((n) => !n.item);
    for (const [key, value] of Object.entries(onboardingKeys(readSettings(), bundledModelPath(), engine.client.state, unapplied))) {
      if (set.get(key) === value) continue;
      set.set(key, value);
      void vscode.commands.executeCommand('setContext', key, value);
    }
  };
  // Start the engine when MechEdit is in use: its files in the workspace, or one of its views shown.
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    void engine.ensureModel();
  };
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  if (hasMechEditFiles(folders) || modelTree.visible || edits.tree.visible) start();
  context.subscriptions.push(
    engine.onDidChange(update),
    edits.onDidChangeTreeData(update),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(SECTION) && update()),
    modelTree.onDidChangeVisibility((e) => e.visible && start()),
    edits.tree.onDidChangeVisibility((e) => e.visible && start()),
    vscode.commands.registerCommand('mechedit.loadModel', () => loadModel(engine)),
    vscode.commands.registerCommand('mechedit.useBundledModel', () => useBundledModel(engine)),
  );
  update();
}
