// The Unlearning panel: the run of *MechEdit: Unlearn…* (unlearn.ts) as it trains — the loss and
// the forget items' top-1 accuracy per step, a Cancel button — then its outcome (figures before
// and after, the edit file, Diagnose). The host keeps the run's complete snapshot and sends all of
// it on every change (never a delta); the command drives it through start / step / finish / fail.

import * as vscode from 'vscode';
import type { UnlearnPanel as Protocol, UnlearnRunSnapshot } from '../../protocol/panels';
import type { ProgressParams, UnlearnOutcome } from '../../protocol/engine';
import { EngineError } from '../engine/client';
import { formatError } from '../../protocol/errors';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { saveFile } from '../webview/save';

export const UNLEARN_PANEL: PanelDescriptor = { viewType: 'mechedit.unlearn', title: 'MechEdit Unlearning', bundle: 'unlearn' };

/**
 * The run of *Unlearn…* (one at a time): its complete snapshot, and the cancel of its request.
 * It outlives the panel, which only shows it: closing the panel does not stop the run (its
 * progress notification still has Cancel), and the panel opened again shows it where it is.
 */
export class UnlearnRun implements vscode.Disposable {
  snapshot: UnlearnRunSnapshot | undefined;
  private cancelFn: (() => void) | undefined;
  private readonly changed = new vscode.EventEmitter<UnlearnRunSnapshot>();
  readonly onDidChange = this.changed.event;

  get running(): boolean {
    return this.snapshot?.status === 'running';
  }

  /** A new run: an empty chart, and `cancel` behind the Cancel button. */
  start(run: Omit<UnlearnRunSnapshot, 'status' | 'points' | 'startedAt'>, cancel: () => void): void {
    this.cancelFn = cancel;
    this.send({ ...run, status: 'running', points: [], startedAt: new Date().toISOString() });
  }

  /** Cancels the run in progress; false when there is none. */
  cancel(): boolean {
    const cancel = this.running ? this.cancelFn : undefined;
    cancel?.();
    return !!cancel;
  }

  /** A progress notification of the run: a step's point, or what the engine does after training. */
  progress(p: ProgressParams): void {
    const run = this.snapshot;
    if (!run) return;
    if (p.point) this.send({ ...run, points: [...run.points, p.point], steps: p.total ?? run.steps, message: p.message });
    else this.send({ ...run, message: p.message });
  }

  finish(r: UnlearnOutcome): void {
    const run = this.snapshot;
    if (!run) return;
    this.cancelFn = undefined;
    // The engine's curve is the whole run (a notification may still be in flight).
    const points = r.curve.length ? r.curve.map((c) => ({ step: c.step, loss: c.loss, metrics: c.metrics })) : run.points;
    this.send({
      ...run,
      preset: r.preset ?? run.preset,
      status: 'done',
      points,
      message: undefined,
      result: {
        id: r.id, label: r.label, file: r.file, stoppedBy: r.stoppedBy, figures: r.figures, computeMs: r.computeMs,
        klNeutral: r.health.klNeutral, warnings: r.health.warnings, forgetItems: r.material.forget, retainItems: r.material.retain,
      },
    });
  }

  fail(err: unknown): void {
    const run = this.snapshot;
    if (!run) return;
    this.cancelFn = undefined;
    const cancelled = err instanceof EngineError && err.data.code === 'cancelled';
    const error = err instanceof EngineError ? formatError(err.data) : err instanceof Error ? err.message : String(err);
    this.send({ ...run, status: cancelled ? 'cancelled' : 'error', message: undefined, error: cancelled ? undefined : error });
  }

  private send(run: UnlearnRunSnapshot): void {
    this.snapshot = run;
    this.changed.fire(run);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export class UnlearnPanelHost extends PanelHost<Protocol> {
  protected readonly handlers: RequestHandlers<Protocol> = {
    cancel: async () => ({ cancelled: this.run.cancel() }),
    openEdit: async ({ file }) => {
      await vscode.window.showTextDocument(vscode.Uri.file(file));
      return { opened: true };
    },
    diagnose: async ({ file }) => {
      await vscode.commands.executeCommand('mechedit.diagnoseEdit', vscode.Uri.file(file));
      return { started: true };
    },
    save: saveFile,
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, readonly run: UnlearnRun) {
    super(panel, extensionUri, UNLEARN_PANEL);
    this.disposables.push(run.onDidChange((s) => this.notify('run', s)));
  }

  protected onReady(): void {
    if (this.run.snapshot) this.notify('run', this.run.snapshot);
  }
}
