// The Diagnostics panel: EVOKE and FINE-KED (before / after the edits, or each case's own fact
// edit by a registry method with capabilities.perCase — at the layer picked for edits when the
// method takes a `layer`, and with its mechedit.<method>.<setting> values) and ORT (forget /
// neighbour sets per form, without / with the edits) on the open model's eval/ suites, run in the
// engine; the run folders go to .mechedit/diagnostics/ in the workspace. "Diagnose This Edit"
// shows one edit file alone here too (kind 'edit'). The last results are written to last.json there
// and sent again whenever the webview starts (a reload revives the panel, the panel is closed and
// opened again, its tab is shown again), marked as restored when read back from disk
// (lastDiagnostics.ts). Every run is also kept in history/ there (never overwritten): the panel
// lists the kept runs and shows or compares any two ('history', 'loadRuns').

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiagnosticsBrief, DiagnosticsContext, DiagnosticsLast, DiagnosticsPanel as Protocol } from '../../protocol/panels';
import type { DiagnosticsParams } from '../../protocol/diagnostics';
import { factEditors, methodChoice, takesSetting, type MethodDescriptor } from '../../protocol/registry';
import { editFilePreset, perCasePreset } from '../presets';
import { affectsMethodSettings, configuredSettings, configuredValues } from '../methodSettings';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { saveFile } from '../webview/save';
import { openReportView } from '../webview/reportView';
import type { DiagnosticsProblems } from '../diagnosticsProblems';
import { outputFolder } from '../outputFolders';
import { SweepSource, sweepHandlers } from './sweepSource';
import { HISTORY_FOLDER, LAST_DIAGNOSTICS_KEY, listHistory, pointerOf, readLast, writeHistory, writeLast, type AnyDiagnostics } from './lastDiagnostics';

export const DIAGNOSTICS_PANEL: PanelDescriptor = { viewType: 'mechedit.diagnostics', title: 'MechEdit Diagnostics', bundle: 'diagnostics' };

export class DiagnosticsPanelHost extends PanelHost<Protocol> {
  protected readonly handlers: RequestHandlers<Protocol> = {
    run: async (p) => {
      // What was run, with the edits enabled when it started (the history lists it by this).
      const brief: DiagnosticsBrief = { kind: p.kind, edits: this.enabledLabels(), ...(p.kind !== 'ort' && p.kind !== 'edit' ? { method: p.method ?? 'none' } : {}), ...(p.file ? { file: p.file } : {}), ...(p.limit ? { limit: p.limit } : {}) };
      return this.keep(await this.run(p), brief);
    },
    loadRuns: async ({ files }) => ({ runs: await Promise.all(files.map((f) => this.loadRun(f))) }),
    save: saveFile,
    // In a webview tab: openExternal on a file URI does nothing in code-server (reportView.ts).
    openReport: async ({ folder }) => ({ opened: !!openReportView(folder) }),
    ...sweepHandlers(() => this.sweeps),
  };

  /** The sweep root open here (sweepSource.ts); *MechEdit: Open Sweep…* opens one through openSweep. */
  readonly sweeps: SweepSource;

