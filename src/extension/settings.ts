// The extension's settings (package.json "contributes.configuration"), read in one place.

import * as vscode from 'vscode';
import type { EngineConfig, ExecutionProviderSetting } from '../protocol/engine';

export const SECTION = 'mechedit';

export interface Settings {
  /** The configured model, or the bundled default when none is configured (see usingDefault). */
  modelPath: string;
  usingDefault: boolean;
  engine: EngineConfig;
  libraryPath: string[];
  env: Record<string, string>;
}

let bundledModel: string | undefined;

/** Called once by activate(): where the extension's bundled default model is, if it ships one. */
export function setBundledModel(dir: string | undefined): void {
  bundledModel = dir;
}

/** The bundled default model's folder, if the extension ships one. */
export function bundledModelPath(): string | undefined {
  return bundledModel;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const configured = c.get<string>('modelPath', '').trim();
  const useDefault = !configured && c.get<boolean>('openDefaultModel', true) && !!bundledModel;
  return {
    modelPath: useDefault ? bundledModel! : configured,
    usingDefault: useDefault,
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
