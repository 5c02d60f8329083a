// The "Edits" view: the edit files of the workspace (.mechedit/edits/*.json) with their state in
// the engine's edit stack. The check box applies / enables (checked) or disables (unchecked) an
// edit — a swap of edit inputs, no session rebuild; the context menu reverts it or sets its
// strength; dragging applied edits onto another reorders the stack (applied edits are listed
// first, in stack order, wherever their files live: editRows.ts). Every row shows the edit's label
// (an unapplied or reverted edit's from its file), its id in the tooltip. Broken, failed and
// unhealthy files are marked with an icon and the reason first in the tooltip (a broken file has
// no check box; ticking a failed or unhealthy one asks first); the title bar's filter hides
// failed edits (the choice is kept per workspace). Kept in sync with a file watcher
// and the engine. The workspace's edit files are scanned in the background and kept, so that the
// rows are answered at once from the stack and that list: a view shown while a scan runs never
// shows the welcome content over applied edits. Empty while there are none (the welcome content
// explains).

import * as vscode from 'vscode';
import * as path from 'node:path';
import type { StackItem } from '../../protocol/edits';
import type { EngineService } from '../engine/engineService';
import * as fs from 'node:fs';
import { editRows, fileInfoOf, withoutFailed, type FileInfo, type HeldBack } from './editRows';
import { subgraphMarkdown } from './subgraphTable';
import { editFilePreset, presetWords } from '../presets';

export const EDITS_GLOB = '**/.mechedit/edits/*.json';
export const EDITS_MIME = 'application/vnd.code.tree.mechedit.edits';

/** A row: an applied edit (item; uri when it has a file) or a workspace edit file not applied (uri). */
export interface EditNode {
  uri?: vscode.Uri;
  item?: StackItem;
}

/** The context key set while the filter hides failed edits (package.json's title-bar toggle reads it). */
export const HIDING_FAILED = 'mechedit.edits.hidingFailed';

/** An unapplied edit file's label, id and mark (broken / failed / unhealthy), from its text; a file that cannot be read is broken. */
function fileInfo(file: string): FileInfo {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { held: { kind: 'broken', reason: `broken: the file cannot be read (${(err as Error).message})` } };
  }
  return fileInfoOf(text);
}

const MARK_ICONS: Record<HeldBack['kind'], [string, string]> = {
  broken: ['error', 'problemsErrorIcon.foreground'],
  failed: ['error', 'problemsErrorIcon.foreground'],
  unhealthy: ['warning', 'problemsWarningIcon.foreground'],
};
const MARK_WORDS: Record<HeldBack['kind'], string> = { broken: 'broken', failed: 'did not take', unhealthy: 'unhealthy' };

export class EditsView implements vscode.TreeDataProvider<EditNode>, vscode.TreeDragAndDropController<EditNode>, vscode.Disposable {
  readonly dragMimeTypes = [EDITS_MIME];
  readonly dropMimeTypes = [EDITS_MIME];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  readonly tree: vscode.TreeView<EditNode>;
  /** The workspace's edit files as last scanned; `scans` orders overlapping scans (the latest wins). */
  private files: string[] = [];
  private scans = 0;
  /** Whether failed edit files are hidden (the title bar's filter). */
  private hidingFailed: boolean;

  constructor(private readonly engine: EngineService, private readonly state?: vscode.Memento) {
    this.hidingFailed = state?.get<boolean>(HIDING_FAILED) ?? false;
    void vscode.commands.executeCommand('setContext', HIDING_FAILED, this.hidingFailed);
    const watcher = vscode.workspace.createFileSystemWatcher(EDITS_GLOB);
    this.tree = vscode.window.createTreeView('mechedit.edits', { treeDataProvider: this, manageCheckboxStateManually: true, dragAndDropController: this, canSelectMany: true });
    this.disposables.push(
      this.tree,
      watcher,
      watcher.onDidCreate(() => void this.refresh()),
      watcher.onDidDelete(() => void this.refresh()),
      watcher.onDidChange(() => void this.refresh()),
      // Edit files are written when edits are made, and file events can lag (or not come, for
      // watcher-excluded folders): scan again on every change of the stack and when shown.
      engine.onDidChange(() => {
        this.update();
        void this.refresh();
      }),
      this.tree.onDidChangeVisibility((e) => e.visible && void this.refresh()),
      this.tree.onDidChangeCheckboxState((e) => this.onCheck(e)),
      // The title bar's filter: one command shows while the other's state holds (package.json).
      vscode.commands.registerCommand('mechedit.hideFailedEdits', () => this.setHidingFailed(true)),
      vscode.commands.registerCommand('mechedit.showFailedEdits', () => this.setHidingFailed(false)),
    );
    void this.refresh();
  }

  /** Scans the workspace's edit files again, then redraws. */
  async refresh(): Promise<void> {
    const scan = ++this.scans;
    const found = await vscode.workspace.findFiles(EDITS_GLOB, '**/node_modules/**');
    if (scan !== this.scans) return;
    this.files = found.map((u) => u.fsPath);
    this.update();
  }

  /** Hides (true) or shows failed edit files; the choice is kept in the workspace's state. */
  async setHidingFailed(on: boolean): Promise<void> {
    this.hidingFailed = on;
    await this.state?.update(HIDING_FAILED, on);
    await vscode.commands.executeCommand('setContext', HIDING_FAILED, on);
    this.update();
  }

