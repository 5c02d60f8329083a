// The Concepts panel: concept directions (difference of means of two prompt sets) per layer, their
// separability, lens read, cosine with the stack's edits and a probe's projection; actions ablate
// the direction (rank-one edits in the stack), redirect the concept with ROCR, or unlearn it by
// gradient (MechEdit: Unlearn…, unlearn.ts).

import * as vscode from 'vscode';
import type { ConceptsPanel as Protocol, ConceptsContext } from '../../protocol/panels';
import type { WireTensor } from '../../protocol/tensor';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { saveFile } from '../webview/save';
import { editsFolder } from '../commands';

export const CONCEPTS_PANEL: PanelDescriptor = { viewType: 'mechedit.concepts', title: 'MechEdit Concepts', bundle: 'concepts' };

export class ConceptsPanelHost extends PanelHost<Protocol> {
  /** The last analysis is drawn again after a tab switch (PanelHost.kept). */
  protected override readonly kept = ['analyse'] as const;
  protected readonly handlers: RequestHandlers<Protocol> = {
    analyse: async (p) => {
      await this.engine.ensureModel();
      return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'MechEdit: concept directions' }, () => this.engine.client.request('concepts/direction', p));
    },
    ablate: async (p) => this.ablate(p),
    steer: async (p) => this.steer(p),
    redirect: async ({ concept }) => {
      const r = (await vscode.commands.executeCommand('mechedit.redirectConcept', { concept })) as { label?: string } | undefined;
      return { applied: !!r?.label, label: r?.label };
    },
    unlearn: async ({ concept }) => {
      const r = (await vscode.commands.executeCommand('mechedit.unlearn', { concept })) as { label?: string } | undefined;
      return { applied: !!r?.label, label: r?.label };
    },
    save: saveFile,
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService) {
    super(panel, extensionUri, CONCEPTS_PANEL);
    this.disposables.push(engine.onDidChange(() => this.notify('context', this.context())));
  }

  /** "Ablate": W ← (I − d dᵀ) W with the direction of `layer`, at `layers`; saved and applied. */
  async ablate({ direction, layer, layers }: { direction: WireTensor; layer: number; layers: number[] }): Promise<{ applied: boolean; label?: string; file?: string }> {
    const outDir = editsFolder(this.engine.model?.path);
    if (!outDir) return { applied: false };
    try {
      const r = await this.engine.client.request('edits/ablate', { direction, layers, label: `ablate the concept direction of layer ${layer} at layers ${layers.join(', ')}`, request: { directionLayer: layer }, outDir });
      this.engine.stack = r.state;
      this.engine.fire();
      void vscode.window.showInformationMessage(`MechEdit: ${r.label} applied, saved as ${vscode.workspace.asRelativePath(r.file)}.`);
      return { applied: true, label: r.label, file: r.file };
    } catch (err) {
      this.engine.report(err, 'Ablation');
      return { applied: false };
    }
  }

  /** Greedy generation without and with the steering vector at `layer`. */
  async steer({ prompt, layer, vector, maxTokens }: { prompt: string; layer: number; vector: WireTensor; maxTokens: number }): Promise<{ plain: string; steered: string }> {
    await this.engine.ensureModel();
    const c = this.engine.client;
    const plain = await c.request('model/generate', { prompt, maxTokens });
    const steered = await c.request('model/generate', { prompt, maxTokens, steer: { layer, vector } });
    return { plain: plain.text, steered: steered.text };
  }

  private context(): ConceptsContext {
    return { model: this.engine.modelBrief, enabledEdits: this.engine.enabledEdits };
  }

  protected onReady(): void {
    this.notify('context', this.context());
  }
}
