// Pure data of the Diagnostics panel: EVOKE summaries as before/after bars, the cases behind a
// task, ORT rows as bars, one edit's own probes ("Diagnose This Edit") as bars, and CSV. No DOM,
// so the unit tests import it in Node.

import type { CaseRow, EditDiagnostics, EditProbeTask, EvokeDiagnostics, FineKedDiagnostics, FineKedSummary, OrtDiagnostics, ProbesDiagnostics, ProbeViewSummary } from '../../src/protocol/diagnostics';

export type AnyDiagnostics = EvokeDiagnostics | OrtDiagnostics | FineKedDiagnostics | ProbesDiagnostics | EditDiagnostics;

/** EVOKE's task order (METHODS.md) and what each indicator says. */
export const TASKS = ['efficacy', 'paraphrase', 'multihop', 'prefix', 'relationSpecificity', 'subjectSpecificity'];

/** Readable names of EVOKE's tasks, indicators and answers (the data uses camelCase ids). */
export const EVOKE_LABELS: Record<string, string> = {
  efficacy: 'Efficacy', paraphrase: 'Paraphrase', multihop: 'Multi-hop', prefix: 'Prefix distraction',
  relationSpecificity: 'Relation specificity', subjectSpecificity: 'Subject specificity',
  success: 'success', eos: 'EOS', ams: 'AMS',
  new: 'new target', true: 'true answer', target: 'new target', newAnswer: 'new answer', original: 'original answer', answer: 'answer',
};

