// The Unlearning panel: the run of *MechEdit: Unlearn…* (unlearn.ts) as it trains — the loss and
// the forget items' top-1 accuracy per step, a Cancel button — then its outcome (figures before
// and after, the edit file, Diagnose). The host keeps the run's complete snapshot and sends all of
// it on every change (never a delta); the command drives it through start / step / finish / fail.
// Opened from the palette with no run, its form starts one (forget set, objective, forms → the
// same *Unlearn…* command). Its outcome scopes each figure: the training retain set, the forget
// target's ORT neighbour sets measured in the same run, and — after Diagnose — ORT's forms of the
// edit alone, linked in from the diagnosis.

import * as vscode from 'vscode';
import * as path from 'node:path';
import type { UnlearnContext, UnlearnFormRow, UnlearnPanel as Protocol, UnlearnRunSnapshot } from '../../protocol/panels';
import type { ProgressParams, UnlearnOutcome } from '../../protocol/engine';
import type { EditDiagnostics } from '../../protocol/diagnostics';
import type { EngineService } from '../engine/engineService';
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

  /** A progress notification of the run: a step's point (with its progress text: done / total, rate, time left), or what the engine does after training. */
  progress(p: ProgressParams, progress?: string): void {
    const run = this.snapshot;
    if (!run) return;
    if (p.point) this.send({ ...run, points: [...run.points, p.point], steps: p.total ?? run.steps, message: p.message, progress });
    else this.send({ ...run, message: p.message });
  }

  /** ORT's forms of the finished run's edit alone (Diagnose), linked into its outcome. */
  linkOrt(file: string, ort: { target?: string; rows: UnlearnFormRow[]; seconds: number }): void {
    const run = this.snapshot;
    if (!run?.result || run.result.file !== file) return;
    this.send({ ...run, result: { ...run.result, ort } });
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
      progress: undefined,
      result: {
        id: r.id, label: r.label, file: r.file, stoppedBy: r.stoppedBy, figures: r.figures, computeMs: r.computeMs,
        klNeutral: r.health.klNeutral, warnings: r.health.warnings, forgetItems: r.material.forget, retainItems: r.material.retain,
        retainSource: r.material.retainSource, applied: r.applied, notApplied: r.notApplied,
        neighbours: r.neighbours && { target: r.neighbours.target, rows: r.neighbours.rows.map((x) => ({ set: 'neighbor', ...x })) },
      },
    });
  }

  fail(err: unknown): void {
    const run = this.snapshot;
    if (!run) return;
    this.cancelFn = undefined;
    const cancelled = err instanceof EngineError && err.data.code === 'cancelled';
    const error = err instanceof EngineError ? formatError(err.data) : err instanceof Error ? err.message : String(err);
    this.send({ ...run, status: cancelled ? 'cancelled' : 'error', message: undefined, progress: undefined, error: cancelled ? undefined : error });
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
      // The edit alone, on the engine's own request (nothing applied or switched off): its ORT
      // forms go into this outcome, and the Diagnostics panel shows the same diagnosis.
      const d = await this.engine.client.request('diagnostics/edit', { file }, { timeoutMs: 0 }) as EditDiagnostics;
      const rows = d.concept?.rows ?? [];
      this.run.linkOrt(file, { target: d.concept?.target ?? d.concept?.concept, rows: rows.map((r) => ({ set: r.set, form: r.form, items: r.before.items, before: r.before, after: r.after })), seconds: d.seconds });
      await vscode.commands.executeCommand('mechedit.diagnoseEdit', vscode.Uri.file(file));
      return { started: true };
    },
    start: async (p) => {
      if (this.run.running) throw new Error('An unlearning run is in progress: cancel it or wait for it first.');
      const concept = p.forget ? path.basename(p.forget).replace(/^\d+_/, '') : undefined;
      // The command's pipeline, as from the palette: what the form gives is not asked again.
      void vscode.commands.executeCommand('mechedit.unlearn', { method: p.method, forget: p.forget, concept, forms: p.forms });
      return { started: true };
    },
    save: saveFile,
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, readonly run: UnlearnRun, private readonly engine: EngineService, private readonly context: () => Promise<UnlearnContext>) {
    super(panel, extensionUri, UNLEARN_PANEL);
    this.disposables.push(
      run.onDidChange((s) => this.notify('run', s)),
      engine.onDidChange(() => void this.sendContext()),
    );
  }

  private async sendContext(): Promise<void> {
    try {
      this.notify('context', await this.context());
    } catch {
      // The registry could not be read: the engine reports it; the form waits for the next change.
    }
  }

  protected onReady(): void {
    if (this.run.snapshot) this.notify('run', this.run.snapshot);
    void this.sendContext();
  }
}
