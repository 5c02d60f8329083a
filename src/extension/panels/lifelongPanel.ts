// The Lifelong editing panel: the curves of sequential-editing runs — efficacy, paraphrase,
// specificity and the general skills against the number of edits, one line per method — drawn
// live as a session of *MechEdit: Lifelong Editing…* goes (lifelong.ts), or read from a run folder
// on disk (curve.jsonl; read again when it changes, and by Reload). The host keeps the session's
// complete snapshot and sends all of it on every change (never a delta).

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LifelongContext, LifelongPanel as Protocol, LifelongPoint, LifelongRunSnapshot, LifelongSession } from '../../protocol/lifelong';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { saveFile } from '../webview/save';
import { readSessionFolder } from '../lifelongFolder';
import { factEditors, methodChoice } from '../../protocol/registry';
import { sequentialTakesPreset } from '../presets';
import { SweepSource, sweepHandlers } from './sweepSource';
import { estimateStart, pacesFor } from '../lifelongPace';
import { labelOf } from '../../protocol/registry';

/** A start estimated above this many seconds is confirmed first (the estimate from this machine's measured pace). */
export const CONFIRM_ABOVE_SECONDS = 180;

export const LIFELONG_PANEL: PanelDescriptor = { viewType: 'mechedit.lifelong', title: 'MechEdit Lifelong Editing', bundle: 'lifelong' };

/**
 * The session the panel shows (one at a time): runs started here, one method after another, or a
 * folder read from disk. It outlives the panel: closing the panel does not stop a run (its
 * progress notification still has Cancel), and the panel opened again shows where it is.
 */
export class LifelongRuns implements vscode.Disposable {
  session: LifelongSession | undefined;
  private cancelFn: (() => void) | undefined;
  private watcher: vscode.Disposable | undefined;
  private readonly changed = new vscode.EventEmitter<LifelongSession>();
  readonly onDidChange = this.changed.event;

  /** `methods`: the ids a run folder's method may be, in the panel's order (undefined while the registry is unknown). */
  constructor(private readonly methods: () => readonly string[] | undefined) {}

  get running(): boolean {
    return !!this.session?.runs.some((r) => r.status === 'running' || r.status === 'queued');
  }

  /** A new session: its runs queued, `cancel` behind the Cancel button. */
  begin(session: LifelongSession, cancel: () => void): void {
    this.watch(undefined);
    this.cancelFn = cancel;
    this.send(session);
  }

  /** Cancels the run in progress and the queued ones; false when nothing runs. */
  cancel(): boolean {
    const cancel = this.running ? this.cancelFn : undefined;
    cancel?.();
    return !!cancel;
  }

  /** Changes run `i` of the session. */
  patch(i: number, change: Partial<LifelongRunSnapshot>): void {
    const s = this.session;
    if (!s?.runs[i]) return;
    this.send({ ...s, runs: s.runs.map((r, j) => (j === i ? { ...r, ...change } : r)) });
  }

  /** A measured point of run `i` (replacing one at the same number of edits: a resumed run measures again). */
  point(i: number, p: LifelongPoint): void {
    const r = this.session?.runs[i];
    if (!r) return;
    this.patch(i, { points: [...r.points.filter((x) => x.edits !== p.edits), p].sort((a, b) => a.edits - b.edits) });
  }

  /** The session over: nothing left to cancel. */
  end(): void {
    this.cancelFn = undefined;
  }

  /**
   * Shows a session or run folder from disk (an error in the snapshot when it cannot be read), and
   * shows it again whenever one of its curve.jsonl files changes (a `mechedit sequential` run in a
   * terminal draws live too).
   */
  load(folder: string): LifelongSession {
    this.watch(folder);
    return this.read(folder);
  }

  private read(folder: string): LifelongSession {
    let session: LifelongSession;
    try {
      session = { folder, source: 'folder', runs: readSessionFolder(folder, this.methods()) };
    } catch (e) {
      session = { folder, source: 'folder', runs: [], error: (e as Error).message };
    }
    this.cancelFn = undefined;
    this.send(session);
    return session;
  }

