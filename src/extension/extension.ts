// activate() wires the pieces together and returns a small API (used by the integration tests).
// onnxruntime-node is never loaded here: the engine process owns it (src/engine).

import * as vscode from 'vscode';
import { EngineService } from './engine/engineService';
import { registerCommands } from './commands';
import { ModelView } from './views/modelView';
import { EditsView } from './views/editsView';
import { createStatusBar } from './statusBar';
import { registerPanel } from './webview/panelHost';
import { ENGINE_PANEL, EnginePanelHost } from './panels/enginePanel';
import { ACTIVATIONS_PANEL, ActivationsPanelHost } from './panels/activationsPanel';
import { TRACING_PANEL, TracingPanelHost } from './panels/tracingPanel';
import { EDIT_RESULT_PANEL, EditResultPanelHost, editFileOf, type ShowEditResultArg } from './panels/editResultPanel';
import { DIAGNOSTICS_PANEL, DiagnosticsPanelHost } from './panels/diagnosticsPanel';
import { CONCEPTS_PANEL, ConceptsPanelHost } from './panels/conceptsPanel';
import { FEATURES_PANEL, FeaturesPanelHost } from './panels/featuresPanel';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setBundledModel } from './settings';
import { registerFactEdits } from './factEdits';
import { registerWalkthroughTicks } from './walkthrough';
import { registerEditFiles } from './editFiles';
import { DiagnosticsProblems } from './diagnosticsProblems';
import { registerStrengthsView, type StrengthsViewHost } from './views/strengthsView';
import { initOutputFolders } from './outputFolders';
import { UNLEARN_PANEL, UnlearnPanelHost, UnlearnRun } from './panels/unlearnPanel';
import { registerUnlearn, unlearnContext } from './unlearn';
import { LIFELONG_PANEL, LifelongPanelHost, LifelongRuns } from './panels/lifelongPanel';
import { registerLifelong, sequentialMethods, startLifelong } from './lifelong';
import { registerOpenSweep } from './sweepCommand';
import { registerOnboarding } from './onboarding';

export interface MechEditApi {
  engine: EngineService;
  edits: EditsView;
  problems: DiagnosticsProblems;
  strengths(): StrengthsViewHost | undefined;
  model: ModelView;
  statusBar: vscode.StatusBarItem;
  panels: { engine(): EnginePanelHost | undefined; activations(): ActivationsPanelHost | undefined; tracing(): TracingPanelHost | undefined; editResult(): EditResultPanelHost | undefined; diagnostics(): DiagnosticsPanelHost | undefined; concepts(): ConceptsPanelHost | undefined; features(): FeaturesPanelHost | undefined; unlearn(): UnlearnPanelHost | undefined; lifelong(): LifelongPanelHost | undefined };
}

