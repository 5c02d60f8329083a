// Fact edits from the editor: the "Edit a Fact…" command, and request files
// (.mechedit/requests/*.jsonl, one JSON request per line: {"subject", "prompt", "target"},
// {"kind": "concept", "concept", "to"}, or {"kind": "unlearn", "concept"?, "forget"?, "method"?,
// "forms"?, "steps"?, …} with a concept, a forget source or both) with a CodeLens above each
// request — "Compute ROME edit", "ROME + LTI", "MEMIT" for facts, "Redirect (ROCR)" for concepts,
// "Unlearn (<method>)" for unlearning (unlearn.ts: the forget material is the line's "forget", a
// JSONL file or ORT folder, absolute or relative to the workspace folder, else the model's
// eval/ort folder of the concept; what the line leaves out is asked) — and one above the first
// line for a MEMIT edit of every fact in the file. The edits are computed in the engine, saved to
// .mechedit/edits/ and applied — when they took. Before computing, a target the tokenizer splits
// into byte pieces or many tokens gets a warning (Compute Anyway / Cancel). After, an edit whose
// target is not top-1 on its own prompt (or under the P floor, src/core/edits/outcome.ts) is saved
// but not applied, with what happened and Apply Anyway / Open Loss Curve / Try Another Layer.

import * as vscode from 'vscode';
import type { FactMethod, FactRequest, ResultOf } from '../protocol/engine';
import type { EngineService } from './engine/engineService';
import { editsFolder } from './commands';
import { methodLabel, type UnlearnArgs } from './unlearn';

type Method = FactMethod;

const METHOD_NAMES: Record<Method, string> = { rome: 'ROME', memit: 'MEMIT', alphaedit: 'AlphaEdit', dike: 'DiKE', glame: 'GLAME' };
/** ROME, DiKE and GLAME edit one fact at one layer; MEMIT and AlphaEdit a batch over several layers. */
const oneLayer = (m: Method) => m === 'rome' || m === 'dike' || m === 'glame';
export interface FactEditArgs {
  method?: Method;
  lti?: boolean;
  requests?: FactRequest[];
  layer?: number;
  layers?: number[];
  /** Compute even when a target's tokenization makes the edit unlikely to take (no warning asked). */
  force?: boolean;
}

type FactResult = ResultOf<'edits/fact'>;
/** What editFact answers: the engine's result, and for an edit that did not take, the actions offered. */
export type FactEditResult = FactResult & { offered?: string[] };

export const FAILED_ACTIONS = ['Apply Anyway', 'Open Loss Curve', 'Try Another Layer'] as const;

/** The v* loss curve of a computed fact edit as a Markdown document (a table per request, and sparklines). */
export function lossCurveMarkdown(r: Pick<FactResult, 'label' | 'file' | 'vstar' | 'efficacy' | 'succeeded' | 'reason'>): string {
  const bars = '▁▂▃▄▅▆▇█';
  const spark = (xs: number[]) => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return xs.map((x) => bars[hi > lo ? Math.round(((x - lo) / (hi - lo)) * (bars.length - 1)) : 0]).join('');
  };
  const lines = [`# v* loss curve — ${r.label}`, '', `File: ${r.file}`, '', r.succeeded ? 'The edit took.' : `**The edit did not take**: ${r.reason}`, ''];
  r.vstar.forEach((v, i) => {
    const e = r.efficacy[i];
    lines.push(`## ${e ? `${e.prompt} → ${e.target}` : `request ${i + 1}`}`, '', `${v.steps} steps; with the edit, P(target) on its own prompt ${e ? (100 * e.targetProb).toFixed(2) : '—'} %${e ? (e.top1 ? ' (top-1)' : ' (not top-1)') : ''}.`, '');
    lines.push(`loss ${spark(v.curve.map((c) => c.loss))}`, '', `P(target) ${spark(v.curve.map((c) => c.targetProb))}`, '');
    lines.push('| step | loss | NLL | P(target) |', '|---:|---:|---:|---:|');
    v.curve.forEach((c, k) => lines.push(`| ${k + 1} | ${c.loss.toFixed(4)} | ${c.nll.toFixed(4)} | ${(100 * c.targetProb).toFixed(2)} % |`));
    lines.push('');
  });
  return lines.join('\n');
}

async function showLossCurve(r: Parameters<typeof lossCurveMarkdown>[0]): Promise<vscode.TextDocument> {
  const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: lossCurveMarkdown(r) });
  await vscode.window.showTextDocument(doc, { preview: false });
  return doc;
}