  private watch(folder: string | undefined): void {
    this.watcher?.dispose();
    this.watcher = undefined;
    if (!folder) return;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(folder), '**/curve.jsonl'));
    let timer: NodeJS.Timeout | undefined;
    const again = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.session?.source === 'folder' && this.session.folder === folder && this.read(folder), 300);
    };
    watcher.onDidChange(again);
    watcher.onDidCreate(again);
    this.watcher = { dispose: () => (clearTimeout(timer), watcher.dispose()) };
  }

  private send(session: LifelongSession): void {
    this.session = session;
    this.changed.fire(session);
  }

  dispose(): void {
    this.watch(undefined);
    this.changed.dispose();
  }
}

export class LifelongPanelHost extends PanelHost<Protocol> {
  protected readonly handlers: RequestHandlers<Protocol> = {
    start: async (p) => {
      if (this.runs.running) throw new Error('A lifelong-editing session is running: cancel it or wait for it first.');
      const model = this.engine.model?.path;
      const r = this.engine.registry.current;
      const estimate = model ? estimateStart(p, pacesFor(this.pace, model), (m) => (r ? labelOf(r, m) : m)) : undefined;
      if (estimate && estimate.seconds > CONFIRM_ABOVE_SECONDS) {
        const go = await vscode.window.showWarningMessage(`MechEdit: this lifelong-editing session will take ${estimate.text}.`, { modal: true }, 'Start');
        if (go !== 'Start') return { started: false };
      }
      const started = this.start(p);
      // The session runs on; the request answers once it has its folder (or failed to start).
      const folder = await Promise.race([started.folder, started.done.then(() => undefined)]);
      started.done.catch(() => undefined);
      return { started: !!folder, folder };
    },
    cancel: async () => ({ cancelled: this.runs.cancel() }),
    open: async ({ folder }) => {
      if (this.runs.running) throw new Error('A lifelong-editing session is running: cancel it or wait for it first.');
      const ws = vscode.workspace.workspaceFolders?.[0]?.uri;
      const picked = folder ?? (await vscode.window.showOpenDialog({
        title: 'A sequential-editing run folder (curve.jsonl, run.json) or a session folder of them',
        canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Show its curves',
        defaultUri: ws ? vscode.Uri.joinPath(ws, '.mechedit', 'lifelong') : undefined,
      }))?.[0]?.fsPath;
      if (!picked) return { opened: false };
      const s = this.runs.load(path.resolve(picked));
      return { opened: !s.error, folder: s.folder };
    },
    reload: async () => {
      const folder = this.runs.session?.folder;
      if (!folder || this.runs.running) return { reloaded: false };
      return { reloaded: !this.runs.load(folder).error };
    },
    save: saveFile,
    ...sweepHandlers(() => this.sweeps),
  };

  /** The sweep root open here (sweepSource.ts): a sequential sweep's cells' curves on one chart. */
  readonly sweeps: SweepSource;

  constructor(
    panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly engine: EngineService,
    readonly runs: LifelongRuns,
    private readonly start: (p: Protocol['requests']['start']['params']) => { folder: Promise<string | undefined>; done: Promise<unknown> },
    /** Where each run's seconds per request are remembered (lifelongPace.ts). */
    private readonly pace: vscode.Memento,
  ) {
    super(panel, extensionUri, LIFELONG_PANEL);
    this.sweeps = new SweepSource(engine, (v) => this.notify('sweep', v));
    this.disposables.push(
      this.sweeps,
      runs.onDidChange((s) => {
        this.notify('session', s);
        this.notify('context', this.context());
      }),
      engine.onDidChange(() => this.notify('context', this.context())),
    );
  }

  private context(): LifelongContext {
    const r = this.engine.registry.current;
    const methods = r ? factEditors(r, 'sequential').map(methodChoice) : [];
    const model = this.engine.model?.path;
    const pace = model ? pacesFor(this.pace, model) : {};
    return { model: this.engine.modelBrief, running: this.runs.running, methods, presetsTaken: !!r && sequentialTakesPreset(r), pace };
  }

  protected onReady(): void {
    this.notify('context', this.context());
    if (this.runs.session) this.notify('session', this.runs.session);
  }
}
