// Problems of request files (.mechedit/requests/*.jsonl): every line that is neither blank, a
// // comment nor a valid request (checkRequestLine, src/protocol/requestLines.ts) gets an error on
// that line naming the field, when the file is opened or changed; valid lines get CodeLenses
// instead (requestLenses.ts). Closing the file keeps its problems until it is opened again.

import * as vscode from 'vscode';
import { checkRequestLine } from '../protocol/requestLines';

/** Whether a path is a request file (the REQUESTS_GLOB of requestLenses.ts). */
export const isRequestFile = (path: string): boolean => /[\\/]\.mechedit[\\/]requests[\\/][^\\/]+\.jsonl$/.test(path);

/** The problems of a request file's lines, as diagnostics on those lines. */
export function requestDiagnostics(doc: vscode.TextDocument): vscode.Diagnostic[] {
  const out: vscode.Diagnostic[] = [];
  for (let i = 0; i < doc.lineCount; i++) {
    const line = doc.lineAt(i);
    const c = checkRequestLine(line.text);
    if (c.kind !== 'problem') continue;
    const d = new vscode.Diagnostic(line.range, `Line ${i + 1}: ${c.message}`, vscode.DiagnosticSeverity.Error);
    d.source = 'MechEdit requests';
    if (c.field) d.code = c.field;
    out.push(d);
  }
  return out;
}

export class RequestProblems implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('mechedit-requests');
  private readonly subs: vscode.Disposable[];

  constructor() {
    const update = (doc: vscode.TextDocument) => {
      if (doc.uri.scheme === 'file' && isRequestFile(doc.uri.fsPath)) this.collection.set(doc.uri, requestDiagnostics(doc));
    };
    this.subs = [
      vscode.workspace.onDidOpenTextDocument(update),
      vscode.workspace.onDidChangeTextDocument((e) => update(e.document)),
      vscode.workspace.onDidSaveTextDocument(update),
    ];
    for (const doc of vscode.workspace.textDocuments) update(doc);
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.collection.dispose();
  }
}
