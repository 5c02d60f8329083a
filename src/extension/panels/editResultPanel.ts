// The Edit Result view: one edit, before and after (the engine's edits/compare: the edit alone on
// the unedited model, the user's stack untouched), with Apply / Revert / Diagnose / Try layer N.
// Every fact-edit entry point ends here (factEdits.ts: Edit a Fact…, the request files' lenses,
// Try Another Layer), and the Edits view's "Show Result". When the edit is not on the stack, the
// apply policy's reason comes first with Apply Anyway: the reason the run gave, else the policy's
// decision (src/protocol/applyPolicy.ts) on what edits/compare measured and the file's health.
// The layer list's predicted effects come from a causal trace of the same prompt on this model
// when one was run (lastTrace.ts), else from the engine's fast v* probe (compareEdit.ts).

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { EditCompareResult, EditResultData, EditResultPanel as Protocol } from '../../protocol/editResult';
import { decideApply } from '../../protocol/applyPolicy';
import { takesSetting } from '../../protocol/registry';
import type { EngineService } from '../engine/engineService';
import { configuredApplyMode } from '../applyPolicy';
import { PanelHost, type PanelDescriptor, type RequestHandlers } from '../webview/panelHost';
import { traceOf } from '../lastTrace';

export const EDIT_RESULT_PANEL: PanelDescriptor = { viewType: 'mechedit.editResult', title: 'MechEdit Edit Result', bundle: 'editResult' };

/** What "Show Result" is given: an edit id, an edit file path or URI, an Edits view row, or { file, heldBack }. */
export type ShowEditResultArg = string | vscode.Uri | { uri?: vscode.Uri; item?: { id: string; file?: string } } | { file: string; heldBack?: string };

/** The edit file an argument names (an id is looked up on the stack); undefined when none. */
export function editFileOf(engine: EngineService, arg: ShowEditResultArg | undefined): { file: string; heldBack?: string } | undefined {
  if (!arg) return undefined;
  if (arg instanceof vscode.Uri) return { file: arg.fsPath };
  if (typeof arg === 'string') {
    if (arg.endsWith('.json')) return { file: arg };
    const item = engine.stack.items.find((i) => i.id === arg);
    return item?.file ? { file: item.file } : undefined;
  }
  if ('file' in arg && typeof arg.file === 'string') return { file: arg.file, heldBack: arg.heldBack };
  const row = arg as { uri?: vscode.Uri; item?: { file?: string } };
  const file = row.uri?.fsPath ?? row.item?.file;
  return file ? { file } : undefined;
}

/** The first fact request an edit file records (ROME's request, MEMIT's request.requests[0]); undefined when none or unreadable (edits/compare then says why). */
function factOf(file: string): { subject: string; prompt: string } | undefined {
  try {
    const r = (JSON.parse(fs.readFileSync(file, 'utf8')) as { request?: { subject?: unknown; prompt?: unknown; requests?: { subject?: unknown; prompt?: unknown }[] } }).request;
    const f = Array.isArray(r?.requests) ? r.requests[0] : r;
    return typeof f?.subject === 'string' && typeof f.prompt === 'string' ? { subject: f.subject, prompt: f.prompt } : undefined;
  } catch {
    return undefined;
  }
}

export class EditResultPanelHost extends PanelHost<Protocol> {
  private shown: { file: string; heldBack?: string } | undefined;
  private compared: EditCompareResult | undefined;

  protected readonly handlers: RequestHandlers<Protocol> = {
    load: async ({ file }) => this.load(file),
    apply: async ({ file }) => {
      await this.engine.changeStack('edits/apply', { file });
      // Applied once: the run's reason no longer describes it (a later revert shows the policy's).
      if (this.shown?.file === file) this.shown = { file };
      return { applied: this.isApplied() };
    },
    revert: async ({ id }) => {
      await this.engine.changeStack('edits/revert', { id });
      return { applied: this.isApplied() };
    },
    diagnose: async ({ file }) => {
      await vscode.commands.executeCommand('mechedit.diagnoseEdit', vscode.Uri.file(file));
      return { started: true };
    },
    tryLayer: async ({ layer }) => {
      const c = this.compared;
      if (!c?.request) throw new Error('This edit records no fact request to compute again.');
      const { subject, prompt, target } = c.request;
      const r = await vscode.commands.executeCommand<{ file?: string } | undefined>('mechedit.editFact', { method: c.edit.method, lti: c.edit.lti, preset: c.edit.preset, requests: [{ subject, prompt, target }], layer, force: true });
      return { file: r?.file };
    },
    openFile: async ({ file }) => {
      await vscode.window.showTextDocument(vscode.Uri.file(file));
      return { opened: true };
    },
  };

  constructor(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly engine: EngineService) {
    super(panel, extensionUri, EDIT_RESULT_PANEL);
    this.disposables.push(engine.onDidChange(() => this.compared && this.notify('applied', { applied: this.isApplied() })));
  }

  /** Shows `file` (the webview then asks for it with 'load'). */
  show(target: { file: string; heldBack?: string }): void {
    this.shown = target;
    this.notify('show', target);
  }

  private isApplied(): boolean {
    return !!this.compared && this.engine.stack.items.some((i) => i.id === this.compared!.edit.id);
  }

  /** The whole view of one edit: the comparison (with the probe when no trace of its prompt was run), its stack state and the reason it is held back. */
  async load(file: string): Promise<EditResultData> {
    await this.engine.ensureModel();
    const given = this.shown?.file === file ? this.shown.heldBack : undefined;
    // The probe runs only when no trace of the edit's prompt was kept (it takes a few seconds).
    const fact = factOf(file);
    const traced = fact && traceOf(this.engine.model?.path, fact.prompt.replace('{}', fact.subject), fact.subject);
    const c = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'MechEdit: comparing before and after' }, () => this.engine.client.request('edits/compare', { file, top: 5, maxTokens: 12, probe: !!fact && !traced }));
    this.compared = c;
    const applied = this.isApplied();
    const decided = decideApply(configuredApplyMode(), c.outcome, c.health?.warnings ?? []);
    const heldBack = applied ? undefined : given ?? decided.reason;
    const heldBackBy = heldBack ? (given ? 'run' : 'policy') : undefined;
    const registry = this.engine.registry.current ?? (await this.engine.registry.get().catch(() => undefined));
    const d = registry?.methods.find((m) => m.id === c.edit.method);
    const layers: EditResultData['layers'] = traced
      ? { source: 'trace', how: `causal trace of "${traced.prompt}" (${traced.edits ? `with ${traced.edits} edit(s) applied` : 'no edits applied'}): the MLP's indirect effect at the subject's last token: P(${JSON.stringify(traced.answer)}) with the layer's MLP window restored there, minus its ${(100 * traced.corruptedProb).toFixed(1)} % with the subject corrupted. The trace recommended layer ${traced.recommendedLayer ?? 'none'}`, effects: traced.effects }
      : c.probe && { source: 'probe', how: `fast probe, not a trace: P(${c.request!.target}) after ${c.probe.steps} steps of ROME's v* optimisation of a free vector added to each layer's MLP output at the subject's last token. It says how easily a layer can carry the target, not whether the rank-one edit will take or generalise.`, effects: c.probe.layers.map((l) => ({ layer: l.layer, value: l.targetProb })) };
    return { compare: c, applied, heldBack, heldBackBy, layers, canTryLayer: !!c.request && c.request.count === 1 && !!d && takesSetting(d, 'layer') };
  }

  protected onReady(): void {
    if (this.shown) this.notify('show', this.shown);
  }
}
