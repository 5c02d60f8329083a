// The Causal Tracing panel: ROME's causal tracing of one fact (the engine's model/causalTrace),
// three heatmaps of indirect effects, and the edit layer they recommend, which the user can make
// the default layer of the edit methods that take one, or use right away for an edit of this fact
// (the method asked, as "Edit a Fact…" asks it). Its Patching tab runs activation or attribution
// patching on a prompt pair (model/patch); its Attention view draws a head's pattern (model/attention).

import * as vscode from 'vscode';
import type { TracingContext, TracingPanel as Protocol } from '../../protocol/panels';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import type { FactEditArgs } from '../factEdits';
import { saveFile } from '../webview/save';
import { keepTrace } from '../lastTrace';

export const TRACING_PANEL: PanelDescriptor = { viewType: 'mechedit.tracing', title: 'MechEdit Causal Tracing', bundle: 'tracing' };

export class TracingPanelHost extends PanelHost<Protocol> {
  /** The last trace, patching grids and attention patterns are drawn again after a tab switch (PanelHost.kept). */
  protected override readonly kept = ['trace', 'patch', 'attention'] as const;
  protected readonly handlers: RequestHandlers<Protocol> = {
    trace: async ({ bare, ...p }) => {
      await this.engine.ensureModel();
      const t0 = Date.now();
      // The edits are named explicitly (none for the bare model): the engine traces a copy of the
      // stack narrowed to them, and the user's stack is not touched.
      const edits = bare ? [] : this.engine.stack.items.map((e) => e.id);
      const on = bare ? ' on the bare model' : '';
      return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: causal tracing "${p.subject}"${on}`, cancellable: true }, async (progress, token) => {
        let last = 0;
        const r = await this.engine.client.request('model/causalTrace', { ...p, edits }, {
          token,
          onProgress: (x) => {
            const pct = x.total ? (100 * x.done) / x.total : 0;
            progress.report({ increment: pct - last, message: x.message });
            last = pct;
          },
        });
        keepTrace(this.engine.model?.path, p, r, bare ? 0 : this.engine.enabledEdits); // for the Edit Result view's layer list
        return { ...r, ms: Date.now() - t0, bare: !!bare };
      });
    },
    useLayer: async ({ layer }) => this.useLayer(layer),
    patch: async (p) => {
      await this.engine.ensureModel();
      const what = p.method === 'exact' ? 'activation patching' : 'attribution patching';
      return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${what}`, cancellable: true }, async (progress, token) => {
        let last = 0;
        return this.engine.client.request('model/patch', p, {
          token,
          onProgress: (x) => {
            const pct = x.total ? (100 * x.done) / x.total : 0;
            progress.report({ increment: pct - last, message: x.message });
            last = pct;
          },
        });
      });
    },
    attention: async (p) => {
      await this.engine.ensureModel();
      return this.engine.client.request('model/attention', p);
    },
    editFact: async ({ subject, prompt, layer }) => {
      // The method is asked (the last one used preselected); the traced layer goes to a method that takes one.
      const args: FactEditArgs = { layer, requests: [{ subject, prompt, target: '' }] };
      const r = await vscode.commands.executeCommand<{ label?: string } | undefined>('mechedit.editFact', args);
      return { applied: !!r?.label, label: r?.label };
    },
    save: saveFile,
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService) {
    super(panel, extensionUri, TRACING_PANEL);
    this.disposables.push(engine.onDidChange(() => this.notify('context', this.context())));
  }

  /** "Use layer N for edits": the default layer of one-layer edits (methods that take `layer`) on the open model. */
  useLayer(layer: number): { layer: number } {
    this.engine.editLayer = layer;
    void vscode.window.showInformationMessage(`MechEdit: one-layer edits on this model now use layer ${layer} by default.`);
    return { layer };
  }

  private context(): TracingContext {
    const edits = this.engine.stack.items.filter((e) => e.enabled && e.strength !== 0).map(({ id, label }) => ({ id, label }));
    return { model: this.engine.modelBrief, editLayer: this.engine.editLayer, edits };
  }

  protected onReady(): void {
    this.notify('context', this.context());
  }
}
