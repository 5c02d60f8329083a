// Status-bar item: the model the engine has loaded, the execution provider, the engine state and
// the active edits; an error look (icon, background, tooltip) when the engine crashed or the
// configured model could not be opened (the model still loaded, if any, is named). Shown from
// startup: before the engine has started, "MechEdit: model not loaded" and a click loads it;
// with no model configured, a click opens a model folder. Otherwise a click shows the Engine panel.

import * as vscode from 'vscode';
import * as path from 'node:path';
import type { EngineService } from './engine/engineService';
import { bundledModelPath, readSettings, type Settings } from './settings';
import type { EngineStateSnapshot } from '../protocol/panels';

/** The name shown for a model folder: "default model" for the bundled one, else the folder's name. */
export function modelName(dir: string): string {
  const bundled = bundledModelPath();
  return bundled && path.resolve(dir) === path.resolve(bundled) ? 'default model' : path.basename(dir);
}

/** The status bar's text and tooltip for an engine snapshot (pure, for the tests). */
export function statusText(snap: EngineStateSnapshot, s: Settings, activeEdits: number): { text: string; tooltip: string; error: boolean; command: string } {
  const idle = !snap.model && snap.modelError === undefined && snap.status === 'stopped';
  if (idle) {
    return s.modelPath
      ? { text: '$(beaker) MechEdit: model not loaded', tooltip: `MechEdit — ${modelName(s.modelPath)} is configured (${s.modelPath}); the engine starts when you use MechEdit.\nClick to load it now.`, error: false, command: 'mechedit.loadModel' }
      : { text: '$(beaker) MechEdit: no model', tooltip: 'MechEdit — no model is configured.\nClick to open a local Hugging Face checkpoint folder.', error: false, command: 'mechedit.openModel' };
  }
  const loaded = snap.model ? modelName(snap.model.path) : undefined;
  const provider = snap.model?.executionProvider ?? snap.info?.resolvedProvider ?? s.engine.executionProvider;
  const failed = snap.modelError !== undefined;
  const error = snap.status === 'crashed' || failed;
  const icon = error ? '$(error)' : snap.status === 'starting' ? '$(loading~spin)' : '$(beaker)';
  const model = loaded ?? (failed ? 'no model loaded' : s.modelPath ? modelName(s.modelPath) : 'no model');
  const edits = activeEdits ? ` · ${activeEdits} edit${activeEdits > 1 ? 's' : ''}` : '';
  const lines = [
    `MechEdit — loaded: ${snap.model?.path ?? 'none'}`,
    ...(failed ? [`could not open ${snap.modelErrorPath ?? s.modelPath}: ${snap.modelError}`, loaded ? `${loaded} stays loaded with its edits` : 'no model is loaded'] : []),
    `configured: ${s.modelPath || 'none'}`,
    `execution provider: ${provider}`,
    `engine: ${snap.status}`,
    `active edits: ${activeEdits}`,
    ...(snap.lastCrash ? [`last crash: ${snap.lastCrash}`] : []),
  ];
  return { text: `${icon} ${model}${failed ? ' · open failed' : ''} · ${provider}${edits}`, tooltip: lines.join('\n'), error, command: 'mechedit.showEngine' };
}

export function createStatusBar(engine: EngineService): { item: vscode.StatusBarItem } & vscode.Disposable {
  const item = vscode.window.createStatusBarItem('mechedit.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'MechEdit';
  const update = () => {
    const t = statusText(engine.snapshot(), readSettings(), engine.enabledEdits);
    item.text = t.text;
    item.tooltip = t.tooltip;
    item.command = t.command;
    item.backgroundColor = t.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    item.show();
  };
  update();
  const subs = [engine.onDidChange(update), vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('mechedit') && update())];
  const all = vscode.Disposable.from(item, ...subs);
  return { item, dispose: () => all.dispose() };
}
