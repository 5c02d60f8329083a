// Edit files in the editor (.mechedit/edits/*.json): a CodeLens above each — Apply or Revert,
// Diagnose (this edit alone on the unedited model, on its own request: efficacy, paraphrases, the
// subject's other relations, neighbours, prefix distraction, or ORT's forms for a concept edit,
// in the Diagnostics panel; the user's stack is not touched), Health — and a hover with
// the edit's health numbers and warnings. Failing health checks are listed in the Problems panel
// on the file; a file that is not JSON or breaks the schema gets an error there too
// (editFileProblems.ts). "Copy Reproducibility Card" puts the model fingerprint, the edits (file, request,
// settings) and the engine and extension versions on the clipboard as Markdown: the stack's, or,
// from an Edits-view row (or given a file), that edit's alone. Diagnose takes a row as well.

import * as vscode from 'vscode';
import type { EngineService } from './engine/engineService';

import { EDITS_GLOB } from './views/editsView';
import { rowUri } from './views/editActions';
import { editPreset } from './presets';
import { EditFileProblems } from './editFileProblems';
import { editFileProblem } from '../protocol/editSchema';

interface EditJsonLite {
  id?: string;
  label?: string;
  method?: string;
  modelFingerprint?: string;
  targets?: { layer: number; module: string; rank: number }[];
  request?: Record<string, unknown>;
  hparams?: Record<string, unknown>;
  health?: { targets?: { layer: number; module: string; relNorm: number; keyScore?: number }[]; klNeutral?: number; warnings?: string[] };
  created?: string;
}

function parse(doc: vscode.TextDocument): EditJsonLite | undefined {
  try {
    const j = JSON.parse(doc.getText()) as EditJsonLite;
    return j && typeof j === 'object' && typeof j.id === 'string' ? j : undefined;
  } catch {
    return undefined;
  }
}

/** The health of an edit as Markdown lines. */
export function healthLines(j: EditJsonLite): string[] {
  const h = j.health;
  if (!h) return ['No health report in this file (compute the edit with MechEdit to get one).'];
  const lines = (h.targets ?? []).map((t) => `- layer ${t.layer} ${t.module}: ‖ΔW‖/‖W‖ = ${t.relNorm.toFixed(3)}${t.keyScore !== undefined ? `, kᵀC⁻¹k/d = ${t.keyScore.toFixed(2)}` : ''}`);
  lines.push(`- KL on neutral prompts: ${h.klNeutral?.toFixed(4) ?? '—'} nats`);
  for (const w of h.warnings ?? []) lines.push(`- ⚠ ${w}`);
  return lines;
}

class EditLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;
  constructor(private readonly engine: EngineService) {
    this.subscription = engine.onDidChange(() => this.changed.fire());
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    const j = parse(doc);
    const applied = !!j && this.engine.stack.items.some((i) => i.id === j.id);
    // A broken file (not JSON, or against the schema) offers no Apply: one lens says so and opens Problems.
    const problem = applied ? undefined : editFileProblem(doc.getText());
    if (problem) return [new vscode.CodeLens(top, { title: `Broken: cannot be applied (${problem.field ? `"${problem.field}"` : 'not valid JSON'}; see Problems)`, command: 'workbench.actions.view.problems' })];
    if (!j) return [];
    return [
      applied
        ? new vscode.CodeLens(top, { title: 'Revert', command: 'mechedit.revertEdit', arguments: [doc.uri] })
        : new vscode.CodeLens(top, { title: 'Apply', command: 'mechedit.applyEdit', arguments: [doc.uri] }),
      new vscode.CodeLens(top, { title: 'Diagnose', command: 'mechedit.diagnoseEdit', arguments: [doc.uri] }),
      new vscode.CodeLens(top, { title: `Health${j.health?.warnings?.length ? ` (${j.health.warnings.length} warning${j.health.warnings.length > 1 ? 's' : ''})` : ''}`, command: 'mechedit.showEditHealth', arguments: [doc.uri] }),
    ];
  }
}

class EditHover implements vscode.HoverProvider {
  constructor(private readonly engine: EngineService) {}

  provideHover(doc: vscode.TextDocument): vscode.Hover | undefined {
    const j = parse(doc);
    if (!j) return undefined;
    const applied = this.engine.stack.items.find((i) => i.id === j.id);
    const md = new vscode.MarkdownString([
      `**${j.label ?? j.id}** — ${j.method ?? 'edit'}${editPreset(j) ? ` (preset ${editPreset(j)})` : ''}${applied ? `, applied${applied.enabled ? '' : ' (disabled)'} at strength ${applied.strength}` : ', not applied'}`,
      '',
      ...(j.targets ?? []).map((t) => `- layer ${t.layer} ${t.module}, rank ${t.rank}`),
      '',
      '**Health**',
      ...healthLines(j),
    ].join('\n'));
    return new vscode.Hover(md);
  }
}

