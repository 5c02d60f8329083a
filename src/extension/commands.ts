// Commands contributed in package.json (category "MechEdit"). Each is registered here, and a
// unit-free integration test checks that every contributed command is registered.

import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SelfTestResult } from '../protocol/engine';
import type { EngineService } from './engine/engineService';
import { SECTION } from './settings';
import { outputFolder } from './outputFolders';
import { deleteEditFile, renameEditLabel, revealEditFile } from './views/editActions';
import { traceFact } from './traceFact';

/** Runs the engine self-test with a cancellable progress notification. */
export async function runSelfTest(engine: EngineService, size = 256, iterations = 50): Promise<SelfTestResult | undefined> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'MechEdit: engine self-test', cancellable: true },
    async (progress, token) => {
      let last = 0;
      try {
        const result = await engine.client.request('engine/selfTest', { size, iterations }, {
          token,
          onProgress: (p) => {
            const pct = p.total ? (100 * p.done) / p.total : 0;
            progress.report({ increment: pct - last, message: p.message });
            last = pct;
          },
        });
        engine.lastSelfTest = result;
        engine.fire();
        await engine.refreshInfo();
        const sorted = [...result.runMs].sort((a, b) => a - b);
        void vscode.window.showInformationMessage(
          `MechEdit: ${result.provider} runs a ${size}×${size} probe in ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms (median of ${iterations}), max error ${result.maxAbsError.toExponential(1)}.`,
        );
        return result;
      } catch (err) {
        return engine.report(err, 'The self-test');
      }
    },
  );
}

export async function openModelFolder(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Use this model',
    title: 'MechEdit: a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)',
  });
  const folder = picked?.[0]?.fsPath;
  if (!folder) return undefined;
  if (!fs.existsSync(path.join(folder, 'config.json'))) {
    void vscode.window.showErrorMessage(`MechEdit: ${folder} has no config.json. Pick the folder that holds config.json, the *.safetensors files and tokenizer.json (for the Hugging Face cache: models--org--name/snapshots/<revision>).`);
    return undefined;
  }
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration(SECTION).update('modelPath', folder, target);
  return folder;
}

/**
 * An empty prompt is not silently ignored: the user is told, and the command returns
 * { error } (Escape, which returns undefined, stays silent as everywhere in VS Code).
 */
function emptyPrompt(what: string): { error: string } {
  const error = `The prompt is empty: type the text the model should ${what}.`;
  void vscode.window.showWarningMessage(`MechEdit: ${error}`);
  return { error };
}

/** Asks for a prompt (remembering the last one; or takes args.prompt) and shows the most likely next tokens. */
async function predictNext(engine: EngineService, state: vscode.Memento, args?: { prompt?: string }): Promise<unknown> {
  if (!(await engine.requireModel())) return undefined;
  const prompt = args?.prompt ?? (await vscode.window.showInputBox({ title: 'MechEdit: predict the next token', prompt: 'Prompt', value: state.get('mechedit.lastPrompt', ''), ignoreFocusOut: true }));
  if (prompt === undefined) return undefined;
  if (!prompt.trim()) return emptyPrompt('continue');
  await state.update('mechedit.lastPrompt', prompt);
  try {
    const r = await engine.client.request('model/predict', { prompt, top: 10 });
    void vscode.window.showQuickPick(
      r.next.map((n) => ({ label: JSON.stringify(n.text), description: `p = ${Math.exp(n.logprob).toFixed(4)}`, detail: `id ${n.id}, log-prob ${n.logprob.toFixed(4)}` })),
      { title: `Next token after ${r.tokens.length} prompt tokens`, placeHolder: prompt },
    );
    return r;
  } catch (err) {
    return engine.report(err, 'Prediction');
  }
}

/** Generates from a prompt (or args.prompt), streaming tokens into a new untitled document. */
async function generateText(engine: EngineService, state: vscode.Memento, args?: { prompt?: string }): Promise<unknown> {
  if (!(await engine.requireModel())) return undefined;
  const prompt = args?.prompt ?? (await vscode.window.showInputBox({ title: 'MechEdit: generate', prompt: 'Prompt', value: state.get('mechedit.lastPrompt', ''), ignoreFocusOut: true }));
  if (prompt === undefined) return undefined;
  if (!prompt.trim()) return emptyPrompt('continue');
  await state.update('mechedit.lastPrompt', prompt);
  const doc = await vscode.workspace.openTextDocument({ content: prompt, language: 'plaintext' });
  const editor = await vscode.window.showTextDocument(doc);
  let chain = Promise.resolve(true);
  const append = (text: string) => {
    chain = chain.then(() => editor.edit((e) => e.insert(doc.positionAt(doc.getText().length), text)));
  };
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'MechEdit: generating', cancellable: true }, async (progress, token) => {
    try {
      const r = await engine.client.request('model/generate', { prompt, maxTokens: 64 }, {
        token,
        onProgress: (p) => {
          append(p.message ?? '');
          progress.report({ message: `${p.done} tokens` });
        },
      });
      await chain;
      return r;
    } catch (err) {
      return engine.report(err, 'Generation');
    }
  });
}

