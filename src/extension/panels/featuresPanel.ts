// The Features view: a sparse autoencoder's (SAELens folder) top features at each token of a
// prompt, and a feature's page (top contexts with highlighted tokens, logit read, activation
// histogram, cosine with the edits in the stack); "Ablate feature" writes the rank-one edit file
// to the workspace's edits folder and applies it ('edits/run', method 'sae-ablate').

import * as vscode from 'vscode';
import type { FeaturesContext, FeaturesPanel as Protocol } from '../../protocol/features';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { editsFolder } from '../commands';

export const FEATURES_PANEL: PanelDescriptor = { viewType: 'mechedit.features', title: 'MechEdit Features', bundle: 'features' };

export class FeaturesPanelHost extends PanelHost<Protocol> {
  /** The last token table and feature page are drawn again after a tab switch (PanelHost.kept). */
  protected override readonly kept = ['tokens', 'feature'] as const;
  protected readonly handlers: RequestHandlers<Protocol> = {
    tokens: async (p) => {
      await this.engine.ensureModel();
      return this.engine.client.request('sae/tokens', p);
    },
    feature: async (p) => {
      await this.engine.ensureModel();
      return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'MechEdit: feature page' }, () => this.engine.client.request('sae/feature', p));
    },
    ablate: async ({ sae, feature }) => this.ablate(sae, feature),
    pick: async () => {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this SAE (cfg.json + sae_weights.safetensors)' });
      return { sae: picked?.[0]?.fsPath };
    },
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService) {
    super(panel, extensionUri, FEATURES_PANEL);
    this.disposables.push(engine.onDidChange(() => this.notify('context', this.context())));
  }

  /** Ablate feature: the edit file written to the workspace's edits folder and applied. */
  async ablate(sae: string, feature: number): Promise<{ applied: boolean; label?: string; file?: string }> {
    const outDir = editsFolder(this.engine.model?.path);
    if (!outDir) return { applied: false };
    try {
      const r = await this.engine.client.request('edits/run', { method: 'sae-ablate', settings: { sae, feature }, outDir, apply: 'always' });
      this.engine.stack = r.state;
      this.engine.fire();
      void vscode.window.showInformationMessage(`MechEdit: ${r.label} applied, saved as ${vscode.workspace.asRelativePath(r.file)}.`);
      return { applied: true, label: r.label, file: r.file };
    } catch (err) {
      this.engine.report(err, 'Ablate feature');
      return { applied: false };
    }
  }

  private context(): FeaturesContext {
    return { model: this.engine.modelBrief, enabledEdits: this.engine.enabledEdits };
  }

  protected onReady(): void {
    this.notify('context', this.context());
  }
}
