// Problems of edit files (.mechedit/edits/*.json): a file that is not JSON, or that breaks
// schemas/edit.schema.json (checked as the engine's reader checks it, src/protocol/editSchema.ts),
// gets an error naming the field when it is opened, changed or saved, so a broken file is seen
// before it is applied. The error sits on the field's key where the text shows it, else on line 1.

import * as vscode from 'vscode';
import { editFileProblem } from '../protocol/editSchema';

/** Whether a path is an edit file (EDITS_GLOB of views/editsView.ts). */
export const isEditFile = (path: string): boolean => /[\\/]\.mechedit[\\/]edits[\\/][^\\/]+\.json$/.test(path);

/** The range of a field's key ("targets[0].layer" → the first `"layer"`), else line 1. */
function fieldRange(doc: vscode.TextDocument, field: string | undefined): vscode.Range {
  const key = field?.split('.').pop()?.replace(/\[\d+\]$/, '');
  const at = key ? doc.getText().indexOf(`"${key}"`) : -1;
  return at >= 0 ? new vscode.Range(doc.positionAt(at), doc.positionAt(at + key!.length + 2)) : doc.lineAt(0).range;
}

export class EditFileProblems implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('mechedit-edit-files');
  private readonly subs: vscode.Disposable[];

  constructor() {
    const update = (doc: vscode.TextDocument) => {
      if (doc.uri.scheme !== 'file' || !isEditFile(doc.uri.fsPath)) return;
      const p = editFileProblem(doc.getText());
      const d = p && new vscode.Diagnostic(fieldRange(doc, p.field), p.message, vscode.DiagnosticSeverity.Error);
      if (d) d.source = 'MechEdit edit file';
      if (d && p?.field) d.code = p.field;
      this.collection.set(doc.uri, d ? [d] : []);
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
