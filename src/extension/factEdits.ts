// Fact edits from the editor: the "Edit a Fact (ROME / MEMIT)…" command, and request files
// (.mechedit/requests/*.jsonl, one JSON request per line: {"subject", "prompt", "target"} or
// {"kind": "concept", "concept", "to"}) with a CodeLens above each request — "Compute ROME edit",
// "ROME + LTI", "MEMIT" for facts, "Redirect (ROCR)" for concepts — and one above the first line
// for a MEMIT edit of every fact in the file. The edits are computed in the engine, saved to
// .mechedit/edits/ and applied.

import * as vscode from 'vscode';
import type { FactRequest } from '../protocol/engine';
import type { EngineService } from './engine/engineService';
import { editsFolder } from './commands';

type Method = 'rome' | 'memit';
export interface FactEditArgs {
  method?: Method;
  lti?: boolean;
  requests?: FactRequest[];
  layer?: number;
  layers?: number[];
}

const REQUESTS_GLOB = '**/.mechedit/requests/*.jsonl';

/** Parses one line of a request file; undefined for blank lines, comments and bad JSON. */
function parseLine(text: string): { fact?: FactRequest; concept?: { concept: string; to: string } } | undefined {
  const t = text.trim();
  if (!t || t.startsWith('//')) return undefined;
  try {
    const r = JSON.parse(t) as Record<string, unknown>;
    if (r.kind === 'concept' && typeof r.concept === 'string' && typeof r.to === 'string') return { concept: { concept: r.concept, to: r.to } };
    if (typeof r.subject === 'string' && typeof r.prompt === 'string' && typeof r.target === 'string') return { fact: { subject: r.subject, prompt: r.prompt, target: r.target } };
  } catch {
    // Not JSON (yet): no lens on this line.
  }
  return undefined;
}

class RequestLenses implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const lenses: vscode.CodeLens[] = [];
    const facts: FactRequest[] = [];
    for (let i = 0; i < doc.lineCount; i++) {
      const parsed = parseLine(doc.lineAt(i).text);
      if (!parsed) continue;
      const range = doc.lineAt(i).range;
      if (parsed.fact) {
        const requests = [parsed.fact];
        facts.push(parsed.fact);
        lenses.push(
          new vscode.CodeLens(range, { title: 'Compute ROME edit', command: 'mechedit.editFact', arguments: [{ method: 'rome', requests }] }),
          new vscode.CodeLens(range, { title: 'ROME + LTI', command: 'mechedit.editFact', arguments: [{ method: 'rome', lti: true, requests }] }),
          new vscode.CodeLens(range, { title: 'MEMIT', command: 'mechedit.editFact', arguments: [{ method: 'memit', requests }] }),
        );
      } else if (parsed.concept) {
        lenses.push(new vscode.CodeLens(range, { title: 'Redirect (ROCR)', command: 'mechedit.redirectConcept', arguments: [{ concept: parsed.concept.concept, harmless: parsed.concept.to }] }));
      }
    }
    if (facts.length > 1) lenses.unshift(new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title: `Compute one MEMIT edit for all ${facts.length} facts`, command: 'mechedit.editFact', arguments: [{ method: 'memit', requests: facts }] }));
    return lenses;
  }
}

/** Asks for what is missing (method, subject, prompt, target), computes, saves and applies the edit. */
export async function editFact(engine: EngineService, args: FactEditArgs = {}): Promise<unknown> {
  const model = await engine.requireModel();
  const outDir = editsFolder();
  if (!model || !outDir) return undefined;
  let { method, lti } = args;
  if (!method) {
    const pick = await vscode.window.showQuickPick([
      { label: 'ROME', description: 'one fact, rank one at one layer', method: 'rome' as const, lti: false },
      { label: 'ROME + LTI', description: 'EVOKE\'s in-context teacher against editing overfit', method: 'rome' as const, lti: true },
      { label: 'MEMIT', description: 'spread over several layers', method: 'memit' as const, lti: false },
    ], { title: 'Edit a fact with which method?' });
    if (!pick) return undefined;
    ({ method, lti } = pick);
  }
  let requests = args.requests;
  if (!requests) {
    const subject = await vscode.window.showInputBox({ title: 'Edit a fact: the subject', placeHolder: 'Ada Lovelace', ignoreFocusOut: true });
    if (!subject) return undefined;
    const prompt = await vscode.window.showInputBox({ title: 'The prompt, with {} where the subject goes', value: '{} was born in', ignoreFocusOut: true, validateInput: (v) => (v.includes('{}') ? undefined : 'Put {} where the subject goes.') });
    if (!prompt) return undefined;
    const target = await vscode.window.showInputBox({ title: `${prompt.replace('{}', subject)} … (the new target)`, ignoreFocusOut: true });
    if (!target) return undefined;
    requests = [{ subject, prompt, target }];
  } else if (requests.length === 1 && !requests[0].target) {
    const r = requests[0];
    const target = await vscode.window.showInputBox({ title: `${r.prompt.replace('{}', r.subject)} … (the new target)`, ignoreFocusOut: true });
    if (!target) return undefined;
    requests = [{ ...r, target }];
  }
  const what = requests.length === 1 ? `${requests[0].prompt.replace('{}', requests[0].subject)} → ${requests[0].target}` : `${requests.length} facts`;
  const name = `${method === 'rome' ? 'ROME' : 'MEMIT'}${lti ? ' + LTI' : ''}`;
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${name}: ${what}`, cancellable: true }, async (progress, token) => {
    try {
      // ROME's layer: the argument, else the one picked from a causal trace, else the engine's default.
      const layer = args.layer ?? (method === 'rome' ? engine.editLayer : undefined);
      // MEMIT's λ from the settings (0 = the papers' value, scaled by d_mlp on other models).
      const lambda = method === 'memit' ? vscode.workspace.getConfiguration('mechedit').get<number>('memit.lambda', 0) || undefined : undefined;
      const r = await engine.client.request('edits/fact', { method: method!, lti, requests: requests!, layer, layers: args.layers, lambda, outDir }, { token, onProgress: (p) => progress.report({ message: p.message }) });
      engine.stack = r.state;
      engine.fire();
      const prob = r.vstar.map((v) => `${(100 * v.targetProb).toFixed(0)} %`).join(', ');
      const warn = r.health.warnings.length ? ` Warnings: ${r.health.warnings.join('; ')}` : '';
      void vscode.window.showInformationMessage(`MechEdit: ${r.label} applied (${(r.computeMs / 1000).toFixed(1)} s; v* reached P(target) ${prob}), saved as ${vscode.workspace.asRelativePath(r.file)}.${warn}`, 'Open').then((pick) => pick && vscode.window.showTextDocument(vscode.Uri.file(r.file)));
      return r;
    } catch (err) {
      return engine.report(err, name);
    }
  });
}

export function registerFactEdits(context: vscode.ExtensionContext, engine: EngineService): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('mechedit.editFact', (args?: FactEditArgs) => editFact(engine, args)),
    vscode.languages.registerCodeLensProvider({ pattern: REQUESTS_GLOB }, new RequestLenses()),
  );
}
