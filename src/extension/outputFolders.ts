// Where the extension writes edits and diagnostics runs: <workspace>/.mechedit/<kind>. When that
// lies inside the open model's checkpoint (the user opened the checkpoint folder itself, or its
// models--org--name/ cache folder, as the workspace), which MechEdit never writes to, the
// extension's storage folder is used instead, and the user is told once where things go.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { isInside, protectedFolder } from './outputPaths';

let storage: string | undefined;
let told = false;

/** Called once at activation with the extension's global storage folder. */
export function initOutputFolders(folder: string): void {
  storage = folder;
}

/**
 * `<workspace>/.mechedit/<kind>`, or the storage folder's `<kind>` when that would be inside the
 * model `modelDir`. Without a workspace: the storage folder for diagnostics and lifelong-editing
 * runs; for edits, which belong to a workspace, undefined after a warning.
 */
export function outputFolder(kind: 'edits' | 'diagnostics' | 'lifelong', modelDir: string | undefined): string | undefined {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!ws && kind === 'edits') {
    void vscode.window.showWarningMessage('MechEdit: open a folder first: edits are saved in its .mechedit/edits/.');
    return undefined;
  }
  const inWorkspace = ws ? path.join(ws, '.mechedit', kind) : undefined;
  if (inWorkspace && !(modelDir && isInside(inWorkspace, protectedFolder(modelDir)))) return inWorkspace;
  if (!storage) return undefined;
  const dir = path.join(storage, kind);
  if (inWorkspace && !told) {
    told = true;
    void vscode.window.showInformationMessage(`MechEdit: this workspace is the model's own folder, which MechEdit never writes to. Edits and diagnostics runs are saved in ${path.dirname(dir)} instead.`);
  }
  return dir;
}
