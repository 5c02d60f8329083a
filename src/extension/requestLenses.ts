// CodeLenses of request files (.mechedit/requests/*.jsonl, one JSON request per line), from the
// engine's registry:
//  - a fact ({"subject", "prompt", "target", …settings}): "Edit this fact…" (asks for the method,
//    the last one used preselected), "Compute <default> edit" and
//    "<default> + LTI" for the default fact editor (mechedit.edit.method), then one lens per other
//    fact editor. Other keys of the line are settings by name ("label", "seed", "krd", "corpus",
//    …); each lens passes those its method takes, and "preset" when the method has that preset;
//  - a file of several facts: one lens per batch fact editor above the first line (one edit of them all);
//  - a concept ({"kind": "concept", "concept", "to"}): "Redirect (ROCR)";
//  - unlearning ({"kind": "unlearn", "concept"?, "forget"?, "method"?, "preset"?, …}): "Unlearn (<objective>)".
// A line that is not a valid request gets no lens but a Problems entry naming the field
// (requestProblems.ts); the file-level lenses count valid facts only.
// Until the engine has described its registry, a fact gets one "Edit this fact…" lens (it asks
// for the method); the lenses are drawn again when the registry arrives.

import * as vscode from 'vscode';
import type { FactRequest } from '../protocol/engine';
import { factEditors, labelOf, presetFor, takesSetting, type MethodDescriptor, type RegistryDescription } from '../protocol/registry';
import type { EngineService } from './engine/engineService';
import { defaultFactMethod } from './factMethodPick';
import { SECTION } from './settings';
import { checkRequestLine } from '../protocol/requestLines';
import type { UnlearnArgs } from './unlearn';

/** The command's arguments (lenses, panels and tests pass some; the rest is asked). */
export interface FactEditArgs {
  /** A fact editor of the registry (absent: asked, the last one used preselected). */
  method?: string;
  lti?: boolean;
  /** A preset of the method (absent: asked when the method has several and none was given; a request line's "preset" key counts as given). */
  preset?: string;
  requests?: FactRequest[];
  /** The edit layer, for a method that takes one (absent: the layer picked from a causal trace, else the model's default). */
  layer?: number;
  /** The edit layers, for a method that takes several. */
  layers?: number[];
  /** Other settings by name (label, seed, corpus, samples, krd, steps, …): sent as given, for the engine to check against the method. */
  settings?: Record<string, unknown>;
  /** Compute even when a target's tokenization makes the edit unlikely to take (no warning asked). */
  force?: boolean;
}

export const REQUESTS_GLOB = '**/.mechedit/requests/*.jsonl';

interface ParsedLine {
  fact?: FactRequest;
  /** A fact line's other keys: settings by name. */
  settings?: Record<string, unknown>;
  concept?: { concept: string; to: string };
  unlearn?: UnlearnArgs;
}

/** Parses one line of a request file; undefined for blank lines, comments and bad lines (those get a problem, requestProblems.ts). */
export function parseLine(text: string): ParsedLine | undefined {
  const c = checkRequestLine(text);
  if (c.kind === 'concept') return { concept: { concept: c.concept, to: c.to } };
  if (c.kind === 'unlearn') return { unlearn: unlearnArgs(c.record) };
  if (c.kind === 'fact') return { fact: { subject: c.subject, prompt: c.prompt, target: c.target }, settings: c.settings };
  return undefined;
}

/**
 * An unlearn request's arguments for *Unlearn…*, as written: a value of the wrong kind is passed
 * on for the engine to refuse by its field name (never dropped in silence); what the line leaves
 * out (method, forms, forget) is asked.
 */
function unlearnArgs(r: Record<string, unknown>): UnlearnArgs {
  const keys = ['concept', 'method', 'preset', 'forget', 'retain', 'forms', 'layers', 'steps', 'rank', 'lr', 'retainWeight', 'beta', 'uipe', 'stopBelow', 'label'] as const;
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]])) as UnlearnArgs;
}

