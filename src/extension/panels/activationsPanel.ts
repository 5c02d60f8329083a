// The Activations panel: a token × layer heatmap (logit lens, norms, P(target)) of one prompt,
// traced with the edit stack on and off so the webview can show before / after.

import * as vscode from 'vscode';
import type { ActivationsContext, ActivationsPanel as Protocol } from '../../protocol/panels';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { saveFile } from '../webview/save';

export const ACTIVATIONS_PANEL: PanelDescriptor = { viewType: 'mechedit.activations', title: 'MechEdit Activations', bundle: 'activations' };

export class ActivationsPanelHost extends PanelHost<Protocol> {
  protected readonly handlers: RequestHandlers<Protocol> = {
    trace: async ({ prompt, target, top }) => {
      await this.engine.ensureModel();
      const c = this.engine.client;
      let targetId: number | undefined;
      let targetGiven: { text: string; tokens: number } | undefined;
      if (target && target.trim()) {
        const scored = await c.request('model/score', { prompt, answers: [target.trim()] });
        const tokens = scored.answers[0]?.tokens ?? [];
        targetId = tokens[0]?.id;
        // Only the first token is traced: the panel says so when the target has more.
        if (tokens.length > 1) targetGiven = { text: target.trim(), tokens: tokens.length };
      }
      const t0 = Date.now();
      return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'MechEdit: tracing' }, async () => {
        const after = await c.request('model/trace', { prompt, top: top ?? 5, targetId, edits: 'on' });
        const enabled = this.engine.enabledEdits;
        const before = enabled ? await c.request('model/trace', { prompt, top: top ?? 5, targetId, edits: 'off' }) : after;
        return { after, before, enabledEdits: enabled, ms: Date.now() - t0, targetGiven };
      });
    },
    save: saveFile,
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService) {
    super(panel, extensionUri, ACTIVATIONS_PANEL);
    this.disposables.push(engine.onDidChange(() => this.notify('context', this.context())));
  }

  private context(): ActivationsContext {
    return { model: this.engine.modelBrief, enabledEdits: this.engine.enabledEdits };
  }

  protected onReady(): void {
    this.notify('context', this.context());
  }
}
