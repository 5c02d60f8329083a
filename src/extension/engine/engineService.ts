// The VS Code side of the engine: builds the EngineClient from settings, logs to the MechEdit
// output channel, shows crashes with their reason and a way out, and re-configures the engine
// when settings change (restarting the process when its environment changes).

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

export class EngineService implements vscode.Disposable {
  readonly client: EngineClient;
  private info: EngineInfo | undefined;
  private readonly changed = new vscode.EventEmitter<EngineStateSnapshot>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  lastSelfTest: EngineStateSnapshot['lastSelfTest'];
  model: ModelInfo | undefined;
  modelError: string | undefined;
  /** The engine's edit stack for the open model (empty when none is open). */
  stack: StackState = { items: [] };
  /** The default layer of the edit commands, per model path (picked from a causal trace). */
  private readonly editLayers = new Map<string, number>();
  private opening: Promise<ModelInfo | undefined> | undefined;

  constructor(context: vscode.ExtensionContext, readonly output: vscode.LogOutputChannel) {
    const s = readSettings();
    this.client = new EngineClient({
      enginePath: path.join(context.extensionPath, 'dist', 'engine.js'),
      config: s.engine,
      env: s.env,
      libraryPath: s.libraryPath,
      log: (line) => output.info(line),
    });
    const sub = this.client.onStateChange((status, reason) => {
      if (status === 'crashed' && reason) {
        void vscode.window.showErrorMessage(`MechEdit: ${reason}`, 'Restart Engine', 'Show Log').then((pick) => {
          if (pick === 'Restart Engine') void vscode.commands.executeCommand('mechedit.restartEngine');
          if (pick === 'Show Log') output.show();
        });
      }
      if (status !== 'running') {
        this.info = undefined;
        this.model = undefined; // the engine's state went with its process
      }
      this.fire();
      if (status === 'running') void this.refreshInfo().then(() => this.ensureModel(), () => undefined);
    });
    this.disposables.push({ dispose: () => sub.dispose() }, vscode.workspace.onDidChangeConfiguration((e) => this.onSettings(e)));
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
      lastSelfTest: this.lastSelfTest, model: this.model, modelError: this.modelError,
    };
  }

  /** Opens the configured model in the engine unless it is open already; errors are shown once. */
  ensureModel(): Promise<ModelInfo | undefined> {
    const path = readSettings().modelPath;
    if (!path) return Promise.resolve(undefined);
    if (this.model && this.model.path === path) return Promise.resolve(this.model);
    this.opening ??= this.openModel(path).finally(() => (this.opening = undefined));
    return this.opening;
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

  /** After the engine restarted (or the model was reopened), puts the applied edits back. */
  private async restoreStack(): Promise<void> {
    const previous = this.stack.items.filter((i) => i.file);
    this.stack = { items: [] };
    for (const item of previous) {
      try {
        this.stack = await this.client.request('edits/apply', { file: item.file!, strength: item.strength });
        if (!item.enabled) this.stack = await this.client.request('edits/setEnabled', { id: item.id, enabled: false });
      } catch (err) {
        this.report(err, `Re-applying ${item.label}`);
      }
    }
  }

  private async openModel(path: string): Promise<ModelInfo | undefined> {
    try {
      this.modelError = undefined;
      this.model = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'MechEdit: opening model' },
        () => this.client.request('model/open', { path }),
      );
      this.output.info(`[client] model open: ${this.model.architecture}, ${this.model.layers} layers, d_model ${this.model.dModel} on ${this.model.executionProvider}`);
      await this.restoreStack();
      return this.model;
    } catch (err) {
      this.model = undefined;
      this.modelError = err instanceof EngineError ? formatError(err.data) : String(err);
      this.report(err, `Opening ${path}`);
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

  /** Shows an engine error to the user with its hint; returns undefined so callers can stop. */
  report(err: unknown, action: string): undefined {
    if (err instanceof EngineError) {
      if (err.data.code === 'cancelled') return undefined;
      void vscode.window.showErrorMessage(`MechEdit: ${action} failed: ${formatError(err.data)}`);
      if (err.data.detail) this.output.error(err.data.detail);
    } else {
      void vscode.window.showErrorMessage(`MechEdit: ${action} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return undefined;
  }

  fire(): void {
    this.changed.fire(this.snapshot());
  }

  private async onSettings(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (!e.affectsConfiguration('mechedit')) return;
    const s = readSettings();
    if (e.affectsConfiguration('mechedit.modelPath') || e.affectsConfiguration('mechedit.openDefaultModel')) {
      this.model = undefined;
      this.modelError = undefined;
      this.stack = { items: [] }; // edits belong to the previous model
      if (s.modelPath) void this.ensureModel();
      else if (this.client.state === 'running') await this.client.request('model/close', {}).catch(() => undefined);
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

  dispose(): void {
    this.client.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
