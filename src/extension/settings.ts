// The extension's settings (package.json "contributes.configuration"), read in one place.

import * as vscode from 'vscode';
import type { EngineConfig, ExecutionProviderSetting } from '../protocol/engine';

export const SECTION = 'mechedit';

export interface Settings {
  modelPath: string;
  engine: EngineConfig;
  libraryPath: string[];
  env: Record<string, string>;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  return {
    modelPath: c.get<string>('modelPath', '').trim(),
    engine: {
      executionProvider: c.get<ExecutionProviderSetting>('executionProvider', 'auto'),
      threads: c.get<number>('threads', 0),
    },
    libraryPath: c.get<string[]>('engine.libraryPath', []),
    env: c.get<Record<string, string>>('engine.env', {}),
  };
}

/** True when a change touches settings the engine process is started with. */
export function affectsEngineProcess(e: vscode.ConfigurationChangeEvent): boolean {
  return e.affectsConfiguration(`${SECTION}.engine.libraryPath`) || e.affectsConfiguration(`${SECTION}.engine.env`);
}
