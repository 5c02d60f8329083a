// The Engine panel: engine status, execution providers with the reason each unusable one
// failed, and a self-test with a latency chart.

import * as vscode from 'vscode';
import type { EnginePanel as Protocol } from '../../protocol/panels';
import type { EngineService } from '../engine/engineService';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { runSelfTest } from '../commands';

export const ENGINE_PANEL: PanelDescriptor = { viewType: 'mechedit.engine', title: 'MechEdit Engine', bundle: 'engine' };

export class EnginePanelHost extends PanelHost<Protocol> {
  protected readonly handlers: RequestHandlers<Protocol> = {
    runSelfTest: async ({ size, iterations }) => {
      const result = await runSelfTest(this.engine, size, iterations);
      if (!result) throw new Error('The self-test did not complete (see the notification).');
      return result;
    },
    restartEngine: async () => this.engine.restart(),
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService) {
    super(panel, extensionUri, ENGINE_PANEL);
    this.disposables.push(engine.onDidChange((s) => this.notify('state', s)));
  }

  protected onReady(): void {
    this.notify('state', this.engine.snapshot());
    if (this.engine.client.state !== 'running') void this.engine.refreshInfo().catch((e) => this.engine.report(e, 'Starting the engine'));
  }
}
