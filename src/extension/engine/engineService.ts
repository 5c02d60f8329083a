// The VS Code side of the engine: builds the EngineClient from settings, logs to the MechEdit
// output channel, shows crashes with their reason and a way out, and re-configures the engine
// when settings change (restarting the process when its environment changes).
//
// The model: `model` is what the engine has open. Opening another folder that fails leaves the
// engine — and so `model` and the edit stack — as they were; modelError/modelErrorPath say what
// failed (status bar, Model view). Opening another folder that succeeds drops the previous
// model's edits: the user is told which, with a way to reapply them.
// The applied stack is saved in workspaceState (savedStack.ts) on every change, and put back on
// the same model after a window reload or an engine restart; edits that fail to re-apply are
// reported by name.

import * as vscode from 'vscode';
import * as path from 'node:path';
import type { EngineInfo } from '../../protocol/engine';
import type { ModelInfo } from '../../protocol/model';
import type { StackState } from '../../protocol/edits';
import type { EngineMethod, ParamsOf } from '../../protocol/engine';
import { formatError } from '../../protocol/errors';
import type { EngineStateSnapshot } from '../../protocol/panels';
import { affectsEngineProcess, readSettings } from '../settings';
import { EngineClient, EngineError } from './client';
import { RegistryCache } from './registry';
import { SAVED_STACK_KEY, samePath, savedEdits, savedFor, toSaved, type SavedEdit } from './savedStack';

export class EngineService implements vscode.Disposable {
  readonly client: EngineClient;
  /** The engine's method registry, fetched when it starts (and restarts); every method list of the extension comes from it. */
  readonly registry: RegistryCache;
  private info: EngineInfo | undefined;
  private readonly changed = new vscode.EventEmitter<EngineStateSnapshot>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  lastSelfTest: EngineStateSnapshot['lastSelfTest'];
  model: ModelInfo | undefined;
  modelError: string | undefined;
  /** The folder whose opening failed (modelError's). */
  modelErrorPath: string | undefined;
  /** The engine's edit stack for the open model (empty when none is open). */
  stack: StackState = { items: [] };
  /** The default layer of the edit commands, per model path (picked from a causal trace). */
  private readonly editLayers = new Map<string, number>();
  private opening: Promise<ModelInfo | undefined> | undefined;
  /** While edits are being re-applied, the partial stack is not saved over the full one. */
  private restoring = false;
  /** The edits of the previous model, dropped when another model opened (offered for reapplying). */
  dropped: SavedEdit[] = [];
  /** What the last restore of a saved stack did (reload or engine restart): for the tests and the log. */
  lastRestore: { restored: number; failed: { edit: SavedEdit; error: string }[] } | undefined;
  private readonly workspaceState: vscode.Memento;
  /** The model the engine had when its process stopped (its stack is re-applied on reopening). */
  private restartedPath: string | undefined;
  /** The context keys last set (mechedit.modelLoaded, mechedit.editsApplied). */
  private readonly contextKeys = new Map<string, boolean>();

  constructor(context: vscode.ExtensionContext, readonly output: vscode.LogOutputChannel) {
    this.workspaceState = context.workspaceState;
    const s = readSettings();
    this.client = new EngineClient({
      enginePath: path.join(context.extensionPath, 'dist', 'engine.js'),
      config: s.engine,
      env: s.env,
      libraryPath: s.libraryPath,
      log: (line) => output.info(line),
    });
    this.registry = new RegistryCache(this.client);
    const registrySub = this.registry.onDidChange(() => this.fire());
    const sub = this.client.onStateChange((status, reason) => {
      if (status === 'crashed' && reason) {
        void vscode.window.showErrorMessage(`MechEdit: ${reason}`, 'Restart Engine', 'Show Log').then((pick) => {
          if (pick === 'Restart Engine') void vscode.commands.executeCommand('mechedit.restartEngine');
          if (pick === 'Show Log') output.show();
        });
      }
      if (status !== 'running') {
        this.info = undefined;
        // The engine's state went with its process; its edits are put back when it reopens the model.
        if (this.model) this.restartedPath = this.model.path;
        this.model = undefined;
      }
      this.fire();
      if (status === 'running') void this.refreshInfo().then(() => this.ensureModel(), () => undefined);
    });
    this.disposables.push({ dispose: () => sub.dispose() }, registrySub, this.registry, vscode.workspace.onDidChangeConfiguration((e) => this.onSettings(e)));
  }