/** Asks for other layers (ROME, DiKE: one; MEMIT, AlphaEdit: several), marking the ones just tried. */
async function pickLayers(engine: EngineService, method: Method, tried: number[]): Promise<number[] | undefined> {
  const n = engine.model?.layers ?? 0;
  const items = Array.from({ length: n }, (_, l) => ({ label: `layer ${l}`, description: tried.includes(l) ? 'just tried' : undefined, layer: l, picked: false }));
  if (oneLayer(method)) {
    const pick = await vscode.window.showQuickPick(items, { title: `${METHOD_NAMES[method]}: try which layer?` });
    return pick ? [pick.layer] : undefined;
  }
  const picks = await vscode.window.showQuickPick(items, { title: `${METHOD_NAMES[method]}: try which layers?`, canPickMany: true });
  return picks?.length ? picks.map((p) => p.layer) : undefined;
}

const REQUESTS_GLOB = '**/.mechedit/requests/*.jsonl';

/** Parses one line of a request file; undefined for blank lines, comments and bad JSON. */
function parseLine(text: string): { fact?: FactRequest; concept?: { concept: string; to: string }; unlearn?: UnlearnArgs } | undefined {
  const t = text.trim();
  if (!t || t.startsWith('//')) return undefined;
  try {
    const r = JSON.parse(t) as Record<string, unknown>;
    if (r.kind === 'concept' && typeof r.concept === 'string' && typeof r.to === 'string') return { concept: { concept: r.concept, to: r.to } };
    if (r.kind === 'unlearn' && (typeof r.concept === 'string' || typeof r.forget === 'string')) return { unlearn: unlearnArgs(r) };
    if (typeof r.subject === 'string' && typeof r.prompt === 'string' && typeof r.target === 'string') return { fact: { subject: r.subject, prompt: r.prompt, target: r.target } };
  } catch {
    // Not JSON (yet): no lens on this line.
  }
  return undefined;
}

/**
 * An unlearn request's arguments for *Unlearn…*, as written: a value of the wrong kind is passed
 * on for the engine to refuse by its field name (never dropped in silence); what the line leaves
 * out (method, forms, forget) is asked.
 */
function unlearnArgs(r: Record<string, unknown>): UnlearnArgs {
  const keys = ['concept', 'method', 'forget', 'retain', 'forms', 'layers', 'steps', 'rank', 'lr', 'retainWeight', 'beta', 'uipe', 'stopBelow', 'label'] as const;
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]])) as UnlearnArgs;
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
          new vscode.CodeLens(range, { title: 'AlphaEdit', command: 'mechedit.editFact', arguments: [{ method: 'alphaedit', requests }] }),
          new vscode.CodeLens(range, { title: 'DiKE', command: 'mechedit.editFact', arguments: [{ method: 'dike', requests }] }),
          new vscode.CodeLens(range, { title: 'GLAME', command: 'mechedit.editFact', arguments: [{ method: 'glame', requests }] }),
        );
      } else if (parsed.concept) {
        lenses.push(new vscode.CodeLens(range, { title: 'Redirect (ROCR)', command: 'mechedit.redirectConcept', arguments: [{ concept: parsed.concept.concept, harmless: parsed.concept.to }] }));
      } else if (parsed.unlearn) {
        const u = parsed.unlearn;
        lenses.push(new vscode.CodeLens(range, { title: u.method ? `Unlearn (${methodLabel(u.method)})` : 'Unlearn…', command: 'mechedit.unlearn', arguments: [u] }));
      }
    }
    if (facts.length > 1) {
      lenses.unshift(
        new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title: `Compute one MEMIT edit for all ${facts.length} facts`, command: 'mechedit.editFact', arguments: [{ method: 'memit', requests: facts }] }),
        new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title: `One AlphaEdit edit for all ${facts.length}`, command: 'mechedit.editFact', arguments: [{ method: 'alphaedit', requests: facts }] }),
      );
    }
    return lenses;
  }
}

