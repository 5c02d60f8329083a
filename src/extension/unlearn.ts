// *MechEdit: Unlearn…*: gradient unlearning of a concept as a low-rank edit (the registry's training
// objectives; docs/methods/unlearn.md). Asks for what its arguments leave out — the method, the
// forget material (the open model's eval/ort/<n>_<Name>/ folders, or a JSONL file / ORT folder
// chosen on disk), the forms trained on (default: question–answer only) — then trains in the
// engine ('unlearn/run') while the Unlearning panel draws the loss and the forget items' top-1
// accuracy per step, with Cancel. The edit is saved to .mechedit/edits/ and applied: it lands in
// the Edits and Edit Strengths views like any other. Reached from the command palette, the
// Concepts panel ("Unlearn…", with its concept) and request files ({"kind": "unlearn", …}).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { UnlearnOutcome, UnlearnParams } from '../protocol/engine';
import { labelOf, type RegistryDescription } from '../protocol/registry';
import type { EngineService } from './engine/engineService';
import { editsFolder } from './commands';
import { configuredApplyMode } from './applyPolicy';
import type { UnlearnRun } from './panels/unlearnPanel';
import type { UnlearnContext } from '../protocol/panels';
import { ProgressClock } from '../protocol/progress';
import { pickPreset, preselectedFor } from './presetPick';
import { noticeIfUnfocused } from './notice';

/** The unlearning run's apply mode from mechedit.applyPolicy ('if-succeeded' has no meaning here: no outcome, health decides). */
function configuredApplyModeForUnlearn(): 'if-healthy' | 'always' | 'never' {
  const mode = configuredApplyMode();
  return mode === 'if-succeeded' ? 'if-healthy' : mode;
}

/** The neighbour sets' loss_prob before → after, for the toast ("; neighbour sets (loss_prob): fill-in 100 → 72 %, …"). */
function neighbourText(r: UnlearnOutcome): string {
  const rows = r.neighbours?.rows.filter((x) => x.before.lossProb > 0) ?? [];
  return rows.length ? `; neighbour sets (loss_prob, not trained on): ${rows.map((x) => `${x.form} ${(100 * x.before.lossProb).toFixed(0)} → ${(100 * x.after.lossProb).toFixed(0)} %`).join(', ')}` : '';
}

/** The run's toast: applied with its figures, or held back by the apply policy (the reason first, then Apply Anyway). */
function reportOutcome(engine: EngineService, r: UnlearnOutcome): void {
  const saved = vscode.workspace.asRelativePath(r.file);
  const open = (pick: string | undefined) => {
    if (pick === 'Open') void vscode.window.showTextDocument(vscode.Uri.file(r.file));
    if (pick === 'Diagnose') void vscode.commands.executeCommand('mechedit.diagnoseEdit', vscode.Uri.file(r.file));
  };
  if (!r.applied) {
    void vscode.window.showWarningMessage(`MechEdit: ${r.notApplied ?? r.health.warnings[0] ?? 'not applied'}. ${r.label} was saved as ${saved}.`, 'Apply Anyway', 'Open', 'Diagnose').then(async (pick) => {
      if (pick === 'Apply Anyway') await engine.changeStack('edits/apply', { file: r.file });
      open(pick);
    });
    return;
  }
  const f = r.figures;
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const warn = r.health.warnings.length ? ` Warnings: ${r.health.warnings.join('; ')}` : '';
  void vscode.window.showInformationMessage(
    `MechEdit: ${r.label} applied (preset ${r.preset}, ${r.curve.length} steps, ${(r.computeMs / 1000).toFixed(1)} s): forget top-1 ${pct(f.forgetTop1[0])} → ${pct(f.forgetTop1[1])}, training retain set top-1 ${pct(f.retainTop1[0])} → ${pct(f.retainTop1[1])}${neighbourText(r)}; saved as ${saved}.${warn}`,
    'Open', 'Diagnose',
  ).then(open);
}

/**
 * The command's arguments (request files and the Concepts panel pass some; the rest is asked):
 * 'unlearn/run''s params, all optional, with `forget` / `retain` absolute or relative to the
 * workspace folder and `forms: []` for every form.
 */
export type UnlearnArgs = Partial<Omit<UnlearnParams, 'outDir' | 'progressToken'>>;

/** The objective the quick pick recommends (listed first, marked); the others follow in registry order. */
export const RECOMMENDED_OBJECTIVE = 'graddiff';

/** An objective's label from the registry (its id when the registry has not arrived or lacks it). */
export const methodLabel = (r: RegistryDescription | undefined, id: string): string => (r ? labelOf(r, id) : id);

/** The canonical forms (src/core/train/unlearnData.ts) as the quick pick names them. */
const FORM_NAMES: Record<string, string> = {
  qa: 'question–answer',
  cloze: 'cloze (fill-in)',
  adversarial: 'adversarial',
  mcq: 'multiple choice',
  tf: 'true / false',
  passage: 'passage',
  positive: 'positive statements',
  pair: 'pairs',
};