  /** What the panels show of the open model (their 'context' notifications). */
  get modelBrief(): { path: string; layers: number; architecture: string } | undefined {
    const m = this.model;
    return m ? { path: m.path, layers: m.layers, architecture: m.architecture } : undefined;
  }

  /** The number of enabled edits in the stack. */
  get enabledEdits(): number {
    return this.stack.items.filter((e) => e.enabled).length;
  }

  /** The edit layer picked for the open model (Causal Tracing panel), if any. */
  get editLayer(): number | undefined {
    return this.model ? this.editLayers.get(this.model.path) : undefined;
  }

  set editLayer(layer: number | undefined) {
    if (!this.model) return;
    if (layer === undefined) this.editLayers.delete(this.model.path);
    else this.editLayers.set(this.model.path, layer);
    this.fire();
  }

  snapshot(): EngineStateSnapshot {
    return {
      status: this.client.state, info: this.info, lastCrash: this.client.lastCrash, restarts: this.client.restarts,
      lastSelfTest: this.lastSelfTest, model: this.model, modelError: this.modelError, modelErrorPath: this.modelErrorPath,
    };
  }

  /**
   * Opens the configured model in the engine unless it is open already. When opening it failed
   * (shown once) and the engine still holds the previous model, that model is what is loaded and
   * is returned, without trying again (retryModel() tries again).
   */
  ensureModel(): Promise<ModelInfo | undefined> {
    const path = readSettings().modelPath;
    if (!path) return Promise.resolve(undefined);
    if (this.model && samePath(this.model.path, path)) return Promise.resolve(this.model);
    if (this.model && samePath(this.modelErrorPath, path)) return Promise.resolve(this.model);
    this.opening ??= this.openModel(path).finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Tries the configured model again after a failed open (e.g. once the folder was fixed). */
  retryModel(): Promise<ModelInfo | undefined> {
    this.modelErrorPath = undefined;
    return this.ensureModel();
  }

  /** The open model, opening the configured one if needed; tells the user when there is none. */
  async requireModel(): Promise<ModelInfo | undefined> {
    const model = await this.ensureModel();
    if (!model && !this.modelError) {
      const pick = await vscode.window.showWarningMessage('MechEdit: no model is configured.', 'Open Model Folder…');
      if (pick) await vscode.commands.executeCommand('mechedit.openModel');
      return this.ensureModel();
    }
    return model;
  }

  /**
   * Changes the edit stack (edits/apply, revert, setEnabled, scale, reorder, revertAll) and keeps
   * the view's copy; errors are shown and leave the stack as it was.
   */
  async changeStack<M extends EngineMethod & `edits/${string}`>(method: M, params: ParamsOf<M>): Promise<StackState | undefined> {
    if (!(await this.requireModel())) return undefined;
    try {
      this.stack = (await this.client.request(method, params)) as StackState;
      this.fire();
      return this.stack;
    } catch (err) {
      return this.report(err, 'Changing the edits');
    }
  }

  /**
   * Re-applies saved edits in order, with their strength and enabled flag, on top of the current
   * stack. Returns the ones that failed (or had no file), each with why.
   */
  async reapply(items: readonly SavedEdit[]): Promise<{ edit: SavedEdit; error: string }[]> {
    const failed: { edit: SavedEdit; error: string }[] = [];
    this.restoring = true;
    try {
      for (const edit of items) {
        if (!edit.file) {
          failed.push({ edit, error: 'it has no edit file' });
          continue;
        }
        try {
          const before = new Set(this.stack.items.map((i) => i.id));
          this.stack = await this.client.request('edits/apply', { file: edit.file, strength: edit.strength });
          const added = this.stack.items.find((i) => !before.has(i.id));
          if (!edit.enabled && added) this.stack = await this.client.request('edits/setEnabled', { id: added.id, enabled: false });
        } catch (err) {
          failed.push({ edit, error: err instanceof EngineError ? formatError(err.data) : err instanceof Error ? err.message : String(err) });
        }
      }
    } finally {
      this.restoring = false;
      this.fire();
    }
    return failed;
  }

  /** Tells the user about edits that could not be re-applied (by name, with why). */
  private reportUnrestored(failed: { edit: SavedEdit; error: string }[], total: number, when: string): void {
    if (!failed.length) return;
    const list = failed.map((f) => `${f.edit.label} (${f.error})`).join('; ');
    this.output.warn(`[client] ${when}: could not re-apply ${failed.length} of ${total} edits: ${list}`);
    void vscode.window.showWarningMessage(`MechEdit: ${when}, ${failed.length} of ${total} applied edits could not be re-applied: ${list}`, 'Show Edits').then((pick) => {
      if (pick) void vscode.commands.executeCommand('mechedit.edits.focus');
    });
  }

  /**
   * After the model opened: the edits to put back. The in-memory stack when the same model was
   * reopened (engine restart); else the stack saved in the workspace for this folder (window
   * reload). When another model replaced one with edits, those are dropped and the user is told.
   */
  private async restoreStack(opened: ModelInfo, previousPath: string | undefined): Promise<void> {
    const previous = savedEdits(this.stack.items);
    this.stack = { items: [] };
    if (previousPath !== undefined && !samePath(previousPath, opened.path)) {
      if (previous.length) this.announceDropped(previous, previousPath, opened.path);
      this.fire();
      return;
    }
    const fromWorkspace = previousPath === undefined && previous.length === 0;
    const items = fromWorkspace ? savedFor(this.workspaceState.get(SAVED_STACK_KEY), opened.path) : previous;
    if (!items.length) return;
    const failed = await this.reapply(items);
    const restored = items.length - failed.length;
    this.lastRestore = { restored, failed };
    if (fromWorkspace && restored) void vscode.window.setStatusBarMessage(`MechEdit: restored ${restored} applied edit${restored > 1 ? 's' : ''} from the last session`, 8000);
    this.reportUnrestored(failed, items.length, fromWorkspace ? 'Restoring the last session\'s edits' : 'Reopening the model');
  }

  /** The previous model's edits went with it: say which, and offer to reapply them to this one. */
  private announceDropped(items: SavedEdit[], from: string, to: string): void {
    this.dropped = items;
    const names = items.map((i) => i.label).join(', ');
    void vscode.window.showWarningMessage(
      `MechEdit: opened ${path.basename(to)}. The ${items.length} edit${items.length > 1 ? 's' : ''} applied to ${path.basename(from)} were dropped (edits belong to the model they were made for): ${names}.`,
      'Reapply to this model', 'Show Edits',
    ).then(async (pick) => {
      if (pick === 'Show Edits') void vscode.commands.executeCommand('mechedit.edits.focus');
      if (pick === 'Reapply to this model') await this.reapplyDropped();
    });
  }

  /** Reapplies the edits dropped when the model changed; reports the ones that fail. */
  async reapplyDropped(): Promise<{ edit: SavedEdit; error: string }[]> {
    const items = this.dropped;
    const failed = await this.reapply(items);
    this.dropped = failed.map((f) => f.edit); // the ones that failed stay offered
    this.reportUnrestored(failed, items.length, 'Reapplying the previous model\'s edits');
    return failed;
  }

  private async openModel(target: string): Promise<ModelInfo | undefined> {
    const previousPath = this.model?.path;
    try {
      const opened = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'MechEdit: opening model' },
        () => this.client.request('model/open', { path: target }),
      );
      this.model = opened;
      this.modelError = undefined;
      this.modelErrorPath = undefined;
      this.output.info(`[client] model open: ${opened.architecture}, ${opened.layers} layers, d_model ${opened.dModel} on ${opened.executionProvider}`);
      await this.restoreStack(opened, previousPath ?? this.restartedPath);
      this.restartedPath = undefined;
      return this.model;
    } catch (err) {
      // The engine keeps the model it had (and its edits): so does this side.
      this.modelError = err instanceof EngineError ? formatError(err.data) : String(err);
      this.modelErrorPath = target;
      const kept = this.model ? ` ${path.basename(this.model.path)} stays loaded${this.stack.items.length ? ` with its ${this.stack.items.length} applied edit${this.stack.items.length > 1 ? 's' : ''}` : ''}.` : ' No model is loaded.';
      this.report(err, `Opening ${target}`, kept);
      return undefined;
    } finally {
      this.fire();
    }
  }

  async refreshInfo(): Promise<EngineInfo> {
    this.info = await this.client.request('engine/info', {});
    this.fire();
    return this.info;
  }

  async restart(): Promise<EngineInfo> {
    await this.client.restart();
    return this.refreshInfo();
  }

  /**
   * Shows an engine error to the user with its hint (and `after`, what it means for the user's
   * state); a cancelled request says "Cancelled". Returns undefined so callers can stop.
   */
  report(err: unknown, action: string, after = ''): undefined {
    if (err instanceof EngineError) {
      if (err.data.code === 'cancelled') {
        void vscode.window.showInformationMessage(`MechEdit: ${action}: cancelled.`);
        return undefined;
      }
      void vscode.window.showErrorMessage(`MechEdit: ${action} failed: ${formatError(err.data)}${after}`);
      if (err.data.detail) this.output.error(err.data.detail);
    } else {
      void vscode.window.showErrorMessage(`MechEdit: ${action} failed: ${err instanceof Error ? err.message : String(err)}${after}`);
    }
    return undefined;
  }

  /** Announces a change (views, status bar, panels) and saves the applied stack for a reload. */
  fire(): void {
    if (this.model && !this.restoring) {
      const saved = toSaved(this.model.path, this.stack.items);
      if (JSON.stringify(saved) !== JSON.stringify(this.workspaceState.get(SAVED_STACK_KEY))) void this.workspaceState.update(SAVED_STACK_KEY, saved);
    }
    // Context keys for the `when` clauses of package.json (command palette, menus).
    const keys = { 'mechedit.modelLoaded': !!this.model, 'mechedit.editsApplied': this.stack.items.length > 0 };
    for (const [key, value] of Object.entries(keys)) {
      if (this.contextKeys.get(key) === value) continue;
      this.contextKeys.set(key, value);
      void vscode.commands.executeCommand('setContext', key, value);
    }
    this.changed.fire(this.snapshot());
  }

  private async onSettings(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration('mechedit')) return;
    const s = readSettings();
    if (e.affectsConfiguration('mechedit.modelPath') || e.affectsConfiguration('mechedit.openDefaultModel')) {
      // The open model stays what is loaded until the new one opens (openModel drops its edits
      // then, and says so); if the new one fails, it stays loaded with its edits.
      this.modelError = undefined;
      this.modelErrorPath = undefined;
      if (s.modelPath) void this.ensureModel();
      else if (this.model) await this.closeModel();
      this.fire();
    }
    try {
      if (affectsEngineProcess(e)) {
        this.output.info('[client] engine environment changed: restarting the engine');
        this.client.setEnvironment(s.env, s.libraryPath);
        await this.client.configure(s.engine);
        if (this.client.state === 'running') await this.restart();
      } else {
        await this.client.configure(s.engine);
        if (this.client.state === 'running') {
          await this.refreshInfo();
          this.model = (await this.client.request('model/info', {})) ?? undefined;
          this.fire();
        }
      }
    } catch (err) {
      this.report(err, 'Applying the settings');
    }
  }

  /** No model configured any more: close the open one; its edits are dropped, and the user told. */
  private async closeModel(): Promise<void> {
    const was = this.model;
    const items = savedEdits(this.stack.items);
    if (this.client.state === 'running') await this.client.request('model/close', {}).catch(() => undefined);
    this.model = undefined;
    this.stack = { items: [] };
    if (was && items.length) {
      this.dropped = items;
      void vscode.window.showWarningMessage(`MechEdit: no model is configured, so ${path.basename(was.path)} was closed. Its ${items.length} applied edit${items.length > 1 ? 's were' : ' was'} dropped: ${items.map((i) => i.label).join(', ')}. Once a model is open, check them in the Edits view to apply them again.`);
    }
  }

  dispose(): void {
    this.client.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