/** The card's lines for an edit file: where it is, its preset, request and settings (with `head`, its label, id, method and targets first). */
async function fileLines(file: string, head = false): Promise<string[]> {
  const lines = [`- file: ${vscode.workspace.asRelativePath(file)}`];
  try {
    const j = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.file(file))).toString('utf8')) as EditJsonLite;
    if (head) lines.unshift(`### ${j.label ?? j.id ?? 'edit'}`, `- id ${j.id ?? '—'}, ${j.method ?? '—'}; targets: ${(j.targets ?? []).map((t) => `layer ${t.layer} ${t.module} rank ${t.rank}`).join('; ')}`);
    if (editPreset(j)) lines.push(`- preset: ${editPreset(j)}`);
    if (j.request) lines.push(`- request: \`${JSON.stringify(j.request)}\``);
    if (j.hparams) lines.push(`- settings: \`${JSON.stringify({ ...j.hparams, templates: undefined })}\``);
  } catch {
    lines.push('- (the file could not be read)');
  }
  return lines;
}

/**
 * Markdown describing the open model and every edit of the stack, enough to redo the run; with
 * `only` (an edit file), that edit alone, applied or not.
 */
export async function reproducibilityCard(engine: EngineService, extensionVersion: string, only?: string): Promise<string> {
  const m = engine.model;
  const info = await engine.refreshInfo().catch(() => undefined);
  const lines = ['# MechEdit reproducibility card', '', `- created: ${new Date().toISOString()}`, `- MechEdit ${extensionVersion}; engine ${info?.engineVersion ?? '—'}; onnxruntime ${info?.ortVersion ?? '—'}; provider ${info?.resolvedProvider ?? m?.executionProvider ?? '—'}`];
  lines.push(m ? `- model: ${m.path} (${m.architecture}, ${m.layers} layers, fingerprint ${m.fingerprint})` : '- model: none open');
  if (only) {
    const item = engine.stack.items.find((i) => i.file && vscode.Uri.file(i.file).fsPath === vscode.Uri.file(only).fsPath);
    lines.push('', '## Edit', '', ...(await fileLines(only, true)), `- ${item ? `applied: ${item.enabled ? 'enabled' : 'disabled'}, strength ${item.strength}` : 'not applied'}`);
    return `${lines.join('\n')}\n`;
  }
  lines.push('', '## Edit stack (applied in this order)');
  if (engine.stack.items.length === 0) lines.push('', 'No edits: the unedited model.');
  for (const item of engine.stack.items) {
    lines.push('', `### ${item.label}`, `- id ${item.id}, ${item.method}, ${item.enabled ? 'enabled' : 'disabled'}, strength ${item.strength}`, `- targets: ${item.targets.map((t) => `layer ${t.layer} ${t.module} rank ${t.rank}`).join('; ')}`);
    if (item.file) lines.push(...(await fileLines(item.file)));
  }
  return `${lines.join('\n')}\n`;
}

export function registerEditFiles(context: vscode.ExtensionContext, engine: EngineService, showDiagnostics: () => { notify(m: 'run', p: { kind: 'edit'; file: string }): void }): void {
  const problems = vscode.languages.createDiagnosticCollection('mechedit');
  const check = (doc: vscode.TextDocument) => {
    if (!vscode.languages.match({ pattern: EDITS_GLOB }, doc)) return;
    const j = parse(doc);
    const warnings = j?.health?.warnings ?? [];
    problems.set(doc.uri, warnings.map((w) => {
      const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 1), `Edit health: ${w}`, vscode.DiagnosticSeverity.Warning);
      d.source = 'MechEdit';
      return d;
    }));
  };
  const lenses = new EditLenses(engine);
  const withDoc = async (uri?: vscode.Uri) => {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    return target ? vscode.workspace.openTextDocument(target) : undefined;
  };
  context.subscriptions.push(
    problems,
    new EditFileProblems(),
    lenses,
    vscode.languages.registerCodeLensProvider({ pattern: EDITS_GLOB }, lenses),
    vscode.languages.registerHoverProvider({ pattern: EDITS_GLOB }, new EditHover(engine)),
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidSaveTextDocument(check),
    vscode.commands.registerCommand('mechedit.showEditHealth', async (uri?: vscode.Uri) => {
      const doc = await withDoc(uri);
      const j = doc && parse(doc);
      if (!j) return undefined;
      const text = healthLines(j).map((l) => l.replace(/^- /, '')).join(' · ');
      void (j.health?.warnings?.length ? vscode.window.showWarningMessage(`MechEdit: ${j.label}: ${text}`) : vscode.window.showInformationMessage(`MechEdit: ${j.label}: ${text}`));
      return j.health;
    }),
    vscode.commands.registerCommand('mechedit.diagnoseEdit', async (arg?: unknown) => {
      const doc = await withDoc(rowUri(arg));
      const j = doc && parse(doc);
      if (!doc || !j) {
        void vscode.window.showWarningMessage('MechEdit: Diagnose This Edit needs an edit file (.mechedit/edits/*.json) open or given.');
        return undefined;
      }
      // The edit alone, in the engine, on its own request: nothing is applied or switched off.
      showDiagnostics().notify('run', { kind: 'edit', file: doc.uri.fsPath });
      return j.id;
    }),
    vscode.commands.registerCommand('mechedit.copyReproducibilityCard', async (arg?: unknown) => {
      const only = rowUri(arg)?.fsPath;
      const card = await reproducibilityCard(engine, String(context.extension.packageJSON.version), only);
      await vscode.env.clipboard.writeText(card);
      void vscode.window.showInformationMessage(`MechEdit: reproducibility card copied (${only ? vscode.workspace.asRelativePath(only) : `${engine.stack.items.length} edit(s)`}).`);
      return card;
    }),
  );
  for (const doc of vscode.workspace.textDocuments) check(doc);
}
