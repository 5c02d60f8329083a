// A sweep root open in a panel (Diagnostics or Lifelong): the panel's openSweep / refreshSweep /
// mergeSweep / closeSweep requests, answered through the engine ('sweep/view', 'sweep/merge':
// core's sweep status and merge; the extension host never reads the folders itself). While a root
// is open, a FileSystemWatcher on everything under it pushes a fresh view (the 'sweep'
// notification), at most one read per second; and while some task has not finished, the root is
// also read every POLL_MS (a root on a network file system, as on a cluster, reports no changes).

import * as vscode from 'vscode';
import type { SweepRequests, SweepView } from '../../protocol/sweep';
import type { EngineService } from '../engine/engineService';

type Handlers = { [M in keyof SweepRequests]: (p: SweepRequests[M]['params']) => Promise<SweepRequests[M]['result']> };

const QUIET_MS = 1000;
const POLL_MS = 5000;

/** The panel's sweep requests, given to its SweepSource (made in the panel's constructor, after the handlers). */
export function sweepHandlers(source: () => SweepSource): Handlers {
  return {
    openSweep: (p) => source().handlers.openSweep(p),
    refreshSweep: (p) => source().handlers.refreshSweep(p),
    mergeSweep: (p) => source().handlers.mergeSweep(p),
    closeSweep: (p) => source().handlers.closeSweep(p),
  };
}

export class SweepSource implements vscode.Disposable {
  private root?: string;
  private watcher?: vscode.FileSystemWatcher;
  private timer?: ReturnType<typeof setTimeout>;
  private poll?: ReturnType<typeof setInterval>;
  /** Changes the watcher reported (tests check that it sees the tasks' writes). */
  watchEvents = 0;

  constructor(private readonly engine: EngineService, private readonly push: (v: SweepView) => void) {}

  readonly handlers: Handlers = {
    openSweep: async ({ root }) => this.open(root),
    refreshSweep: async ({ root }) => this.read(root),
    mergeSweep: async ({ root }) => this.merge(root),
    closeSweep: async ({ root }) => ({ closed: this.close(root) }),
  };

  /** The root shown, or a folder picker when none is given; null when none was picked. */
  async open(root?: string): Promise<SweepView | null> {
    const view = await this.pick(root);
    if (view) this.push(view);
    return view;
  }

  private async pick(root?: string): Promise<SweepView | null> {
    if (!root) {
      const picked = await vscode.window.showOpenDialog({ title: 'MechEdit: open a sweep root (the --root of mechedit sweep: it holds sweep.json)', canSelectFolders: true, canSelectFiles: false, canSelectMany: false });
      if (!picked?.[0]) return null;
      root = picked[0].fsPath;
    }
    const view = await this.read(root);
    this.watch(view.root);
    return view;
  }

  read(root: string): Promise<SweepView> {
    return this.engine.client.request('sweep/view', { root });
  }

  async merge(root: string): Promise<SweepView> {
    const view = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'MechEdit: merging the sweep\'s cells' }, () => this.engine.client.request('sweep/merge', { root }, { timeoutMs: 0 }));
    this.push(view);
    return view;
  }

  private watch(root: string): void {
    if (this.root === root) return;
    this.close(this.root);
    this.root = root;
    const base = vscode.Uri.file(root);
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, '**/*'));
    const changed = () => {
      this.watchEvents++;
      this.schedule();
    };
    this.watcher.onDidCreate(changed);
    this.watcher.onDidChange(changed);
    this.watcher.onDidDelete(changed);
    this.poll = setInterval(() => this.schedule(), POLL_MS);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const root = this.root;
      if (root) this.read(root).then((v) => this.root === root && this.shown(v), () => undefined);
    }, QUIET_MS);
  }

  /** Pushes a view read in the background; once every task has finished, only the watcher reads again. */
  private shown(v: SweepView): void {
    if (v.counts.finished === v.tasks.length && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
    this.push(v);
  }

  close(root: string | undefined): boolean {
    if (!root || root !== this.root) return false;
    this.watcher?.dispose();
    this.watcher = undefined;
    this.root = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    return true;
  }

  dispose(): void {
    this.close(this.root);
  }
}