/** The open model's ORT target folders (eval/ort/<n>_<Name>/), by name. */
function ortFolders(modelDir: string): string[] {
  const dir = path.join(modelDir, 'eval', 'ort');
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(dir, d.name)).sort();
  } catch {
    return [];
  }
}

/** What the Unlearning panel's form offers: the open model's ORT targets and the registry's objectives (the recommended first). */
export async function unlearnContext(engine: EngineService): Promise<UnlearnContext> {
  const model = engine.model;
  const registry = await engine.registry.get();
  const objectives = [...registry.objectives]
    .sort((a, b) => Number(b.id === RECOMMENDED_OBJECTIVE) - Number(a.id === RECOMMENDED_OBJECTIVE))
    .map((d) => ({ id: d.id, label: d.label, description: d.description }));
  return { model: !!model, forgets: model ? ortFolders(model.path).map((dir) => ({ label: path.basename(dir), path: dir })) : [], objectives };
}

/** The folder's concept: "1_Veltrazine" → "Veltrazine". */
const folderConcept = (dir: string): string => path.basename(dir).replace(/^\d+_/, '');

/** A path from a request file or an argument: absolute, or relative to the first workspace folder. */
function resolvePath(p: string): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return path.isAbsolute(p) || !ws ? path.resolve(p) : path.resolve(ws, p);
}

async function pickMethod(r: RegistryDescription): Promise<string | undefined> {
  const items = [...r.objectives]
    .sort((a, b) => Number(b.id === RECOMMENDED_OBJECTIVE) - Number(a.id === RECOMMENDED_OBJECTIVE))
    .map((d) => ({ label: d.label, description: d.id === RECOMMENDED_OBJECTIVE ? `recommended · ${d.description}` : d.description, id: d.id }));
  const recommended = items.find((i) => i.id === RECOMMENDED_OBJECTIVE);
  const pick = await vscode.window.showQuickPick(items, { title: 'Unlearn with which method?', placeHolder: recommended ? `${recommended.label} is the recommended default` : undefined });
  return pick?.id;
}

/** The registry and the objective: `given`, else asked; undefined when the registry cannot be read or nothing was picked. */
async function chooseObjective(engine: EngineService, given: string | undefined): Promise<{ registry: RegistryDescription; method: string } | undefined> {
  let registry: RegistryDescription;
  try {
    registry = await engine.registry.get();
  } catch (err) {
    return engine.report(err, 'Reading the engine\'s methods');
  }
  const method = given ?? (await pickMethod(registry));
  return method ? { registry, method } : undefined;
}

/**
 * The objective's preset: given, else (the objective given too: a request file, the Concepts panel)
 * the preselected one, else asked when it has several (the last used preselected); null when the
 * pick was dismissed.
 */
async function choosePreset(r: RegistryDescription, method: string, args: UnlearnArgs, memory: vscode.Memento | undefined): Promise<string | undefined | null> {
  const d = r.objectives.find((x) => x.id === method);
  if (args.preset || !d || !memory) return args.preset;
  if (args.method) return preselectedFor(d, memory);
  const picked = await pickPreset(d, memory);
  return picked.dismissed ? null : picked.preset;
}

/** The forget material: the model's ORT folders (the concept's first), or a file or folder chosen on disk. */
async function pickForget(modelDir: string, concept: string | undefined): Promise<string | undefined> {
  const key = concept?.toLowerCase();
  const folders = ortFolders(modelDir).sort((a, b) => Number(folderConcept(b).toLowerCase() === key) - Number(folderConcept(a).toLowerCase() === key));
  const choose = { label: '$(folder-opened) Choose a file or folder…', description: 'a JSONL file of {prompt, answer} records, or an ORT target folder', dir: '' };
  const items = [
    ...folders.map((dir) => ({ label: path.basename(dir), description: folderConcept(dir).toLowerCase() === key ? `the concept "${concept}" · the model's ORT target` : "the model's ORT target", dir })),
    choose,
  ];
  const pick = await vscode.window.showQuickPick(items, { title: `Unlearn${concept ? ` "${concept}"` : ''}: what to forget?` });
  if (!pick) return undefined;
  if (pick.dir) return pick.dir;
  const picked = await vscode.window.showOpenDialog({ title: 'The forget material: a JSONL file ({prompt, answer} per line) or an ORT target folder', canSelectFiles: true, canSelectFolders: true, canSelectMany: false, openLabel: 'Forget this' });
  return picked?.[0]?.fsPath;
}

/** The forms to train on, from what the material holds (question–answer checked). */
async function pickForms(engine: EngineService, forget: string, retain: string | undefined): Promise<string[] | undefined> {
  const info = await engine.client.request('unlearn/material', { forget, retain });
  if (info.forms.length <= 1) return info.forms.map((f) => f.form);
  const defaults = info.forms.some((f) => f.form === 'qa') ? ['qa'] : info.forms.map((f) => f.form);
  const picks = await vscode.window.showQuickPick(
    info.forms.map((f) => ({ label: FORM_NAMES[f.form] ?? f.form, description: `${f.form} · ${f.items} item${f.items === 1 ? '' : 's'}`, form: f.form, picked: defaults.includes(f.form) })),
    { title: `Train on which forms of ${info.name}? (the others show whether the forgetting carries over)`, canPickMany: true },
  );
  return picks?.length ? picks.map((p) => p.form) : undefined;
}

