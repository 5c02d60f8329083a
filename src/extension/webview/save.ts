// "Export" of a panel: a save dialog in the workspace folder, then the bytes written there.

import * as vscode from 'vscode';
import type { SaveParams, SaveRequest } from '../../protocol/panels';

export async function saveFile({ format, suggestedName, text, base64 }: SaveParams): Promise<SaveRequest['result']> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, suggestedName) : undefined,
    filters: { [format.toUpperCase()]: [format] },
  });
  if (!uri) return { saved: false };
  const bytes = base64 !== undefined ? Buffer.from(base64, 'base64') : Buffer.from(text ?? '', 'utf8');
  await vscode.workspace.fs.writeFile(uri, bytes);
  return { saved: true, path: uri.fsPath };
}
