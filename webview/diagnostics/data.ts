// Pure data of the Diagnostics panel: EVOKE summaries as before/after bars, the cases behind a
// task, ORT rows as bars, and CSV. No DOM, so the unit tests import it in Node.

import type { CaseRow, EvokeDiagnostics, OrtDiagnostics } from '../../src/protocol/diagnostics';

/** EVOKE's task order (METHODS.md) and what each indicator says. */
export const TASKS = ['efficacy', 'paraphrase', 'multihop', 'prefix', 'relationSpecificity', 'subjectSpecificity'];

export interface Bar {
  /** "task · indicator" (or "set · form" for ORT). */
  key: string;
  group: string;
  before: number;
  after: number;
}

/** One bar pair per (task, indicator), indicators × 100. */
export function evokeBars(d: EvokeDiagnostics): Bar[] {
  const order = (t: string) => (TASKS.includes(t) ? TASKS.indexOf(t) : TASKS.length);
  return Object.keys(d.after).sort((a, b) => order(a) - order(b)).flatMap((task) =>
    Object.keys(d.after[task].indicators).map((ind) => ({ key: `${task} · ${ind}`, group: task, before: d.before[task]?.indicators[ind] ?? NaN, after: d.after[task].indicators[ind] })));
}

export interface CaseLine {
  caseId: string;
  subject: string;
  target: string;
  /** indicator → [before, after], 0…1 */
  indicators: Record<string, [number, number]>;
  probs: Record<string, [number, number]>;
}

/** The cases of one task, before and after side by side (matched by kind and case id), worst change first. */
export function caseLines(d: EvokeDiagnostics, task: string): CaseLine[] {
  const key = (c: CaseRow) => `${c.kind}:${c.caseId}`;
  const before = new Map(d.beforeCases.map((c) => [key(c), c]));
  const lines = d.afterCases.filter((c) => c.tasks[task]).map((c) => {
    const a = c.tasks[task];
    const b = before.get(key(c))?.tasks[task];
    const pair = (m: Record<string, number>, n?: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [n?.[k] ?? NaN, v] as [number, number]]));
    return { caseId: `${c.kind === 'subject' ? 'S' : ''}${c.caseId}`, subject: c.subject, target: `${c.targetTrue} → ${c.targetNew}`, indicators: pair(a.indicators, b?.indicators), probs: pair(a.probs, b?.probs) };
  });
  const change = (l: CaseLine) => Object.values(l.indicators).reduce((s, [b, a]) => s + (a - (Number.isNaN(b) ? 0 : b)), 0);
  return lines.sort((x, y) => change(x) - change(y));
}

/** ORT: loss_prob (× 100) per target · set · form, without and with the edits. */
export function ortBars(d: OrtDiagnostics): Bar[] {
  return d.targets.flatMap((t) => t.rows.map((r) => ({ key: `${t.target} · ${r.set} · ${r.form}`, group: `${t.target} · ${r.set}`, before: 100 * r.before.lossProb, after: 100 * (r.after ?? r.before).lossProb })));
}

export function barsCsv(bars: Bar[]): string {
  return `measure,before,after,change\n${bars.map((b) => `${JSON.stringify(b.key)},${b.before},${b.after},${b.after - b.before}`).join('\n')}\n`;
}

export function isOrt(d: EvokeDiagnostics | OrtDiagnostics): d is OrtDiagnostics {
  return 'targets' in d;
}