export function activate(context: vscode.ExtensionContext): MechEditApi {
  const bundled = path.join(context.extensionPath, 'models', 'default');
  setBundledModel(fs.existsSync(path.join(bundled, 'config.json')) ? bundled : undefined);
  initOutputFolders(context.globalStorageUri.fsPath);
  const output = vscode.window.createOutputChannel('MechEdit', { log: true });
  const engine = new EngineService(context, output);
  const edits = new EditsView(engine, context.workspaceState);
  const enginePanel = registerPanel(context, ENGINE_PANEL, (panel) => new EnginePanelHost(panel, context.extensionUri, engine));
  const activationsPanel = registerPanel(context, ACTIVATIONS_PANEL, (panel) => new ActivationsPanelHost(panel, context.extensionUri, engine));
  const tracingPanel = registerPanel(context, TRACING_PANEL, (panel) => new TracingPanelHost(panel, context.extensionUri, engine));
  const editResultPanel = registerPanel(context, EDIT_RESULT_PANEL, (panel) => new EditResultPanelHost(panel, context.extensionUri, engine));
  const conceptsPanel = registerPanel(context, CONCEPTS_PANEL, (panel) => new ConceptsPanelHost(panel, context.extensionUri, engine));
  const featuresPanel = registerPanel(context, FEATURES_PANEL, (panel) => new FeaturesPanelHost(panel, context.extensionUri, engine));
  const unlearnRun = new UnlearnRun();
  const unlearnPanel = registerPanel(context, UNLEARN_PANEL, (panel) => new UnlearnPanelHost(panel, context.extensionUri, unlearnRun, engine, () => unlearnContext(engine)));
  const lifelongRuns = new LifelongRuns(() => {
    const r = engine.registry.current;
    return r && sequentialMethods(r).map((d) => d.id);
  });
  const lifelongPanel = registerPanel(context, LIFELONG_PANEL, (panel) => new LifelongPanelHost(panel, context.extensionUri, engine, lifelongRuns, (p) => startLifelong(engine, lifelongRuns, p, context.globalStorageUri.fsPath, context.globalState), context.globalState));
  const problems = new DiagnosticsProblems();
  const model = new ModelView(engine);
  const modelTree = vscode.window.createTreeView('mechedit.model', { treeDataProvider: model });
  const statusBar = createStatusBar(engine);
  context.subscriptions.push(problems, model);
  const diagnosticsPanel = registerPanel(context, DIAGNOSTICS_PANEL, (panel) => new DiagnosticsPanelHost(panel, context.extensionUri, engine, context.globalStorageUri.fsPath, problems, context.workspaceState));

  context.subscriptions.push(
    output,
    engine,
    edits,
    modelTree,
    statusBar,
    vscode.commands.registerCommand('mechedit.showActivations', () => void activationsPanel.show()),
    // One edit's result (an edit id, an edit file path or URI, an Edits view row, or { file, heldBack }).
    vscode.commands.registerCommand('mechedit.showEditResult', (arg?: ShowEditResultArg) => {
      const target = editFileOf(engine, arg) ?? editFileOf(engine, vscode.window.activeTextEditor?.document.uri.fsPath);
      if (!target) {
        void vscode.window.showWarningMessage('MechEdit: Show Edit Result needs an edit (an Edits view row, or an edit file open or given).');
        return undefined;
      }
      const panel = editResultPanel.show();
      panel.show(target);
      return target.file;
    }),
    vscode.commands.registerCommand('mechedit.showDiagnostics', () => void diagnosticsPanel.show()),
    vscode.commands.registerCommand('mechedit.showConcepts', () => void conceptsPanel.show()),
    vscode.commands.registerCommand('mechedit.showFeatures', () => void featuresPanel.show()),
    vscode.commands.registerCommand('mechedit.showCausalTracing', (args?: { prompt: string; subject: string; answer?: string }) => {
      const panel = tracingPanel.show();
      if (args?.prompt && args.subject) panel.notify('run', args);
    }),
  );
  registerCommands(context, engine, { showEnginePanel: () => enginePanel.show(), refreshEdits: () => edits.refresh() });
  registerFactEdits(context, engine);
  registerWalkthroughTicks(context, engine);
  registerEditFiles(context, engine, () => diagnosticsPanel.show());
  registerUnlearn(context, engine, unlearnRun, () => void unlearnPanel.show());
  registerLifelong(context, engine, lifelongRuns, () => void lifelongPanel.show());
  registerOpenSweep(context, engine, { diagnostics: () => diagnosticsPanel.show(), lifelong: () => lifelongPanel.show() });
  const strengths = registerStrengthsView(context, engine);
  // The status item shows from startup; the engine starts when MechEdit is used (onboarding.ts).
  registerOnboarding(context, engine, edits, modelTree);
  return { engine, edits, problems, model, statusBar: statusBar.item, strengths: strengths.current, panels: { engine: enginePanel.current, activations: activationsPanel.current, tracing: tracingPanel.current, editResult: editResultPanel.current, diagnostics: diagnosticsPanel.current, concepts: conceptsPanel.current, features: featuresPanel.current, unlearn: unlearnPanel.current, lifelong: lifelongPanel.current } };
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the engine process.
}