/** An EVOKE id as text: its label, else camelCase split into lower-case words. */
export function readable(id: string): string {
  return EVOKE_LABELS[id] ?? id.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

export interface Bar {
  /** "task · indicator" (or "set · form" for ORT): the bar's id. */
  key: string;
  /** What the chart and tables show for it (readable EVOKE names); key when absent. */
  label?: string;
  group: string;
  before: number;
  after: number;
}

/** One bar pair per (task, indicator), indicators × 100. */
export function evokeBars(d: EvokeDiagnostics): Bar[] {
  const order = (t: string) => (TASKS.includes(t) ? TASKS.indexOf(t) : TASKS.length);
  return Object.keys(d.after).sort((a, b) => order(a) - order(b)).flatMap((task) =>
    Object.keys(d.after[task].indicators).map((ind) => ({ key: `${task} · ${ind}`, label: `${readable(task)} · ${readable(ind)}`, group: task, before: d.before[task]?.indicators[ind] ?? NaN, after: d.after[task].indicators[ind] })));
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

export function isOrt(d: AnyDiagnostics): d is OrtDiagnostics {
  return 'targets' in d;
}

export function isFineKed(d: AnyDiagnostics): d is FineKedDiagnostics {
  return (d as FineKedDiagnostics).kind === 'fine-ked';
}

export const FINE_LEVELS = ['easy', 'middle', 'hard'] as const;

/** FINE-KED's figures (× 100) before and after: efficacy, paraphrase, R-Loc per level and averaged, neighbourhood. */
export function fineKedBars(d: FineKedDiagnostics): Bar[] {
  const bar = (key: string, group: string, get: (s: FineKedSummary) => number) => ({ key, group, before: get(d.before), after: get(d.after) });
  const a = d.after;
  return [
    bar('efficacy', 'efficacy', (s) => s.efficacy.success),
    ...(a.paraphrase.cases ? [bar('paraphrase', 'paraphrase', (s) => s.paraphrase.success)] : []),
    ...FINE_LEVELS.filter((l) => a.levels[l].known).map((l) => bar(`R-Loc ${l}`, 'rloc', (s) => s.levels[l].rloc)),
    bar('R-Loc average', 'rloc', (s) => s.average.rloc),
    ...(a.neighbourhood.cases ? [bar('neighbourhood specificity', 'neighbourhood', (s) => s.neighbourhood.success)] : []),
  ];
}

export function isProbes(d: AnyDiagnostics): d is ProbesDiagnostics {
  return (d as ProbesDiagnostics).kind === 'probes';
}

/**
 * Knowledge probes' averages (× 100) as bar pairs: "before" = the new fact stated in the prompt on
 * the model without the edit (in context), "after" = the edit in the weights (parametric).
 */
export function probeBars(d: ProbesDiagnostics): Bar[] {
  const s = d.summary;
  const bar = (key: string, get: (v: ProbeViewSummary) => number) => ({ key, group: 'probes', before: get(s.inContext), after: get(s.parametric) });
  return [
    bar('efficacy', (v) => v.efficacy),
    bar('consistency (agreement)', (v) => v.agreement),
    bar('forms answering o*', (v) => v.newShare),
    ...(s.parametric.reversal.cases ? [bar('reversal', (v) => v.reversal.success)] : []),
    ...(s.parametric.ripple.cases ? [bar('ripple (two-hop)', (v) => v.ripple.success)] : []),
    bar('R-Loc (same subject)', (v) => v.rloc),
  ];
}

export function isEdit(d: AnyDiagnostics): d is EditDiagnostics {
  return (d as EditDiagnostics).kind === 'edit';
}

/** The probe tasks of one edit, in words. */
export const PROBE_LABELS: Record<EditProbeTask['task'], string> = {
  efficacy: 'efficacy',
  paraphrase: 'paraphrases',
  otherRelations: "subject's other relations",
  neighbours: 'neighbours',
  prefix: 'prefix distraction',
};

/**
 * What a task's bar shows: how often the answer that should win beats the one it is compared
 * with ('wins'), or, when the data knows no answer to compare with, how often it is top-1.
 */
export function probeMeasure(t: EditProbeTask): { key: 'wins' | 'top1'; label: string } {
  const target = t.task === 'efficacy' || t.task === 'paraphrase';
  if (t.after?.wins !== undefined) return { key: 'wins', label: target ? 'new target wins' : 'own answer wins' };
  return { key: 'top1', label: target ? 'new target top-1' : 'own answer top-1' };
}

/** One bar pair per fact and measured task (× 100), and for a concept edit ORT's loss_prob per set · form. */
export function editBars(d: EditDiagnostics): Bar[] {
  const many = d.facts.length > 1;
  const bars = d.facts.flatMap((f) => f.tasks.filter((t) => t.before && t.after).map((t) => {
    const m = probeMeasure(t);
    const group = `${many ? `${f.request.subject}: ` : ''}${PROBE_LABELS[t.task]}`;
    return { key: `${group} · ${m.label}`, group, before: 100 * (t.before![m.key] ?? NaN), after: 100 * (t.after![m.key] ?? NaN) };
  }));
  for (const r of d.concept?.rows ?? []) bars.push({ key: `${d.concept!.target} · ${r.set} · ${r.form}`, group: `${d.concept!.target} · ${r.set}`, before: 100 * r.before.lossProb, after: 100 * (r.after ?? r.before).lossProb });
  return bars;
}

/** What could not be measured for lack of data, as "task: why" lines. */
export function editMissing(d: EditDiagnostics): string[] {
  const many = d.facts.length > 1;
  const lines = d.facts.flatMap((f) => f.tasks.filter((t) => t.missing).map((t) => `${many ? `${f.request.subject}: ` : ''}${PROBE_LABELS[t.task]}: ${t.missing}`));
  if (d.concept?.missing) lines.push(`ORT forms of ${d.concept.concept}: ${d.concept.missing}`);
  return lines;
}

/** One measure of two runs side by side: A's and B's before / after, and the change of after from A to B. */
export interface CompareRow {
  key: string;
  label: string;
  a?: Bar;
  b?: Bar;
  /** B's after − A's after (NaN when either run lacks the measure). */
  diff: number;
}

/** Two runs' bars matched by measure: A's order first, then the measures only B has. */
export function compareBars(a: Bar[], b: Bar[]): CompareRow[] {
  const inB = new Map(b.map((x) => [x.key, x]));
  const inA = new Set(a.map((x) => x.key));
  const row = (x?: Bar, y?: Bar): CompareRow => ({ key: (x ?? y)!.key, label: (x ?? y)!.label ?? (x ?? y)!.key, a: x, b: y, diff: x && y ? y.after - x.after : NaN });
  return [...a.map((x) => row(x, inB.get(x.key))), ...b.filter((y) => !inA.has(y.key)).map((y) => row(undefined, y))];
}

/** Every result's bars (the chart's data), whatever its kind. */
export function allBars(d: AnyDiagnostics): Bar[] {
  return isEdit(d) ? editBars(d) : isOrt(d) ? ortBars(d) : isFineKed(d) ? fineKedBars(d) : isProbes(d) ? probeBars(d) : evokeBars(d);
}

const ANGLE = (40 * Math.PI) / 180;

/**
 * The chart margins that hold every axis label rotated by −40° (chart.ts): a label of width w at
 * the tick x reaches w·cos 40° (+ 12 px of offset) left of x and w·sin 40° below the axis. The
 * left margin is at least 40 px (the y axis); ticks are taken at (i + ½) of a step of the plot width.
 */
export function labelMargins(widths: number[], width: number): { left: number; bottom: number } {
  const n = Math.max(1, widths.length);
  let left = 40;
  for (let pass = 0; pass < 3; pass++) {
    const step = (width - left - 8) / n;
    left = Math.max(40, ...widths.map((w, i) => w * Math.cos(ANGLE) + 12 - (i + 0.5) * step));
  }
  return { left: Math.ceil(left), bottom: Math.ceil(Math.max(40, ...widths.map((w) => w * Math.sin(ANGLE))) + 24) };
}