/** The line's settings that the method takes. */
const settingsFor = (d: MethodDescriptor, s: Record<string, unknown> = {}) => Object.fromEntries(Object.entries(s).filter(([k]) => takesSetting(d, k)));
/** A fact line's "preset", for a method that has it (else none: the preselected one). */
const presetOf = (d: MethodDescriptor, s: Record<string, unknown> = {}) => {
  const preset = presetFor(d, typeof s.preset === 'string' ? s.preset : undefined);
  return preset ? { preset } : {};
};

function edit(range: vscode.Range, title: string, args: FactEditArgs): vscode.CodeLens {
  return new vscode.CodeLens(range, { title, command: 'mechedit.editFact', arguments: [args] });
}

/** The lenses of one fact: the default method (and its LTI variant) first, then the other fact editors. */
function factLenses(r: RegistryDescription | undefined, range: vscode.Range, line: ParsedLine): vscode.CodeLens[] {
  const requests = [line.fact!];
  if (!r) return [edit(range, 'Edit this fact…', { requests, settings: line.settings })];
  const def = defaultFactMethod(r);
  // "Edit this fact…" asks for the method (the last one used preselected, factMethodPick.ts); the line's settings go with it.
  const ask = edit(range, 'Edit this fact…', { requests, settings: line.settings });
  const first = def ? [edit(range, `Compute ${def.label} edit`, { method: def.id, requests, settings: settingsFor(def, line.settings), ...presetOf(def, line.settings) })] : [];
  if (def?.capabilities?.lti) first.push(edit(range, `${def.label} + LTI`, { method: def.id, lti: true, requests, settings: settingsFor(def, line.settings), ...presetOf(def, line.settings) }));
  const others = factEditors(r).filter((d) => d !== def).map((d) => edit(range, d.label, { method: d.id, requests, settings: settingsFor(d, line.settings), ...presetOf(d, line.settings) }));
  return [ask, ...first, ...others];
}

/** The file-level lenses: one edit of every fact, per batch fact editor (the default first when it is one). */
function batchLenses(r: RegistryDescription, facts: FactRequest[]): vscode.CodeLens[] {
  const def = defaultFactMethod(r);
  const batch = factEditors(r).filter((d) => d.kind === 'batch').sort((a, b) => Number(b === def) - Number(a === def));
  const top = new vscode.Range(0, 0, 0, 0);
  return batch.map((d, i) => edit(top, i === 0 ? `Compute one ${d.label} edit for all ${facts.length} facts` : `One ${d.label} edit for all ${facts.length}`, { method: d.id, requests: facts }));
}

export class RequestLenses implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subs: { dispose(): void }[];

  constructor(private readonly engine: EngineService) {
    this.subs = [
      engine.registry.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(`${SECTION}.edit.method`) && this.changed.fire()),
    ];
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const r = this.engine.registry.current ?? (await this.engine.registry.get().catch(() => undefined));
    const lenses: vscode.CodeLens[] = [];
    const facts: FactRequest[] = [];
    for (let i = 0; i < doc.lineCount; i++) {
      const parsed = parseLine(doc.lineAt(i).text);
      if (!parsed) continue;
      const range = doc.lineAt(i).range;
      if (parsed.fact) {
        facts.push(parsed.fact);
        lenses.push(...factLenses(r, range, parsed));
      } else if (parsed.concept) {
        lenses.push(new vscode.CodeLens(range, { title: 'Redirect (ROCR)', command: 'mechedit.redirectConcept', arguments: [{ concept: parsed.concept.concept, harmless: parsed.concept.to }] }));
      } else if (parsed.unlearn) {
        const u = parsed.unlearn;
        const title = u.method ? `Unlearn (${r ? labelOf(r, String(u.method)) : String(u.method)})` : 'Unlearn…';
        lenses.push(new vscode.CodeLens(range, { title, command: 'mechedit.unlearn', arguments: [u] }));
      }
    }
    if (facts.length > 1 && r) lenses.unshift(...batchLenses(r, facts));
    return lenses;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.changed.dispose();
  }
}
