// *MechEdit: Open Sweep…*: a sweep root (`mechedit sweep --root`, docs/cluster.md) in a panel: a
// sequential sweep in the Lifelong editing panel (its cells' curves on one chart), any other in the
// Diagnostics panel. Arguments (tests, other commands): a folder Uri, or { root, panel }. Returns
// the view shown, or undefined (nothing picked, or an error shown to the user).

import * as vscode from 'vscode';
import type { SweepView } from '../protocol/sweep';
import type { EngineService } from './engine/engineService';
import type { SweepSource } from './panels/sweepSource';

export interface OpenSweepArgs {
  root?: string;
  panel?: 'diagnostics' | 'lifelong';
}

export function registerOpenSweep(context: vscode.ExtensionContext, engine: EngineService, panels: Record<'diagnostics' | 'lifelong', () => { sweeps: SweepSource }>): void {
  context.subscriptions.push(vscode.commands.registerCommand('mechedit.openSweep', async (args?: OpenSweepArgs | vscode.Uri): Promise<SweepView | undefined> => {
    let root = args instanceof vscode.Uri ? args.fsPath : args?.root;
    if (!root) {
      const picked = await vscode.window.showOpenDialog({ title: 'MechEdit: open a sweep root (the --root of mechedit sweep: it holds sweep.json)', canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Open Sweep' });
      root = picked?.[0]?.fsPath;
      if (!root) return undefined;
    }
    try {
      const first = await engine.client.request('sweep/view', { root });
      const which = (args instanceof vscode.Uri ? undefined : args?.panel) ?? (first.diagnostic === 'sequential' ? 'lifelong' : 'diagnostics');
      return (await panels[which]().sweeps.open(first.root)) ?? undefined;
    } catch (err) {
      return engine.report(err, 'Open Sweep');
    }
  }));
}
