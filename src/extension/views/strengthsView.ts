// The "Edit Strengths" view in the MechEdit side bar: a webview view with a slider (α from 0 to
// 2) and an enable box per applied edit. Moving a slider rescales that edit in the engine's stack
// (a swap of edit inputs, no session rebuild); the view follows every change of the stack.

import * as vscode from 'vscode';
import type { StrengthsView as Protocol } from '../../protocol/panels';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';

export const STRENGTHS_VIEW: PanelDescriptor = { viewType: 'mechedit.strengths', title: 'Edit Strengths', bundle: 'strengths' };

export class StrengthsViewHost extends PanelHost<Protocol, vscode.WebviewView> {
  protected readonly handlers: RequestHandlers<Protocol> = {
    scale: async ({ id, strength }) => this.setStrength(id, strength),
    setEnabled: async ({ id, enabled }) => ({ ok: !!(await this.engine.changeStack('edits/setEnabled', { id, enabled })) }),
  };

  constructor(view: vscode.WebviewView, extensionUri: vscode.Uri, private readonly engine: EngineService) {
    super(view, extensionUri, STRENGTHS_VIEW);
    this.disposables.push(engine.onDidChange(() => this.notify('stack', this.snapshot())));
  }

  /** Sets an applied edit's strength α (what the slider does). */
  async setStrength(id: string, strength: number): Promise<{ ok: boolean }> {
    return { ok: !!(await this.engine.changeStack('edits/scale', { id, strength })) };
  }

  private snapshot() {
    return { items: this.engine.stack.items.map(({ id, label, method, enabled, strength }) => ({ id, label, method, enabled, strength })) };
  }

  protected onReady(): void {
    this.notify('stack', this.snapshot());
  }
}

/** Registers the view; `current()` is the host once VS Code has shown it. */
export function registerStrengthsView(context: vscode.ExtensionContext, engine: EngineService): { current(): StrengthsViewHost | undefined } {
  let current: StrengthsViewHost | undefined;
  context.subscriptions.push(vscode.window.registerWebviewViewProvider(STRENGTHS_VIEW.viewType, {
    resolveWebviewView(view) {
      current = new StrengthsViewHost(view, context.extensionUri, engine);
      view.onDidDispose(() => (current = undefined));
    },
  }), { dispose: () => current?.dispose() });
  return { current: () => current };
}
