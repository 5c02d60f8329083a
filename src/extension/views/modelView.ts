// The "Model" view: the model the engine has loaded and the engine that runs it. Empty (so that
// the welcome content with "Open Model Folder" shows) while no model is configured. When the
// configured folder could not be opened, an error row names it and says what is still loaded:
// the rows of details always describe the loaded model, under its own name.

import * as vscode from 'vscode';
import type { EngineService } from '../engine/engineService';
import { readSettings } from '../settings';
import { modelName } from '../statusBar';

type Row = { label: string; description?: string; tooltip?: string; icon: string; command?: vscode.Command };

export class ModelView implements vscode.TreeDataProvider<Row>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly engine: EngineService) {
    this.disposables.push(
      engine.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('mechedit') && this.changed.fire()),
    );
  }

  getTreeItem(row: Row): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label);
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.iconPath = new vscode.ThemeIcon(row.icon);
    item.command = row.command;
    return item;
  }

  getChildren(): Row[] {
    const s = readSettings();
    if (!s.modelPath) return [];
    const snap = this.engine.snapshot();
    const info = snap.info;
    const m = snap.model;
    const modelRows: Row[] = m
      ? [
          { label: `${m.architecture} · ${m.layers} layers · d_model ${m.dModel}`, description: `d_mlp ${m.dMlp}, ${m.heads}/${m.kvHeads} heads`, icon: 'layers', tooltip: `head_dim ${m.headDim}, vocab ${m.vocabSize}, context ${m.contextLength}, ${m.tiedEmbeddings ? 'tied' : 'untied'} embeddings` },
          { label: 'Architecture', description: m.features.join(' · '), icon: 'symbol-structure', tooltip: m.features.map((f) => `• ${f}`).join('\n') },
          { label: `${(m.parameters / 1e6).toFixed(m.parameters < 1e7 ? 2 : 0)}M parameters`, description: `${m.dtype}, fingerprint ${m.fingerprint}`, icon: 'symbol-numeric' },
          {
            label: `ROME edits at layer ${this.engine.editLayer ?? m.editLayer.layer}`,
            description: this.engine.editLayer !== undefined ? 'picked from a causal trace' : { checkpoint: "the checkpoint's recommendation", papers: "the papers' setting", proportional: 'proportional to depth' }[m.editLayer.source],
            icon: 'edit',
            tooltip: 'The layer of ROME edits when none is given. Causal Tracing → "Use layer N for edits" changes it for this session.',
          },
          {
            label: `ROCR at layer${m.rocr.layers.length > 1 ? 's' : ''} ${m.rocr.layers.join(', ')}`,
            description: `λ ${m.rocr.lambda} · ${m.rocr.regularizer === 'covariance' ? 'λ C' : 'λ I'} · ${m.rocr.positions === 'all' ? 'every token of the concept' : "the concept's last token"} · ${m.rocr.source === 'checkpoint' ? "the checkpoint's recommendation" : "the paper's setting"}`,
            icon: 'arrow-swap',
            tooltip: 'ROCR\'s settings when a redirection gives none (config.json\'s "mechedit.rocr", else the ORT paper\'s): keys at the concept\'s last token or every token of it, regularized by λ I (the paper) or λ C (key statistics of the model\'s corpus).',
          },
        ]
      : [];
    const failedPath = snap.modelErrorPath ?? s.modelPath;
    const errorRows: Row[] = snap.modelError
      ? [{
          label: `Could not open ${modelName(failedPath)}`,
          description: m ? `${modelName(m.path)} stays loaded` : 'no model is loaded',
          tooltip: `${failedPath}\n${snap.modelError}\n\n${m ? `The engine keeps ${m.path} open, with its ${this.engine.stack.items.length} applied edit(s).` : 'No model is loaded.'} Click to pick another folder.`,
          icon: 'error',
          command: { title: 'Open Model Folder', command: 'mechedit.openModel' },
        }]
      : [];
    const shown = m?.path ?? s.modelPath;
    const name = m ? modelName(m.path) : modelName(s.modelPath);
    return [
      ...errorRows,
      {
        label: name === 'default model' ? 'default model (bundled)' : name,
        description: m ? (snap.modelError ? 'loaded (previous model)' : 'open') : snap.modelError ? 'not loaded' : 'model',
        tooltip: shown,
        icon: 'symbol-class',
        command: { title: 'Reveal', command: 'revealFileInOS', arguments: [vscode.Uri.file(shown)] },
      },
      ...modelRows,
      {
        label: `Engine: ${snap.status}`,
        description: info ? `pid ${info.pid}` : undefined,
        tooltip: snap.lastCrash ? `Last crash: ${snap.lastCrash}` : undefined,
        icon: snap.status === 'running' ? 'pass' : snap.status === 'crashed' ? 'error' : 'circle-outline',
        command: { title: 'Show Engine', command: 'mechedit.showEngine' },
      },
      {
        label: `Provider: ${m?.executionProvider ?? info?.resolvedProvider ?? s.engine.executionProvider}`,
        description: m?.executionProvider || info?.resolvedProvider ? `setting ${s.engine.executionProvider}` : 'not resolved yet',
        icon: 'chip',
        command: { title: 'Self-test', command: 'mechedit.selfTest' },
      },
      ...(info ? [{ label: `onnxruntime ${info.ortVersion}`, description: info.ortBackends.join(', '), icon: 'package' }] : []),
    ];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