/** Asks for what is missing (method, subject, prompt, target), computes, saves and applies the edit. */
export async function editFact(engine: EngineService, args: FactEditArgs = {}): Promise<unknown> {
  const model = await engine.requireModel();
  const outDir = editsFolder(model?.path);
  if (!model || !outDir) return undefined;
  let { method, lti } = args;
  if (!method) {
    const pick = await vscode.window.showQuickPick([
      { label: 'ROME', description: 'one fact, rank one at one layer', method: 'rome' as const, lti: false },
      { label: 'ROME + LTI', description: 'EVOKE\'s in-context teacher against editing overfit', method: 'rome' as const, lti: true },
      { label: 'MEMIT', description: 'spread over several layers', method: 'memit' as const, lti: false },
      { label: 'AlphaEdit', description: 'MEMIT in the null space of preserved knowledge; keeps earlier AlphaEdit edits', method: 'alphaedit' as const, lti: false },
      { label: 'DiKE', description: 'one fact; edits only the target-related part of the subject (keeps its other facts)', method: 'dike' as const, lti: false },
      { label: 'GLAME', description: 'one fact; ROME whose value comes from a graph network over what the model\'s world says about the new object', method: 'glame' as const, lti: false },
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
  const name = `${METHOD_NAMES[method]}${lti ? ' + LTI' : ''}`;
  // Before computing: a target the model cannot write in whole tokens rarely takes.
  let force = args.force === true;
  if (!force) {
    try {
      const warnings = (await engine.client.request('edits/checkFact', { requests })).targets.filter((t) => t.warning);
      if (warnings.length) {
        const pick = await vscode.window.showWarningMessage(`MechEdit: ${name}: ${warnings.map((w) => w.warning).join('; ')}.`, { modal: true, detail: 'Compute it anyway? If it does not take, it is saved but not applied.' }, 'Compute Anyway');
        if (pick !== 'Compute Anyway') {
          void vscode.window.showInformationMessage(`MechEdit: ${name} not computed (target warning).`);
          return undefined;
        }
        force = true;
      }
    } catch (err) {
      return engine.report(err, name);
    }
  }
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${name}: ${what}`, cancellable: true }, async (progress, token) => {
    try {
      // ROME's layer: the argument, else the one picked from a causal trace, else the engine's default.
      const layer = args.layer ?? (oneLayer(method!) ? engine.editLayer : undefined);
      // MEMIT's λ from the settings (0 = the papers' value, else from the batch's keys: memit.ts keyEnergyLambda).
      const lambda = method === 'memit' ? vscode.workspace.getConfiguration('mechedit').get<number>('memit.lambda', 0) || undefined : undefined;
      const r: FactEditResult = await engine.client.request('edits/fact', { method: method!, lti, requests: requests!, layer, layers: args.layers, lambda, force, outDir }, { token, onProgress: (p) => progress.report({ message: p.message }) });
      engine.stack = r.state;
      engine.fire();
      const prob = r.efficacy.map((e) => `${(100 * e.targetProb).toFixed(0)} %`).join(', ');
      const saved = vscode.workspace.asRelativePath(r.file);
      if (!r.succeeded) {
        // Saved, not applied: say what happened and why, and offer the ways on.
        r.offered = [...FAILED_ACTIONS];
        const tried = (oneLayer(method!) ? [layer ?? engine.model?.editLayer.layer] : args.layers ?? []).filter((l): l is number => l !== undefined);
        void vscode.window.showWarningMessage(`MechEdit: ${r.label} did not take: ${r.reason}. It was saved as ${saved} but not applied.`, ...FAILED_ACTIONS).then(async (pick) => {
          if (pick === 'Apply Anyway') await engine.changeStack('edits/apply', { file: r.file });
          if (pick === 'Open Loss Curve') await showLossCurve(r);
          if (pick === 'Try Another Layer') {
            const layers = await pickLayers(engine, method!, tried);
            if (layers) await editFact(engine, { method, lti, requests, force: true, ...(oneLayer(method!) ? { layer: layers[0] } : { layers }) });
          }
        });
        return r;
      }
      const warn = r.health.warnings.length ? ` Warnings: ${r.health.warnings.join('; ')}` : '';
      void vscode.window.showInformationMessage(`MechEdit: ${r.label} applied (${(r.computeMs / 1000).toFixed(1)} s; with it, P(target) on its own prompt ${prob}), saved as ${saved}.${warn}`, 'Open', 'Open Loss Curve').then((pick) => {
        if (pick === 'Open') void vscode.window.showTextDocument(vscode.Uri.file(r.file));
        if (pick === 'Open Loss Curve') void showLossCurve(r);
      });
      return r;
    } catch (err) {
      return engine.report(err, name);
    }
  });
}

export function registerFactEdits(context: vscode.ExtensionContext, engine: EngineService): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('mechedit.editFact', (args?: FactEditArgs) => editFact(engine, args)),
    // The loss curve of a computed fact edit (the result editFact returned), as a Markdown document.
    vscode.commands.registerCommand('mechedit.showLossCurve', (r: Parameters<typeof lossCurveMarkdown>[0]) => showLossCurve(r)),
    vscode.languages.registerCodeLensProvider({ pattern: REQUESTS_GLOB }, new RequestLenses()),
  );
}
