// Fact edits from the editor: the "Edit a Fact…" command (the method from the engine's registry,
// factMethodPick.ts) and the request files' CodeLenses (requestLenses.ts). The edits are computed
// in the engine through 'edits/run' with the method's settings by name — the layer picked from a
// causal trace and mechedit.<method>.<setting> values for the methods that take them, and any
// settings the arguments carry (label, seed, corpus, samples, krd, …, checked by the engine
// against the method's descriptor) — saved to .mechedit/edits/ and applied when they took. Before
// computing, a target the tokenizer splits into byte pieces or many tokens, or a subject the model
// does not seem to know, gets a warning (Compute Anyway / Cancel). After, an edit whose target is
// not top-1 on its own prompt (or under the P floor, src/core/edits/outcome.ts) is saved but not
// applied, with what happened and Apply Anyway / Open Loss Curve / Try Another Layer. Every edit
// then opens the Edit Result view (panels/editResultPanel.ts), where the reason and Apply Anyway stay.

import * as vscode from 'vscode';
import type { FactRequest, ResultOf } from '../protocol/engine';
import { factEditors, takesSetting, type MethodDescriptor } from '../protocol/registry';
import { configuredApplyMode } from './applyPolicy';
import type { EngineService } from './engine/engineService';
import { editsFolder } from './commands';
import { pickFactMethod, rememberFactMethod } from './factMethodPick';
import { askFactRequest, askTarget } from './factPicker';
import { configuredValues, withAbsolutePaths } from './methodSettings';
import { pickPreset, preselectedFor } from './presetPick';
import { presetWords } from './presets';
import { REQUESTS_GLOB, RequestLenses, type FactEditArgs } from './requestLenses';
import { RequestProblems } from './requestProblems';
export type { FactEditArgs } from './requestLenses';


type FactResult = ResultOf<'edits/fact'>;
/** A method that edits at one layer (it takes `layer`) rather than several. */
const oneLayer = (d: MethodDescriptor) => takesSetting(d, 'layer');
/** What editFact answers: the engine's result, and for an edit that did not take, the actions offered. */
export type FactEditResult = FactResult & { offered?: string[] };

export const FAILED_ACTIONS = ['Apply Anyway', 'Open Loss Curve', 'Try Another Layer'] as const;

/** An edit that took but the apply policy held back (unhealthy, or policy "never"): the reason first, then Apply Anyway. */
function reportHeldBack(engine: EngineService, r: FactEditResult, saved: string): void {
  r.offered = ['Apply Anyway', 'Open'];
  void vscode.window.showWarningMessage(`MechEdit: ${r.notApplied ?? r.health.warnings[0] ?? 'not applied'}. ${r.label} was saved as ${saved}.`, ...r.offered).then(async (pick) => {
    if (pick === 'Apply Anyway') await engine.changeStack('edits/apply', { file: r.file });
    if (pick === 'Open') void vscode.window.showTextDocument(vscode.Uri.file(r.file));
  });
}

/** Every fact edit ends in the Edit Result view (before / after; a held-back edit's reason first, with Apply Anyway). */
function showResult(r: FactEditResult, heldBack?: string): void {
  void vscode.commands.executeCommand('mechedit.showEditResult', { file: r.file, heldBack });
}

/** The v* loss curve of a computed fact edit as a Markdown document (a table per request, and sparklines). */
export function lossCurveMarkdown(r: Pick<FactResult, 'label' | 'file' | 'vstar' | 'efficacy' | 'succeeded' | 'reason' | 'preset'>): string {
  const bars = '▁▂▃▄▅▆▇█';
  const spark = (xs: number[]) => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return xs.map((x) => bars[hi > lo ? Math.round(((x - lo) / (hi - lo)) * (bars.length - 1)) : 0]).join('');
  };
  const lines = [`# v* loss curve — ${r.label}`, '', `File: ${r.file}`, '', ...(r.preset ? [`Preset: ${r.preset}`, ''] : []), r.succeeded ? 'The edit took.' : `**The edit did not take**: ${r.reason}`, ''];
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