  get isHidingFailed(): boolean {
    return this.hidingFailed;
  }

  /** Redraws from the engine's stack and the files as last scanned. */
  private update(): void {
    this.changed.fire();
    const active = this.engine.enabledEdits;
    this.tree.badge = active ? { value: active, tooltip: `${active} edit(s) active` } : undefined;
  }

  getTreeItem(node: EditNode): vscode.TreeItem {
    const i = node.item;
    // An unapplied file shows its label too (its id is in the tooltip), as an applied edit does.
    // An applied edit's file is read too: an edit applied anyway keeps its mark.
    const info = node.uri ? fileInfo(node.uri.fsPath) : {};
    const id = i?.id ?? info.id ?? path.basename(node.uri?.fsPath ?? '', '.json');
    const t = new vscode.TreeItem(i?.label ?? info.label ?? id, vscode.TreeItemCollapsibleState.None);
    t.resourceUri = node.uri;
    const held = info.held;
    // A broken file cannot be applied: no check box (its row offers Reveal and Delete).
    if (i || held?.kind !== 'broken') t.checkboxState = i?.enabled ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked;
    // The preset the edit used, from its file (an older file records none: nothing is shown).
    const preset = node.uri ? editFilePreset(node.uri.fsPath) : undefined;
    t.description = i
      ? `${i.enabled ? 'active' : 'disabled'}${i.strength !== 1 ? ` ×${i.strength}` : ''} · ${i.method}${preset ? ` (${preset})` : ''} · L${[...new Set(i.targets.map((x) => x.layer))].join(',')}`
      : `not applied${preset ? ` · ${presetWords(preset)}` : ''}`;
    const where = node.uri ? vscode.workspace.asRelativePath(node.uri) : 'no file (it cannot be re-applied after a reload)';
    // An edit file that records the knowledge subgraph it was computed from shows it.
    const subgraph = node.uri ? subgraphMarkdown(node.uri.fsPath) : '';
    // A broken, failed or unhealthy edit (applied anyway or not): an icon, the reason first, and
    // (for an unapplied one that is not broken) Apply Anyway on its row.
    if (held) {
      const [icon, colour] = MARK_ICONS[held.kind];
      t.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(colour));
      t.description = `${MARK_WORDS[held.kind]} · ${t.description as string}`;
    }
    const next = i ? 'applied anyway' : held?.kind === 'broken' ? 'not applied; fix the file (its error is in Problems) or delete it' : 'not applied; *Apply Anyway* on its row';
    t.tooltip = new vscode.MarkdownString(`${held ? `**${held.reason}** (${next})\n\n` : ''}**${t.label}**\n\nid \`${id}\` · ${where}${preset ? `\n\n${presetWords(preset)}` : ''}\n\n${i ? `in the stack: ${i.enabled ? 'active' : 'disabled'}, strength ${i.strength}; targets ${i.targets.map((x) => `${x.layer}:${x.module} (rank ${x.rank})`).join(', ')}` : held?.kind === 'broken' ? 'MechEdit cannot apply it as it is' : 'check to apply it to the open model'}${subgraph ? `\n\n${subgraph}` : ''}`);
    if (node.uri) t.command = { title: 'Open', command: 'vscode.open', arguments: [node.uri] };
    t.contextValue = i ? 'mechedit.edit.applied' : held?.kind === 'broken' ? 'mechedit.edit.broken' : held ? 'mechedit.edit.heldBack' : 'mechedit.edit';
    return t;
  }

  /** Applied edits in stack order (their files wherever they are), then the workspace's other edit files (less failed ones while the filter hides them). */
  getChildren(): EditNode[] {
    const all = editRows(this.engine.stack.items, this.files);
    const { rows, hidden } = this.hidingFailed ? withoutFailed(all, (f) => fileInfo(f).held) : { rows: all, hidden: 0 };
    this.tree.message = hidden ? `${hidden} failed edit(s) hidden by the filter (Show Failed Edits in the title bar).` : undefined;
    return rows.map((r) => ({ uri: r.file ? vscode.Uri.file(r.file) : undefined, item: r.item }));
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
    this.update();
  }

  private async onCheck(e: vscode.TreeCheckboxChangeEvent<EditNode>): Promise<void> {
    for (const [node, state] of e.items) {
      const on = state === vscode.TreeItemCheckboxState.Checked;
      if (!node.item) {
        if (on && node.uri && (await this.confirmHeldBack(node.uri))) await this.engine.changeStack('edits/apply', { file: node.uri.fsPath });
      } else {
        await this.engine.changeStack('edits/setEnabled', { id: node.item.id, enabled: on });
      }
    }
    this.update();
  }

  /** A failed or unhealthy file is applied from its check box only once the user agrees, the reason shown first. */
  private async confirmHeldBack(uri: vscode.Uri): Promise<boolean> {
    const held = fileInfo(uri.fsPath).held;
    if (!held) return true;
    const pick = await vscode.window.showWarningMessage(`${held.reason}. Apply ${path.basename(uri.fsPath)} anyway?`, { modal: true }, 'Apply Anyway');
    return pick === 'Apply Anyway';
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