  /** The results this panel computed last (in memory; the webview gets them again when it restarts). */
  private latest?: DiagnosticsLast;
  /** A run was asked for (a command, a test): its results replace the kept ones, which are not sent. */
  private runAsked = false;

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService, private readonly storage: string, private readonly problems: DiagnosticsProblems, private readonly memory: vscode.Memento) {
    super(panel, extensionUri, DIAGNOSTICS_PANEL);
    this.sweeps = new SweepSource(engine, (v) => this.notify('sweep', v));
    this.disposables.push(
      engine.onDidChange(() => this.notify('context', this.context())),
      vscode.workspace.onDidChangeConfiguration((e) => affectsMethodSettings(e, this.perCaseMethods()) && this.notify('context', this.context())),
      this.sweeps,
    );
  }

  private diagnosticsFolder(): string {
    return outputFolder('diagnostics', this.engine.model?.path) ?? path.join(this.storage, 'diagnostics');
  }

  private async run(p: Protocol['requests']['run']['params']): Promise<AnyDiagnostics> {
    await this.engine.ensureModel();
    if (p.kind === 'edit') {
      if (!p.file) throw new Error('No edit file to diagnose.');
      const file = p.file;
      const preset = editFilePreset(file);
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: diagnosing ${path.basename(file)} alone${preset ? ` (preset ${preset})` : ''}`, cancellable: true }, (progress, token) =>
        this.engine.client.request('diagnostics/edit', { file }, { token, timeoutMs: 0, onProgress: (x) => progress.report({ message: x.message }) }));
      return preset ? { ...r, edit: { ...r.edit, preset } } : r;
    }
    const kind = p.kind;
    const outDir = this.diagnosticsFolder();
    // A model without its own eval/ suites (any checkpoint but the bundled one): ask for the data.
    const own = path.join(this.engine.model?.path ?? '', 'eval', { ort: 'ort', evoke: 'evoke.json', 'fine-ked': 'fine_ked.json', probes: 'probes.json' }[kind]);
    const dataName = kind === 'fine-ked' ? 'FINE-KED data file (fine_ked.json format: mechedit fine-ked --help)' : kind === 'probes' ? 'knowledge-probe cases file (probes.json format: mechedit probes --help)' : 'EVOKE data file (evoke_main.json or CounterFact format)';
    const extra: { data?: string; target?: string } = {};
    if (!fs.existsSync(own)) {
      const picked = await vscode.window.showOpenDialog({
        title: p.kind === 'ort' ? 'The model has no eval/ort: pick an ORT Target folder (Target/<n>_<Name>/ or Target/)' : `The model has no ${path.basename(own)}: pick a ${dataName}`,
        canSelectFiles: p.kind !== 'ort', canSelectFolders: p.kind === 'ort', canSelectMany: false,
        filters: p.kind === 'ort' ? undefined : { JSON: ['json'] },
      });
      if (!picked?.[0]) throw new Error(`No ${p.kind === 'ort' ? 'ORT target folder' : kind === 'fine-ked' ? 'FINE-KED data file' : kind === 'probes' ? 'probe cases file' : 'EVOKE data file'} chosen: nothing was run.`);
      if (p.kind === 'ort') extra.target = picked[0].fsPath;
      else extra.data = picked[0].fsPath;
    }
    const registry = p.method && p.method !== 'none' ? await this.engine.registry.get() : undefined;
    const perCase = registry ? factEditors(registry, 'perCase') : [];
    const method = perCase.find((d) => d.id === p.method);
    if (perCase.length && !method) throw new Error(`"${p.method}" cannot make each case's own edit: use one of ${perCase.map((d) => d.id).join(', ')}.`);
    const preset = method && registry ? perCasePreset(registry, kind, method, p.preset) : undefined;
    const edit = method ? `each case's ${method.label}${p.lti ? ' + LTI' : ''} edit${preset ? `, preset ${preset}` : ''}` : 'the edit stack';
    const what = p.kind === 'ort' ? 'ORT' : `${kind === 'fine-ked' ? 'FINE-KED' : kind === 'probes' ? 'knowledge probes' : 'EVOKE'} (${edit})`;
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${what}`, cancellable: true }, async (progress, token) => {
      let last = 0;
      const settings = method ? this.perCaseSettings(method) : {};
      const r = await this.engine.client.request('diagnostics/run', { kind, method: p.method, lti: p.lti, ...(preset ? { preset } : {}), limit: p.limit, ...settings, ...extra, outDir }, {
        token,
        timeoutMs: 0,
        onProgress: (x) => {
          const pct = x.total ? (100 * x.done) / x.total : 0;
          progress.report({ increment: Math.max(0, pct - last), message: x.message });
          last = pct;
        },
      });
      this.problems.report(r, this.engine.stack.items);
      return r;
    });
  }

  /**
   * Keeps the results for when the webview restarts (here, in last.json, and its place in
   * workspaceState) and in the run history (a new file each run); then sends the history again.
   */
  private async keep(result: AnyDiagnostics, brief: DiagnosticsBrief): Promise<AnyDiagnostics> {
    const saved = { result, savedAt: new Date().toISOString(), model: this.engine.model?.path };
    this.latest = { ...saved, restored: false };
    try {
      const file = writeLast(this.diagnosticsFolder(), saved);
      this.latest.file = file;
      await this.memory.update(LAST_DIAGNOSTICS_KEY, { file, savedAt: saved.savedAt });
    } catch (err) {
      void vscode.window.showWarningMessage(`MechEdit: the diagnostics results could not be kept for after a reload: ${(err as Error).message}`);
    }
    try {
      writeHistory(this.diagnosticsFolder(), { ...saved, brief });
    } catch (err) {
      void vscode.window.showWarningMessage(`MechEdit: the run could not be kept in the diagnostics history: ${(err as Error).message}`);
    }
    void this.sendHistory();
    return result;
  }

  private async sendHistory(): Promise<void> {
    this.notify('history', await listHistory(this.diagnosticsFolder()));
  }

  /** A kept run, whole, as the panel shows restored results (or the error naming the file). */
  private async loadRun(file: string): Promise<DiagnosticsLast> {
    const folder = path.join(this.diagnosticsFolder(), HISTORY_FOLDER);
    if (path.dirname(path.resolve(file)) !== path.resolve(folder)) return { savedAt: new Date(0).toISOString(), restored: true, file, error: `${file} is not a kept run of ${folder}.` };
    const read = await readLast(file);
    return 'saved' in read
      ? { result: read.saved.result, savedAt: read.saved.savedAt, model: read.saved.model, restored: true, file }
      : { savedAt: new Date(0).toISOString(), restored: true, file, error: read.error };
  }

  private enabledLabels(): string[] {
    return this.engine.stack.items.filter((e) => e.enabled && e.strength !== 0).map((e) => e.label);
  }

  protected override onNotify(method: string): void {
    if (method === 'run') this.runAsked = true;
  }

  /** Sends the last results: this panel's, else those the workspace kept (marked restored), else nothing. */
  private async restore(): Promise<void> {
    if (this.latest) return this.notify('last', this.latest);
    const pointer = pointerOf(this.memory.get(LAST_DIAGNOSTICS_KEY));
    if (!pointer || this.runAsked) return;
    const read = await readLast(pointer.file);
    if (this.latest || this.runAsked) return; // a run was asked for meanwhile: its results come instead
    this.notify('last', 'saved' in read
      ? { result: read.saved.result, savedAt: read.saved.savedAt, model: read.saved.model, restored: true, file: pointer.file }
      : { savedAt: pointer.savedAt, restored: true, file: pointer.file, error: read.error });
  }

  /** The fact editors that can make each case's own edit (none until the engine has described its registry). */
  private perCaseMethods(): MethodDescriptor[] {
    const r = this.engine.registry.current;
    return r ? factEditors(r, 'perCase') : [];
  }

  /**
   * Per-case edits as the user set them up, for the per-case fields a diagnostics run takes: the
   * layer picked for edits for a method that takes a `layer`, and the method's VS Code settings.
   */
  private perCaseSettings(d: MethodDescriptor): Pick<DiagnosticsParams, 'layer' | 'layers' | 'lambda'> {
    const configured = configuredValues(d);
    return {
      ...(takesSetting(d, 'layer') ? { layer: (configured.layer as number | undefined) ?? this.engine.editLayer } : {}),
      ...(takesSetting(d, 'layers') && configured.layers !== undefined ? { layers: configured.layers as number[] } : {}),
      ...(takesSetting(d, 'lambda') && configured.lambda !== undefined ? { lambda: configured.lambda as number } : {}),
    };
  }

  private context(): DiagnosticsContext {
    const methods = this.perCaseMethods();
    const r = this.engine.registry.current;
    return {
      model: this.engine.modelBrief, enabledEdits: this.engine.enabledEdits, enabledLabels: this.enabledLabels(), editLayer: this.engine.editLayer,
      methods: methods.map(methodChoice), methodSettings: methods.flatMap(configuredSettings),
      presetKinds: r ? r.diagnostics.filter((d) => takesSetting(d, 'preset')).map((d) => d.id) : [],
    };
  }

  protected onReady(): void {
    this.notify('context', this.context());
    void this.restore();
    void this.sendHistory();
  }
}