/** Asks for other layers (one for a method that takes `layer`, else several), marking the ones just tried. */
async function pickLayers(engine: EngineService, d: MethodDescriptor, tried: number[]): Promise<number[] | undefined> {
  const n = engine.model?.layers ?? 0;
  const items = Array.from({ length: n }, (_, l) => ({ label: `layer ${l}`, description: tried.includes(l) ? 'just tried' : undefined, layer: l, picked: false }));
  if (oneLayer(d)) {
    const pick = await vscode.window.showQuickPick(items, { title: `${d.label}: try which layer?` });
    return pick ? [pick.layer] : undefined;
  }
  const picks = await vscode.window.showQuickPick(items, { title: `${d.label}: try which layers?`, canPickMany: true });
  return picks?.length ? picks.map((p) => p.layer) : undefined;
}

/** The fact requests: given, else asked (factPicker.ts: subject, prompt, target); a given request without its target gets it asked. */
async function askRequests(engine: EngineService, memory: vscode.Memento, given: FactRequest[] | undefined): Promise<FactRequest[] | undefined> {
  if (given && !(given.length === 1 && !given[0].target)) return given;
  if (given) {
    const r = given[0];
    const target = await askTarget(engine, r.subject, r.prompt);
    return target ? [{ ...r, target }] : undefined;
  }
  const asked = await askFactRequest(engine, memory);
  return asked ? [asked] : undefined;
}

/**
 * The settings sent with the edit: the method's VS Code settings, the layer(s) for a method that
 * takes them (the argument, else the layer picked from a causal trace), LTI, then the arguments'
 * own settings (as given); file paths made absolute.
 */
function editSettings(engine: EngineService, d: MethodDescriptor, args: FactEditArgs, lti: boolean | undefined): Record<string, unknown> {
  const s: Record<string, unknown> = { ...configuredValues(d) };
  if (oneLayer(d)) s.layer = args.layer ?? engine.editLayer;
  if (takesSetting(d, 'layers') && args.layers) s.layers = args.layers;
  if (lti) s.lti = true;
  // A request line's "preset" is the request's preset, not a setting (chooseMethod took it).
  const { preset: _, ...given } = args.settings ?? {};
  return withAbsolutePaths(d, { ...s, ...given });
}

/** Before computing: 'clear' (no warning), 'anyway' (the user chose Compute Anyway), or undefined to stop. */
async function confirmTargets(engine: EngineService, requests: FactRequest[], name: string): Promise<'clear' | 'anyway' | undefined> {
  try {
    // The targets' tokens, and whether the model knows each subject (src/core/edits/subjectCheck.ts).
    const checked = await engine.client.request('edits/checkFact', { requests, subjects: true });
    const warnings = [...checked.targets, ...(checked.subjects ?? [])].filter((t) => t.warning);
    if (!warnings.length) return 'clear';
    const pick = await vscode.window.showWarningMessage(`MechEdit: ${name}: ${warnings.map((w) => w.warning).join('; ')}.`, { modal: true, detail: 'Compute it anyway? If it does not take, it is saved but not applied.' }, 'Compute Anyway');
    if (pick === 'Compute Anyway') return 'anyway';
    void vscode.window.showInformationMessage(`MechEdit: ${name} not computed (${checked.targets.some((t) => t.warning) ? 'target' : 'subject'} warning).`);
    return undefined;
  } catch (err) {
    return engine.report(err, name);
  }
}

/**
 * The fact editor `method` names, or the one asked for, and its preset: the one given (args.preset,
 * or a request line's "preset"), else asked when the method was asked for and has several, else the
 * preselected one (presetPick.ts); undefined (and the user told) when there is no method.
 */
async function chooseMethod(engine: EngineService, memory: vscode.Memento, args: FactEditArgs): Promise<{ d: MethodDescriptor; lti?: boolean; preset?: string } | undefined> {
  let registry;
  try {
    registry = await engine.registry.get();
  } catch (err) {
    return engine.report(err, 'Reading the engine\'s methods');
  }
  const choice = args.method ? { method: args.method, lti: args.lti } : await pickFactMethod(registry, memory);
  if (!choice) return undefined;
  const editors = factEditors(registry);
  const d = editors.find((x) => x.id === choice.method);
  if (!d) {
    void vscode.window.showErrorMessage(`MechEdit: "${choice.method}" is not a fact editor. Use one of: ${editors.map((x) => x.id).join(', ')}.`);
    return undefined;
  }
  await rememberFactMethod(memory, { method: d.id, lti: !!choice.lti });
  const given = args.preset ?? (typeof args.settings?.preset === 'string' ? args.settings.preset : undefined);
  if (given) return { d, lti: choice.lti, preset: given };
  if (args.method) return { d, lti: choice.lti, preset: preselectedFor(d, memory) };
  const picked = await pickPreset(d, memory);
  if (picked.dismissed) return undefined;
  return { d, lti: choice.lti, preset: picked.preset };
}

