// The Diagnostics panel: EVOKE (before / after the edits, or each case's own ROME / MEMIT edit,
// computed at the layer picked for edits and with mechedit.memit.lambda) and ORT (forget /
// neighbour sets per form, without / with the edits) on the open model's eval/ suites, run in the
// engine; the run folders go to .mechedit/diagnostics/ in the workspace. "Diagnose This Edit"
// shows one edit file alone here too (kind 'edit').

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiagnosticsContext, DiagnosticsPanel as Protocol } from '../../protocol/panels';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { saveFile } from '../webview/save';
import { openReportView } from '../webview/reportView';
import type { DiagnosticsProblems } from '../diagnosticsProblems';
import { outputFolder } from '../outputFolders';

export const DIAGNOSTICS_PANEL: PanelDescriptor = { viewType: 'mechedit.diagnostics', title: 'MechEdit Diagnostics', bundle: 'diagnostics' };

export class DiagnosticsPanelHost extends PanelHost<Protocol> {
  protected readonly handlers: RequestHandlers<Protocol> = {
    run: async (p) => {
      await this.engine.ensureModel();
      if (p.kind === 'edit') {
        if (!p.file) throw new Error('No edit file to diagnose.');
        const file = p.file;
        return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: diagnosing ${path.basename(file)} alone`, cancellable: true }, (progress, token) =>
          this.engine.client.request('diagnostics/edit', { file }, { token, timeoutMs: 0, onProgress: (x) => progress.report({ message: x.message }) }));
      }
      const kind = p.kind;
      const outDir = outputFolder('diagnostics', this.engine.model?.path) ?? path.join(this.storage, 'diagnostics');
      // A model without its own eval/ suites (any checkpoint but the bundled one): ask for the data.
      const own = path.join(this.engine.model?.path ?? '', 'eval', p.kind === 'ort' ? 'ort' : 'evoke.json');
      const extra: { data?: string; target?: string } = {};
      if (!fs.existsSync(own)) {
        const picked = await vscode.window.showOpenDialog({
          title: p.kind === 'ort' ? 'The model has no eval/ort: pick an ORT Target folder (Target/<n>_<Name>/ or Target/)' : 'The model has no eval/evoke.json: pick an EVOKE data file (evoke_main.json or CounterFact format)',
          canSelectFiles: p.kind !== 'ort', canSelectFolders: p.kind === 'ort', canSelectMany: false,
          filters: p.kind === 'ort' ? undefined : { JSON: ['json'] },
        });
        if (!picked?.[0]) throw new Error(`No ${p.kind === 'ort' ? 'ORT target folder' : 'EVOKE data file'} chosen: nothing was run.`);
        if (p.kind === 'ort') extra.target = picked[0].fsPath;
        else extra.data = picked[0].fsPath;
      }
      const what = p.kind === 'ort' ? 'ORT' : `EVOKE (${p.method === 'none' || !p.method ? 'the edit stack' : `each case's ${p.method.toUpperCase()}${p.lti ? ' + LTI' : ''} edit`})`;
      return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${what}`, cancellable: true }, async (progress, token) => {
        let last = 0;
        // Per-case edits as the user set them up: the layer picked for edits (ROME), MEMIT's λ.
        const settings = p.method === 'rome' ? { layer: this.engine.editLayer } : p.method === 'memit' ? { lambda: this.memitLambda() } : {};
        const r = await this.engine.client.request('diagnostics/run', { kind, method: p.method, lti: p.lti, limit: p.limit, ...settings, ...extra, outDir }, {
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
    },
    save: saveFile,
    // In a webview tab: openExternal on a file URI does nothing in code-server (reportView.ts).
    openReport: async ({ folder }) => ({ opened: !!openReportView(folder) }),
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService, private readonly storage: string, private readonly problems: DiagnosticsProblems) {
    super(panel, extensionUri, DIAGNOSTICS_PANEL);
    this.disposables.push(
      engine.onDidChange(() => this.notify('context', this.context())),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('mechedit.memit.lambda') && this.notify('context', this.context())),
    );
  }

  private memitLambda(): number | undefined {
    return vscode.workspace.getConfiguration('mechedit').get<number>('memit.lambda', 0) || undefined;
  }

  private context(): DiagnosticsContext {
    return { model: this.engine.modelBrief, enabledEdits: this.engine.enabledEdits, editLayer: this.engine.editLayer, memitLambda: this.memitLambda() };
  }

  protected onReady(): void {
    this.notify('context', this.context());
  }
}
