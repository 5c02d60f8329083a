// The "Edits" view: the edit files of the workspace (.mechedit/edits/*.json), kept in sync with a
// file watcher. Selecting one opens it; empty while there are none (welcome content explains).

import * as vscode from 'vscode';

export const EDITS_GLOB = '**/.mechedit/edits/*.json';

export class EditsView implements vscode.TreeDataProvider<vscode.Uri>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher(EDITS_GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidCreate(() => this.refresh()),
      watcher.onDidDelete(() => this.refresh()),
      watcher.onDidChange(() => this.refresh()),
    );
  }

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(uri: vscode.Uri): vscode.TreeItem {
    const item = new vscode.TreeItem(uri, vscode.TreeItemCollapsibleState.None);
    item.description = vscode.workspace.asRelativePath(uri, false).replace(/[^/]*$/, '');
    item.command = { title: 'Open', command: 'vscode.open', arguments: [uri] };
    item.contextValue = 'mechedit.editFile';
    return item;
  }

  async getChildren(): Promise<vscode.Uri[]> {
    const files = await vscode.workspace.findFiles(EDITS_GLOB, '**/node_modules/**');
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