/** Asks for what is missing (method, subject, prompt, target), computes, saves and applies the edit. */
export async function editFact(engine: EngineService, memory: vscode.Memento, args: FactEditArgs = {}): Promise<unknown> {
  const model = await engine.requireModel();
  const outDir = editsFolder(model?.path);
  if (!model || !outDir) return undefined;
  const chosen = await chooseMethod(engine, memory, args);
  if (!chosen) return undefined;
  const { d, lti, preset } = chosen;
  const requests = await askRequests(engine, memory, args.requests);
  if (!requests) return undefined;
  const what = requests.length === 1 ? `${requests[0].prompt.replace('{}', requests[0].subject)} → ${requests[0].target}` : `${requests.length} facts`;
  const name = `${d.label}${lti ? ' + LTI' : ''}${preset ? ` (${presetWords(preset)})` : ''}`;
  // Before computing: a target the model cannot write in whole tokens rarely takes.
  const check = args.force === true ? 'anyway' : await confirmTargets(engine, requests, name);
  if (!check) return undefined;
  const force = check === 'anyway';
  const settings = editSettings(engine, d, args, lti);
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${name}: ${what}`, cancellable: true }, async (progress, token) => {
    try {
      const ran = await engine.client.request('edits/run', { method: d.id, settings, requests, force, outDir, apply: configuredApplyMode(), ...(preset ? { preset } : {}) }, { token, onProgress: (p) => progress.report({ message: p.message }) });
      const r: FactEditResult = { ...ran, succeeded: ran.succeeded ?? true, applied: ran.applied ?? false, efficacy: ran.efficacy ?? [], vstar: ran.vstar ?? [] };
      engine.stack = r.state;
      engine.fire();
      const saved = vscode.workspace.asRelativePath(r.file);
      if (!r.succeeded) {
        // Saved, not applied: say what happened and why, and offer the ways on.
        r.offered = [...FAILED_ACTIONS];
        const tried = (oneLayer(d) ? [(settings.layer as number | undefined) ?? engine.model?.editLayer.layer] : args.layers ?? []).filter((l): l is number => l !== undefined);
        void vscode.window.showWarningMessage(`MechEdit: ${r.label}${r.preset ? ` (${presetWords(r.preset)})` : ''} did not take: ${r.reason}. It was saved as ${saved} but not applied.`, ...FAILED_ACTIONS).then(async (pick) => {
          if (pick === 'Apply Anyway') await engine.changeStack('edits/apply', { file: r.file });
          if (pick === 'Open Loss Curve') await showLossCurve(r);
          if (pick === 'Try Another Layer') {
            const layers = await pickLayers(engine, d, tried);
            if (layers) await editFact(engine, memory, { ...args, method: d.id, lti, preset, requests, force: true, ...(oneLayer(d) ? { layer: layers[0] } : { layers }) });
          }
        });
        showResult(r, r.notApplied ?? `not applied: the edit did not take (${r.reason})`);
        return r;
      }
      if (!r.applied) {
        reportHeldBack(engine, r, saved);
        showResult(r, r.notApplied);
        return r;
      }
      showResult(r);
      const prob = r.efficacy.map((e) => `${(100 * e.targetProb).toFixed(0)} %`).join(', ');
      const warn = r.health.warnings.length ? ` Warnings: ${r.health.warnings.join('; ')}` : '';
      void vscode.window.showInformationMessage(`MechEdit: ${r.label} applied (${r.preset ? `${presetWords(r.preset)}, ` : ''}${(r.computeMs / 1000).toFixed(1)} s; with it, P(target) on its own prompt ${prob}), saved as ${saved}.${warn}`, 'Open', 'Open Loss Curve').then((pick) => {
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
  const lenses = new RequestLenses(engine);
  context.subscriptions.push(
    lenses,
    new RequestProblems(),
    vscode.commands.registerCommand('mechedit.editFact', (args?: FactEditArgs) => editFact(engine, context.workspaceState, args)),
    // The loss curve of a computed fact edit (the result editFact returned), as a Markdown document.
    vscode.commands.registerCommand('mechedit.showLossCurve', (r: Parameters<typeof lossCurveMarkdown>[0]) => showLossCurve(r)),
    vscode.languages.registerCodeLensProvider({ pattern: REQUESTS_GLOB }, lenses),
  );
}
