// The Edits view's row commands on edit files (context menu): Reveal File, Rename Label and
// Delete. Delete and Rename work on files that are not applied (an applied edit is reverted
// first: its row offers neither); Delete asks first and moves <id>.json and its vectors file to
// the trash, so nothing is lost.

import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineService } from '../engine/engineService';

/** The row's edit file: a tree node ({uri}) or a Uri. */
export function rowUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const uri = arg && typeof arg === 'object' && 'uri' in arg ? (arg as { uri: unknown }).uri : undefined;
  return uri instanceof vscode.Uri ? uri : undefined;
}

function isApplied(engine: EngineService, file: string): boolean {
  return engine.stack.items.some((i) => i.file && path.resolve(i.file) === path.resolve(file));
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export async function revealEditFile(arg: unknown): Promise<void> {
  const uri = rowUri(arg);
  if (uri) await vscode.commands.executeCommand('revealInExplorer', uri);
}

/** Deletes an unapplied edit file and its vectors (to the trash), after a modal confirmation. */
export async function deleteEditFile(engine: EngineService, arg: unknown): Promise<void> {
  const uri = rowUri(arg);
  if (!uri) return;
  if (isApplied(engine, uri.fsPath)) {
    void vscode.window.showWarningMessage(`MechEdit: ${path.basename(uri.fsPath)} is applied; revert it before deleting its file.`);
    return;
  }
  let vectors: string | undefined;
  try {
    const v = readJson(uri.fsPath).vectors;
    vectors = typeof v === 'string' && v ? path.join(path.dirname(uri.fsPath), path.basename(v)) : undefined;
  } catch {
    vectors = undefined; // a broken file: only the .json goes
  }
  const files = [uri.fsPath, ...(vectors && fs.existsSync(vectors) ? [vectors] : [])];
  const pick = await vscode.window.showWarningMessage(`Delete the edit ${files.map((f) => path.basename(f)).join(' and ')}? The files go to the trash.`, { modal: true }, 'Delete');
  if (pick !== 'Delete') return;
  for (const f of files) await vscode.workspace.fs.delete(vscode.Uri.file(f), { useTrash: true });
  await vscode.commands.executeCommand('mechedit.refreshEdits');
}

/** Sets an unapplied edit file's label (the JSON's "label" field; nothing else in the file changes). */
export async function renameEditLabel(engine: EngineService, arg: unknown): Promise<void> {
  const uri = rowUri(arg);
  if (!uri) return;
  if (isApplied(engine, uri.fsPath)) {
    void vscode.window.showWarningMessage('MechEdit: revert the edit before renaming it (the stack keeps the label it was applied with).');
    return;
  }
  let json: Record<string, unknown>;
  try {
    json = readJson(uri.fsPath);
  } catch (err) {
    void vscode.window.showErrorMessage(`MechEdit: ${path.basename(uri.fsPath)} is not readable JSON (${(err as Error).message}); fix or delete it.`);
    return;
  }
  const label = await vscode.window.showInputBox({ title: 'Label of the edit', value: typeof json.label === 'string' ? json.label : '', validateInput: (v) => (v.trim() ? undefined : 'A label, e.g. "Rouxwick → Paris (ROME L3)"') });
  if (label === undefined) return;
  fs.writeFileSync(uri.fsPath, JSON.stringify({ ...json, label: label.trim() }, null, 2) + '\n');
  await vscode.commands.executeCommand('mechedit.refreshEdits');
}