/** Asks for what `args` leave out, trains in the engine with the Unlearning panel open, saves and applies the edit. */
export async function unlearn(engine: EngineService, run: UnlearnRun, showPanel: () => void, args: UnlearnArgs = {}, memory?: vscode.Memento): Promise<UnlearnOutcome | undefined> {
  if (run.running) {
    void vscode.window.showWarningMessage('MechEdit: an unlearning run is in progress: cancel it (Unlearning panel) or wait for it first.');
    showPanel();
    return undefined;
  }
  const model = await engine.requireModel();
  const outDir = editsFolder(model?.path);
  if (!model || !outDir) return undefined;
  const chosen = await chooseObjective(engine, args.method);
  if (!chosen) return undefined;
  const { registry, method } = chosen;
  const preset = await choosePreset(registry, method, args, memory);
  if (preset === null) return undefined;
  // Paths from a request file: absolute or relative to the workspace folder (anything else goes to the engine as written, refused by field).
  let forget = typeof args.forget === 'string' && args.forget ? resolvePath(args.forget) : args.forget;
  if (!forget) {
    // A concept with its own ORT folder in the model needs no question when the rest is given.
    const own = args.concept ? ortFolders(model.path).find((d) => folderConcept(d).toLowerCase() === args.concept!.toLowerCase()) : undefined;
    forget = own && args.forms ? own : await pickForget(model.path, args.concept);
  }
  if (!forget) return undefined;
  const retain = typeof args.retain === 'string' && args.retain ? resolvePath(args.retain) : args.retain;
  let forms = args.forms;
  if (!forms) {
    try {
      forms = await pickForms(engine, forget, retain);
    } catch (err) {
      return engine.report(err, 'Reading the forget material');
    }
    if (!forms) return undefined;
  }
  const concept = args.concept ?? (typeof forget === 'string' && fs.existsSync(forget) && fs.statSync(forget).isDirectory() ? folderConcept(forget) : undefined);
  const params: UnlearnParams = {
    method, preset, forget, retain, forms: Array.isArray(forms) && forms.length === 0 ? undefined : forms, concept, outDir,
    steps: args.steps, layers: args.layers, rank: args.rank, lr: args.lr, retainWeight: args.retainWeight, beta: args.beta, uipe: args.uipe, stopBelow: args.stopBelow, label: args.label,
    apply: args.apply ?? configuredApplyModeForUnlearn(),
  };
  const formList = Array.isArray(forms) ? forms.map(String) : [String(forms)];
  const material = typeof forget === 'string' ? path.basename(forget) : String(forget);
  const name = `${methodLabel(registry, method)}${preset ? ` (preset ${preset})` : ''}: unlearning ${concept ? `"${concept}"` : material}${formList.length ? ` (${formList.join(', ')})` : ''}`;
  const cts = new vscode.CancellationTokenSource();
  const clock = new ProgressClock('steps');
  run.start({ method, methodLabel: methodLabel(registry, method), preset, concept, material, forms: formList }, () => cts.cancel());
  showPanel();
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${name}`, cancellable: true }, async (progress, token) => {
      const sub = token.onCancellationRequested(() => cts.cancel());
      try {
        const r = await engine.client.request('unlearn/run', params, {
          token: cts.token,
          timeoutMs: 0,
          onProgress: (p) => {
            // A step: done / total, rate and time left first, then the engine's figures; after training, its phase.
            const text = p.point ? clock.text(p.done, p.total) : undefined;
            run.progress(p, text);
            progress.report({ message: text ? `${text} · ${p.message?.replace(/^step [^:]*: /, '') ?? ''}` : p.message });
          },
        });
        run.finish(r);
        engine.stack = r.state;
        engine.fire();
        reportOutcome(engine, r);
        noticeIfUnfocused(`MechEdit: unlearning finished: ${r.label} (${r.curve.length} steps, ${(r.computeMs / 1000).toFixed(1)} s).`, () => showPanel());
        return r;
      } catch (err) {
        run.fail(err);
        if (run.snapshot?.status === 'error') noticeIfUnfocused('MechEdit: the unlearning run failed.', () => showPanel());
        return engine.report(err, 'Unlearning');
      } finally {
        sub.dispose();
      }
    });
  } finally {
    cts.dispose();
  }
}

export function registerUnlearn(context: vscode.ExtensionContext, engine: EngineService, run: UnlearnRun, showPanel: () => void): void {
  context.subscriptions.push(
    run,
    vscode.commands.registerCommand('mechedit.unlearn', (args?: UnlearnArgs) => unlearn(engine, run, showPanel, args ?? {}, context.workspaceState)),
    vscode.commands.registerCommand('mechedit.showUnlearning', () => showPanel()),
  );
}
