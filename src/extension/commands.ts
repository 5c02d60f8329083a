// Commands contributed in package.json (category "MechEdit"). Each is registered here, and a
// unit-free integration test checks that every contributed command is registered.

import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SelfTestResult } from '../protocol/engine';
import type { EngineService } from './engine/engineService';
import { SECTION } from './settings';

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

/** Asks for a prompt (remembering the last one) and shows the most likely next tokens. */
async function predictNext(engine: EngineService, state: vscode.Memento): Promise<unknown> {
  if (!(await engine.requireModel())) return undefined;
  const prompt = await vscode.window.showInputBox({ title: 'MechEdit: predict the next token', prompt: 'Prompt', value: state.get('mechedit.lastPrompt', ''), ignoreFocusOut: true });
  if (!prompt) return undefined;
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

/** Generates from a prompt, streaming tokens into a new untitled document. */
async function generateText(engine: EngineService, state: vscode.Memento): Promise<unknown> {
  if (!(await engine.requireModel())) return undefined;
  const prompt = await vscode.window.showInputBox({ title: 'MechEdit: generate', prompt: 'Prompt', value: state.get('mechedit.lastPrompt', ''), ignoreFocusOut: true });
  if (!prompt) return undefined;
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

export function registerCommands(
  context: vscode.ExtensionContext,
  engine: EngineService,
  actions: { showEnginePanel(): void; refreshEdits(): void },
): void {
  const table: Record<string, (...args: unknown[]) => unknown> = {
    'mechedit.openModel': () => openModelFolder(),
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
    'mechedit.predict': () => predictNext(engine, context.workspaceState),
    'mechedit.generate': () => generateText(engine, context.workspaceState),
    'mechedit.showLog': () => engine.output.show(),
    'mechedit.openSettings': () => vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${context.extension.id}`),
    'mechedit.refreshEdits': () => actions.refreshEdits(),
  };
  for (const [id, fn] of Object.entries(table)) context.subscriptions.push(vscode.commands.registerCommand(id, fn));
}
