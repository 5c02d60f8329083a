// Status-bar item: the model, the execution provider and the engine state; click for the panel.

import * as vscode from 'vscode';
import * as path from 'node:path';
import type { EngineService } from './engine/engineService';
import { readSettings } from './settings';

export function createStatusBar(engine: EngineService): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('mechedit.status', vscode.StatusBarAlignment.Left, 50);
  item.name = 'MechEdit';
  item.command = 'mechedit.showEngine';
  const update = () => {
    const s = readSettings();
    const snap = engine.snapshot();
    const model = s.usingDefault ? 'default model' : s.modelPath ? path.basename(s.modelPath) : 'no model';
    const provider = snap.model?.executionProvider ?? snap.info?.resolvedProvider ?? s.engine.executionProvider;
    const icon = snap.status === 'crashed' ? '$(error)' : snap.status === 'starting' ? '$(loading~spin)' : '$(beaker)';
    const active = engine.enabledEdits;
    item.text = `${icon} ${model} · ${provider}${active ? ` · ${active} edit${active > 1 ? 's' : ''}` : ''}`;
    item.tooltip = `MechEdit — model: ${s.modelPath || 'none configured'}\nexecution provider: ${provider}\nengine: ${snap.status}\nactive edits: ${active}${snap.lastCrash ? `\nlast crash: ${snap.lastCrash}` : ''}`;
    item.backgroundColor = snap.status === 'crashed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    item.show();
  };
  update();
  const subs = [engine.onDidChange(update), vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('mechedit') && update())];
  return vscode.Disposable.from(item, ...subs);
}
