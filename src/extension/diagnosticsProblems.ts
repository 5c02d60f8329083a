// Failing diagnostics as problems on the edit files: after an EVOKE run of the edit stack, every
// indicator that falls by more than 10 points against the unedited model, and after an ORT run
// every neighbour set whose loss_prob falls by more than 10 points (knowledge that should
// survive), and after a FINE-KED run of the stack every R-Loc level that falls by more than 10
// points, becomes a warning on each enabled edit's file, in the Problems panel.

import * as vscode from 'vscode';
import type { EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, ProbesDiagnostics } from '../protocol/diagnostics';
import type { StackItem } from '../protocol/edits';

export const DROP_POINTS = 10;

const isFineKed = (r: EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics): r is FineKedDiagnostics => (r as FineKedDiagnostics).kind === 'fine-ked';

const isProbes = (r: EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics): r is ProbesDiagnostics => (r as ProbesDiagnostics).kind === 'probes';

/** The failing measures of a run, as messages. */
export function failures(r: EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics): string[] {
  if (isFineKed(r)) {
    return (['easy', 'middle', 'hard'] as const).filter((l) => r.after.levels[l].known && r.before.levels[l].rloc - r.after.levels[l].rloc > DROP_POINTS)
      .map((l) => `FINE-KED R-Loc ${l} fell ${r.before.levels[l].rloc.toFixed(1)} → ${r.after.levels[l].rloc.toFixed(1)} with the edits (${r.after.levels[l].known} facts of the edited subjects' other relations)`);
  }
  if ('targets' in r) {
    return r.targets.flatMap((t) => t.rows.filter((row) => row.set === 'neighbor' && row.after && 100 * (row.before.lossProb - row.after.lossProb) > DROP_POINTS)
      .map((row) => `ORT ${t.target}: neighbour ${row.form} loss_prob fell ${(100 * row.before.lossProb).toFixed(1)} → ${(100 * row.after!.lossProb).toFixed(1)} with the edits`));
  }
  return Object.entries(r.after).flatMap(([task, a]) => Object.entries(a.indicators)
    .filter(([k, v]) => (r.before[task]?.indicators[k] ?? v) - v > DROP_POINTS)
    .map(([k, v]) => `EVOKE ${task} · ${k} fell ${r.before[task].indicators[k].toFixed(1)} → ${v.toFixed(1)} with the edits (${a.cases} cases)`));
}

export class DiagnosticsProblems implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('mechedit-diagnostics');

  /** Replaces the problems from the last run; only runs that measure the stack itself count. */
  report(r: EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics, stack: StackItem[]): number {
    this.collection.clear();
    if (isProbes(r)) return 0; // figures per edit, no before / after threshold
    if (!('targets' in r) && r.method !== 'none') return 0;
    const messages = failures(r);
    for (const item of stack.filter((i) => i.enabled && i.file)) {
      this.collection.set(vscode.Uri.file(item.file!), messages.map((m) => {
        const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 1), m, vscode.DiagnosticSeverity.Warning);
        d.source = 'MechEdit diagnostics';
        return d;
      }));
    }
    return messages.length;
  }

  dispose(): void {
    this.collection.dispose();
  }
}