/** The edit file of a command argument: an Edits-view node, a URI, or the active editor's file. */
function editUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (arg && typeof arg === 'object' && 'uri' in arg && (arg as { uri: unknown }).uri instanceof vscode.Uri) return (arg as { uri: vscode.Uri }).uri;
  const active = vscode.window.activeTextEditor?.document.uri;
  return active && /\.mechedit[\\/]edits[\\/][^\\/]+\.json$/.test(active.fsPath) ? active : undefined;
}

function editId(engine: EngineService, arg: unknown): string | undefined {
  if (arg && typeof arg === 'object' && 'item' in arg) return (arg as { item?: { id: string } }).item?.id;
  const uri = editUri(arg);
  return uri ? engine.stack.items.find((i) => i.file && path.resolve(i.file) === path.resolve(uri.fsPath))?.id : undefined;
}

async function pickEditFile(): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles('**/.mechedit/edits/*.json', '**/node_modules/**');
  if (files.length === 0) {
    void vscode.window.showInformationMessage('MechEdit: no edit files in this workspace (.mechedit/edits/*.json).');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(files.map((uri) => ({ label: path.basename(uri.fsPath, '.json'), description: vscode.workspace.asRelativePath(uri), uri })), { title: 'Apply which edit?' });
  return pick?.uri;
}

async function pickApplied(engine: EngineService, title: string): Promise<string | undefined> {
  if (engine.stack.items.length === 0) {
    void vscode.window.showInformationMessage('MechEdit: no edit is applied.');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(engine.stack.items.map((i) => ({ label: i.label, description: `${i.method}${i.enabled ? '' : ', disabled'}`, id: i.id })), { title });
  return pick?.id;
}

/** The workspace's edits folder (.mechedit/edits of the first folder; see outputFolders.ts). */
export function editsFolder(modelDir: string | undefined): string | undefined {
  return outputFolder('edits', modelDir);
}

/** Asks for a concept and a harmless concept, computes the ROCR edit, saves and applies it. */
async function redirectConcept(engine: EngineService, args?: { concept?: string; harmless?: string; layers?: number[]; lambda?: number; positions?: 'last' | 'all'; regularizer?: 'identity' | 'covariance' }): Promise<unknown> {
  const model = await engine.requireModel();
  const outDir = editsFolder(model?.path);
  if (!model || !outDir) return undefined;
  const concept = args?.concept ?? (await vscode.window.showInputBox({ title: 'ROCR: the concept to redirect (e.g. what should be unlearned)', ignoreFocusOut: true }));
  if (!concept) return undefined;
  const harmless = args?.harmless ?? (await vscode.window.showInputBox({ title: `ROCR: redirect "${concept}" to which harmless concept?`, ignoreFocusOut: true }));
  if (!harmless) return undefined;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: redirecting "${concept}" → "${harmless}"`, cancellable: true }, async (progress, token) => {
    try {
      const r = await engine.client.request('edits/rocr', { concept, harmless, layers: args?.layers, lambda: args?.lambda, positions: args?.positions, regularizer: args?.regularizer, outDir }, { token, onProgress: (p) => progress.report({ message: p.message }) });
      engine.stack = r.state;
      engine.fire();
      const warn = r.health.warnings.length ? ` Warnings: ${r.health.warnings.join('; ')}` : '';
      void vscode.window.showInformationMessage(`MechEdit: ${r.label} applied (${r.computeMs.toFixed(0)} ms), saved as ${vscode.workspace.asRelativePath(r.file)}. KL on neutral prompts ${r.health.klNeutral.toFixed(3)}.${warn}`, 'Open').then((pick) => pick && vscode.window.showTextDocument(vscode.Uri.file(r.file)));
      return r;
    } catch (err) {
      return engine.report(err, 'ROCR');
    }
  });
}

/** Key statistics at a layer, with a cancellable progress notification. */
async function computeKeyStats(engine: EngineService, arg?: { layer?: number }): Promise<unknown> {
  const model = await engine.requireModel();
  if (!model) return undefined;
  let layer = arg?.layer;
  if (layer === undefined) {
    const pick = await vscode.window.showQuickPick(Array.from({ length: model.layers }, (_, l) => ({ label: `layer ${l}`, layer: l })), { title: 'Key statistics C = E[kkᵀ] at which layer?' });
    if (!pick) return undefined;
    layer = pick.layer;
  }
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: key statistics at layer ${layer}`, cancellable: true }, async (progress, token) => {
    let last = 0;
    try {
      const r = await engine.client.request('edits/stats', { layer: layer! }, {
        token,
        onProgress: (p) => {
          const pct = p.total ? (100 * p.done) / p.total : 0;
          progress.report({ increment: pct - last, message: p.message });
          last = pct;
        },
      });
      void vscode.window.showInformationMessage(`MechEdit: layer ${r.layer}: C from ${r.count} key vectors${r.cached ? ' (cached)' : ` in ${r.seconds.toFixed(1)} s`}.`);
      return r;
    } catch (err) {
      return engine.report(err, 'Key statistics');
    }
  });
}

