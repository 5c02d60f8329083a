// A run folder's report.html shown in a webview tab. vscode.env.openExternal on a file URI does
// nothing in code-server (the browser cannot open the server's files), so the report — one
// self-contained page with its own CSP (inline styles only, no scripts) — is read here and shown
// by VS Code itself, in desktop VS Code and code-server alike.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readUserText } from '../readGuard';

export const REPORT_VIEW_TYPE = 'mechedit.report';

/** Opens `<folder>/report.html` in a webview tab (scripts off); the tab is titled by the folder. */
export function openReportView(folder: string): vscode.WebviewPanel {
  const file = path.join(folder, 'report.html');
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: the run folder has no report (moved or deleted?). Run the diagnostics again to write a new one.`);
  const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, `MechEdit Report — ${path.basename(folder)}`, vscode.ViewColumn.Active, { enableScripts: false, localResourceRoots: [] });
  panel.webview.html = readUserText(file, 'report');
  return panel;
}
