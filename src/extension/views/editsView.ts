// The "Edits" view: the edit files of the workspace (.mechedit/edits/*.json) with their state in
// the engine's edit stack. The check box applies / enables (checked) or disables (unchecked) an
// edit — a swap of edit inputs, no session rebuild; the context menu reverts it or sets its
// strength; dragging applied edits onto another reorders the stack (applied edits are listed
// first, in stack order). Kept in sync with a file watcher and the engine. Empty while there are none (the
// welcome content explains).

import * as vscode from 'vscode';
import * as path from 'node:path';
import type { StackItem } from '../../protocol/edits';
import type { EngineService } from '../engine/engineService';

export const EDITS_GLOB = '**/.mechedit/edits/*.json';
export const EDITS_MIME = 'application/vnd.code.tree.mechedit.edits';

export interface EditNode {
  uri: vscode.Uri;
  item?: StackItem;
}

export class EditsView implements vscode.TreeDataProvider<EditNode>, vscode.TreeDragAndDropController<EditNode>, vscode.Disposable {
  readonly dragMimeTypes = [EDITS_MIME];
  readonly dropMimeTypes = [EDITS_MIME];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  readonly tree: vscode.TreeView<EditNode>;

  constructor(private readonly engine: EngineService) {
    const watcher = vscode.workspace.createFileSystemWatcher(EDITS_GLOB);
    this.tree = vscode.window.createTreeView('mechedit.edits', { treeDataProvider: this, manageCheckboxStateManually: true, dragAndDropController: this, canSelectMany: true });
    this.disposables.push(
      this.tree,
      watcher,
      watcher.onDidCreate(() => this.refresh()),
      watcher.onDidDelete(() => this.refresh()),
      watcher.onDidChange(() => this.refresh()),
      engine.onDidChange(() => this.refresh()),
      this.tree.onDidChangeCheckboxState((e) => this.onCheck(e)),
    );
  }

  refresh(): void {
    this.changed.fire();
    const active = this.engine.enabledEdits;
    this.tree.badge = active ? { value: active, tooltip: `${active} edit(s) active` } : undefined;
  }

  getTreeItem(node: EditNode): vscode.TreeItem {
    const t = new vscode.TreeItem(node.item?.label ?? path.basename(node.uri.fsPath, '.json'), vscode.TreeItemCollapsibleState.None);
    t.resourceUri = node.uri;
    const i = node.item;
    t.checkboxState = i?.enabled ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked;
    t.description = i
      ? `${i.enabled ? 'active' : 'disabled'}${i.strength !== 1 ? ` ×${i.strength}` : ''} · ${i.method} · L${[...new Set(i.targets.map((x) => x.layer))].join(',')}`
      : 'not applied';
    t.tooltip = new vscode.MarkdownString(`**${t.label}**\n\n${vscode.workspace.asRelativePath(node.uri)}\n\n${i ? `in the stack: ${i.enabled ? 'active' : 'disabled'}, strength ${i.strength}; targets ${i.targets.map((x) => `${x.layer}:${x.module} (rank ${x.rank})`).join(', ')}` : 'check to apply it to the open model'}`);
    t.command = { title: 'Open', command: 'vscode.open', arguments: [node.uri] };
    t.contextValue = i ? 'mechedit.edit.applied' : 'mechedit.edit';
    return t;
  }

  async getChildren(): Promise<EditNode[]> {
    const files = await vscode.workspace.findFiles(EDITS_GLOB, '**/node_modules/**');
    const byFile = new Map(this.engine.stack.items.filter((i) => i.file).map((i) => [path.resolve(i.file!), i]));
    const order = new Map(this.engine.stack.items.map((i, k) => [i.id, k]));
    const rank = (n: EditNode) => (n.item ? order.get(n.item.id)! : Number.MAX_SAFE_INTEGER);
    return files.map((uri) => ({ uri, item: byFile.get(path.resolve(uri.fsPath)) })).sort((a, b) => rank(a) - rank(b) || a.uri.path.localeCompare(b.uri.path));
  }

  handleDrag(source: readonly EditNode[], data: vscode.DataTransfer): void {
    const ids = source.filter((n) => n.item).map((n) => n.item!.id);
    if (ids.length) data.set(EDITS_MIME, new vscode.DataTransferItem(ids));
  }

  /** Moves the dragged applied edits before the target (or to the end of the stack). */
  async handleDrop(target: EditNode | undefined, data: vscode.DataTransfer): Promise<void> {
    const ids = data.get(EDITS_MIME)?.value as string[] | undefined;
    if (!ids?.length) return;
    const order = this.engine.stack.items.map((i) => i.id).filter((id) => !ids.includes(id));
    const at = target?.item ? order.indexOf(target.item.id) : -1;
    order.splice(at < 0 ? order.length : at, 0, ...ids);
    await this.engine.changeStack('edits/reorder', { ids: order });
    this.refresh();
  }

  private async onCheck(e: vscode.TreeCheckboxChangeEvent<EditNode>): Promise<void> {
    for (const [node, state] of e.items) {
      const on = state === vscode.TreeItemCheckboxState.Checked;
      if (!node.item) {
        if (on) await this.engine.changeStack('edits/apply', { file: node.uri.fsPath });
      } else {
        await this.engine.changeStack('edits/setEnabled', { id: node.item.id, enabled: on });
      }
    }
    this.refresh();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