export function registerCommands(
  context: vscode.ExtensionContext,
  engine: EngineService,
  actions: { showEnginePanel(): void; refreshEdits(): void },
): void {
  const table: Record<string, (...args: unknown[]) => unknown> = {
    'mechedit.openModel': async () => {
      const folder = await openModelFolder();
      // The same folder as before does not change the setting: after a failed open, try it again.
      if (folder && engine.modelError) await engine.retryModel();
      return folder;
    },
    'mechedit.showEngine': () => actions.showEnginePanel(),
    'mechedit.selfTest': () => runSelfTest(engine),
    'mechedit.restartEngine': async () => {
      try {
        const info = await engine.restart();
        void vscode.window.showInformationMessage(`MechEdit: engine restarted (pid ${info.pid}).`);
        return info;
      } catch (err) {
        return engine.report(err, 'Restarting the engine');
      }
    },
    'mechedit.engineInfo': async () => {
      try {
        return await engine.refreshInfo();
      } catch (err) {
        return engine.report(err, 'Asking the engine');
      }
    },
    'mechedit.predict': (args?: unknown) => predictNext(engine, context.workspaceState, args as { prompt?: string } | undefined),
    'mechedit.generate': (args?: unknown) => generateText(engine, context.workspaceState, args as { prompt?: string } | undefined),
    'mechedit.traceFact': () => traceFact(),
    'mechedit.showLog': () => engine.output.show(),
    'mechedit.openSettings': () => vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${context.extension.id}`),
    'mechedit.refreshEdits': () => actions.refreshEdits(),
    'mechedit.applyEdit': async (arg?: unknown) => {
      const uri = editUri(arg) ?? (await pickEditFile());
      return uri ? engine.changeStack('edits/apply', { file: uri.fsPath }) : undefined;
    },
    // A failed or unhealthy edit file (the Edits view's context menu): applied as it is.
    'mechedit.applyEditAnyway': async (arg?: unknown) => {
      const uri = editUri(arg) ?? (await pickEditFile());
      return uri ? engine.changeStack('edits/apply', { file: uri.fsPath }) : undefined;
    },
    'mechedit.revealEditFile': (arg?: unknown) => revealEditFile(arg),
    'mechedit.deleteEditFile': (arg?: unknown) => deleteEditFile(engine, arg),
    'mechedit.renameEditLabel': (arg?: unknown) => renameEditLabel(engine, arg),
    'mechedit.revertEdit': async (arg?: unknown) => {
      const id = editId(engine, arg) ?? (await pickApplied(engine, 'Revert which edit?'));
      return id ? engine.changeStack('edits/revert', { id }) : undefined;
    },
    'mechedit.revertAllEdits': () => engine.changeStack('edits/revertAll', {}),
    'mechedit.redirectConcept': (args?: unknown) => redirectConcept(engine, args as Parameters<typeof redirectConcept>[1]),
    'mechedit.computeKeyStats': (args?: unknown) => computeKeyStats(engine, args as { layer?: number } | undefined),
    'mechedit.setEditStrength': async (arg?: unknown) => {
      const id = editId(engine, arg) ?? (await pickApplied(engine, 'Set the strength of which edit?'));
      if (!id) return undefined;
      const current = engine.stack.items.find((i) => i.id === id)?.strength ?? 1;
      const text = await vscode.window.showInputBox({ title: 'Edit strength α (the update is α Uᵀ V)', value: String(current), validateInput: (v) => (Number.isFinite(Number(v)) ? undefined : 'A number, e.g. 0.5, 1 or 2') });
      return text === undefined ? undefined : engine.changeStack('edits/scale', { id, strength: Number(text) });
    },
  };
  for (const [id, fn] of Object.entries(table)) context.subscriptions.push(vscode.commands.registerCommand(id, fn));
}
