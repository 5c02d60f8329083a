// The Diagnostics panel's webview: run EVOKE or FINE-KED (with the edit stack, or each case's own
// fact edit, optionally with LTI) or ORT on the model's eval/ suites; FINE-KED's R-Loc per level
// and its worst cases; grouped bars before vs after
// (d3, SVG); click a task (or Enter on it) for its cases; CSV / JSON export; the run's report.html.
// "Diagnose This Edit" results (one edit alone, on its own request) are shown here too. The host
// sends the last results when the webview starts ('last'): after a reload they are marked restored,
// with their date.

import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { DiagnosticsContext, DiagnosticsLast, DiagnosticsPanel, DiagnosticsPanelState } from '../../src/protocol/panels';
import { presetFor, presetOptions } from '../../src/protocol/registry';
import type { EditDiagnostics, EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, ProbeResult, ProbesDiagnostics } from '../../src/protocol/diagnostics';
import { Host, h } from '../shared/host';
import { Job } from '../shared/job';
import { chartFile } from '../shared/export';
import { button, dropdown, textfield } from '../shared/controls';
import { allBars, barsCsv, caseLines, editBars, editMissing, evokeBars, FINE_LEVELS, fineKedBars, isEdit, isFineKed, isOrt, isProbes, ortBars, probeBars, PROBE_LABELS, probeMeasure, readable, type AnyDiagnostics, type Bar } from './data';
import { bars as drawBars, labelsOutside } from './chart';
import { EDIT_TASKS, matchText, modeLine, noMatchText, otherLines } from './words';
import { HistorySection, secondary } from './history';
import { PROBE_COLUMNS } from './probeColumns';
import { SweepSection, type SweepPanel } from '../shared/sweep';
import './style.css';

const host = new Host<DiagnosticsPanel, DiagnosticsPanelState>();
const root = document.getElementById('root')!;
let state: DiagnosticsPanelState = { method: 'none', lti: false, limit: 40, ...host.getState() };
let ctxInfo: DiagnosticsContext = { enabledEdits: 0, methods: [], methodSettings: [] };
let result: AnyDiagnostics | undefined;
/** Where the shown results came from when the host sent them back (restored), else undefined. */
let restored: DiagnosticsLast | undefined;

const save = () => host.setState(state);
/** A sweep root opened here (*MechEdit: Open Sweep…* or the button): its grid, progress and merged comparison, below the results. */
const sweep = new SweepSection(host as unknown as Host<SweepPanel>, () => render());
const job = new Job(() => render(), save);
/** What the runs measure: the edit stack, or each case's own edit by a per-case method the host listed (from the registry). */
const methodOptions = (): { id: DiagnosticsPanelState['method']; label: string }[] => [
  { id: 'none', label: 'The edit stack as it is' },
  ...ctxInfo.methods.map((m) => ({ id: m.id, label: `Each case's own ${m.label} edit` })),
];

/** A per-case method as results record it ("alphaedit", "rome+lti") by its label from the host's list ("AlphaEdit", "ROME + LTI"); else in capitals. */
function methodName(recorded: string): string {
  const [id, lti] = recorded.split('+');
  const label = ctxInfo.methods.find((m) => m.id === id)?.label;
  return label ? `${label}${lti ? ` + ${lti.toUpperCase()}` : ''}` : recorded.toUpperCase();
}

/** ", preset X" for results that record their per-case preset; '' for those that do not (older runs, or runs that take none). */
const presetShown = (d: { settings?: { preset?: string } }) => (d.settings?.preset ? ` (preset ${d.settings.preset})` : '');

async function run(kind: 'evoke' | 'ort' | 'fine-ked' | 'probes' | 'edit', file?: string): Promise<void> {
  await job.run(async () => {
    const preset = chosenPreset();
    result = await host.request('run', { kind, method: state.method, lti: state.lti, preset, limit: state.limit, file }, 24 * 3600_000);
    restored = undefined;
    pickTask(result);
  });
}

/** EVOKE: keeps the listed task when the results have it (and measured it), else lists the first measured one. */
function pickTask(r: AnyDiagnostics): void {
  if (isOrt(r) || isEdit(r) || isFineKed(r) || isProbes(r)) return;
  const measured = Object.keys(r.after).filter((t) => !noMatchText('EVOKE', r.stack) || !EDIT_TASKS.evoke.includes(t));
  if (!state.task || !measured.includes(state.task)) state = { ...state, task: measured[0] };
}

/** The line above restored results: their date, and the model they are of when it is not the open one. */
function restoredNote(l: DiagnosticsLast): HTMLElement {
  const when = new Date(l.savedAt).toLocaleString();
  if (l.error) return h('p', { class: 'error', id: 'restored', role: 'status' }, `The last results (of ${when}) could not be restored: ${l.error}`);
  const other = l.model && ctxInfo.model && l.model !== ctxInfo.model.path ? ` · computed on ${l.model}, not the open model` : '';
  return h('p', { class: 'restored', id: 'restored', role: 'status' }, `Results of ${when}, restored${other}`, h('span', { class: 'muted' }, l.file ? ` (${l.file})` : ''));
}

/** The run history below the results: pick two kept runs, show one, or compare them. */
const history = new HistorySection(host, () => render(), (l) => {
  if (job.busy) return;
  restored = l;
  if (l.result) {
    result = l.result;
    pickTask(result);
  }
  render();
});
const pct = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : `${(100 * v).toFixed(1)}`);

/** "Diagnose This Edit": per fact, its tasks before (no edits) and after (only this edit); tasks without data say why. */
function editView(d: EditDiagnostics): (Node | string)[] {
  const missing = editMissing(d);
  const facts = d.facts.map((f) => h('section', { class: 'fact' },
    h('h2', {}, `${f.request.prompt.replace('{}', f.request.subject)} → ${f.request.target}`, h('span', { class: 'muted' }, f.trueAnswer ? ` (was ${f.trueAnswer}${f.relation ? `, ${f.relation}` : ''})` : ' (the true answer is not in the model\'s data)')),
    h('table', { class: 'cases edit-tasks' },
      h('tr', {}, h('th', {}, 'task'), h('th', {}, 'measure (×100)'), h('th', {}, 'before'), h('th', {}, 'after'), h('th', {}, 'change'), h('th', {}, 'P(answer) before → after'), h('th', {}, 'prompts'), h('th', {}, 'data')),
      ...f.tasks.map((t) => {
        if (!t.before || !t.after) return h('tr', { class: 'missing' }, h('td', {}, PROBE_LABELS[t.task]), h('td', { colspan: '7', class: 'muted' }, `not measured: ${t.missing ?? 'no data'}`));
        const m = probeMeasure(t);
        const b = 100 * (t.before[m.key] ?? NaN);
        const a = 100 * (t.after[m.key] ?? NaN);
        return h('tr', {}, h('td', {}, PROBE_LABELS[t.task]), h('td', {}, m.label), h('td', { class: 'num' }, f1(b)), h('td', { class: 'num' }, f1(a)), change(b, a),
          h('td', { class: 'num' }, `${pct(t.before.p)} → ${pct(t.after.p)}`), h('td', { class: 'num' }, String(t.rows.length)), h('td', { class: 'muted' }, t.source ? t.source.split(/[\\/]/).pop()! : '—'));
      })),
    h('details', {}, h('summary', {}, 'Every prompt'),
      h('table', { class: 'cases' },
        h('tr', {}, h('th', {}, 'task'), h('th', {}, 'prompt'), h('th', {}, 'should answer'), h('th', {}, 'over'), h('th', {}, 'P before → after'), h('th', {}, 'wins before → after')),
        ...f.tasks.flatMap((t) => t.rows.map((r) => h('tr', {}, h('td', {}, PROBE_LABELS[t.task]), h('td', {}, r.prompt), h('td', {}, r.expect), h('td', {}, r.versus ?? '—'),
          h('td', { class: 'num' }, `${pct(r.before.p)} → ${pct(r.after.p)}`), h('td', { class: 'num' }, r.before.wins === undefined ? '—' : `${r.before.wins} → ${r.after.wins}`))))))));
  const c = d.concept;
  const concept = c?.rows ? [h('h2', {}, `ORT forms of ${c.concept} (${c.target}): loss_prob ×100, forget lower is better, neighbour higher`),
    h('table', { class: 'cases' }, h('tr', {}, h('th', {}, 'set · form'), h('th', {}, 'items'), h('th', {}, 'before'), h('th', {}, 'after'), h('th', {}, 'token acc. before'), h('th', {}, 'after')),
      ...c.rows.map((r) => h('tr', {}, h('td', {}, `${r.set} · ${r.form}`), h('td', { class: 'num' }, String(r.before.items)), h('td', { class: 'num' }, f1(100 * r.before.lossProb)), h('td', { class: 'num' }, f1(100 * (r.after ?? r.before).lossProb)),
        h('td', { class: 'num' }, f1(100 * r.before.tokenAccuracy)), h('td', { class: 'num' }, f1(100 * (r.after ?? r.before).tokenAccuracy)))))] : [];
  const data = editBars(d);
  return [
    h('p', { class: 'muted', id: 'summary' }, `This edit alone: ${d.edit.label} (${d.edit.method}${d.edit.preset ? `, preset ${d.edit.preset}` : ''}) · before: the model without edits · after: with only this edit (the applied stack is not used) · ${d.seconds.toFixed(1)} s`),
    data.length ? bars(data) : '',
    missing.length ? h('div', { class: 'missing', id: 'missing' }, h('p', {}, 'Not measured, for lack of data in the model\'s folder (not zero):'), h('ul', {}, ...missing.map((m) => h('li', {}, m)))) : '',
    ...facts,
    ...concept,
  ];
}

/** Grouped bars at the panel's width (chart.ts). */
const bars = (data: Bar[], onPick?: (b: Bar) => void, selected?: string, keys?: [string, string]) => drawBars(data, root.clientWidth || 900, onPick, selected, keys);

const f1 = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(1));
const change = (b: number, a: number) => h('td', { class: `num ${a > b + 1e-9 ? 'better' : a < b - 1e-9 ? 'worse' : ''}` }, Number.isNaN(b) ? '' : `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(1)}`);

/** What a result's "after" measured, in words: the stack with the edits it held when it ran, or each case's own edit. */
function measured(d: EvokeDiagnostics | FineKedDiagnostics | ProbesDiagnostics): string {
  if (d.method !== 'none') return `each case's own ${methodName(d.method)} edit${'settings' in d ? presetShown(d) : ''} vs no edits`;
  const labels = 'stack' in d && d.stack ? d.stack.edits : undefined;
  return labels ? `the edit stack (${labels.length} applied${labels.length ? `: ${labels.join(', ')}` : ''}) vs no edits` : `the edit stack (${ctxInfo.enabledEdits} enabled) vs no edits`;
}

/** The notice of a run whose stack held no case's edit (words.ts), in the warning style. */
const notice = (text: string | undefined) => (text ? [h('p', { class: 'notice', id: 'no-match', role: 'status' }, text)] : []);

const reportRow = (folder: string) => h('div', { class: 'row' }, secondary(button('Open report', 'link-external', () => void host.request('openReport', { folder }), 'open-report')), h('span', { class: 'muted' }, folder));

function evokeView(d: EvokeDiagnostics): (Node | string)[] {
  const data = evokeBars(d);
  // No case's edit in the stack: the figures that score a case's own fact are not results.
  const unmatched = !!noMatchText('EVOKE', d.stack);
  const notMeasured = (b: Bar) => unmatched && EDIT_TASKS.evoke.includes(b.group);
  const table = h('table', { class: 'cases', id: 'tasks' },
    h('tr', {}, h('th', {}, 'task · indicator (×100)'), h('th', {}, 'before'), h('th', {}, 'after'), h('th', {}, 'change'), h('th', {}, 'probabilities after (×100)')),
    ...data.map((b) => notMeasured(b)
      ? h('tr', { class: 'missing' }, h('td', {}, b.label ?? b.key), h('td', { colspan: '4', class: 'muted' }, 'not measured: no case\'s edit is in the stack'))
      : h('tr', {}, h('td', {}, b.label ?? b.key), h('td', { class: 'num' }, f1(b.before)), h('td', { class: 'num' }, f1(b.after)), change(b.before, b.after),
        h('td', {}, Object.entries(d.after[b.group].probs).map(([k, v]) => `${readable(k)} ${v.toFixed(1)}`).join(', ')))));
  const task = state.task;
  const lines = task ? caseLines(d, task) : [];
  const indicators = lines[0] ? Object.keys(lines[0].indicators) : [];
  const probs = lines[0] ? Object.keys(lines[0].probs) : [];
  const cases = h('table', { class: 'cases', id: 'case-table' },
    h('tr', {}, h('th', {}, 'case'), h('th', {}, 'subject'), h('th', {}, 'true → new'), ...indicators.map((k) => h('th', {}, `${readable(k)} before → after`)), ...probs.map((k) => h('th', {}, `P(${readable(k)}) after`))),
    ...lines.slice(0, 200).map((l) => h('tr', {}, h('td', {}, l.caseId), h('td', {}, l.subject), h('td', {}, l.target),
      ...indicators.map((k) => h('td', { class: 'num' }, `${f1(100 * l.indicators[k][0])} → ${f1(100 * l.indicators[k][1])}`)),
      ...probs.map((k) => h('td', { class: 'num' }, `${(100 * l.probs[k][1]).toFixed(1)} %`)))));
  return [
    h('p', { class: 'muted', id: 'summary' }, `EVOKE · ${measured(d)} · ${d.afterCases.length} cases${matchText(d.stack)} · ${d.seconds.toFixed(1)} s${d.issues ? ` · ${d.issues} records skipped` : ''}`),
    ...notice(noMatchText('EVOKE', d.stack)),
    reportRow(d.out.after),
    bars(unmatched ? data.filter((b) => !EDIT_TASKS.evoke.includes(b.group)) : data, (b) => {
      state = { ...state, task: b.group };
      save();
      render();
    }, task),
    table,
    task ? h('h2', {}, `Cases of ${readable(task)} (worst change first)`) : '',
    task ? cases : '',
  ];
}

/** FINE-KED: before (no edits) and after bars, R-Loc per level, the cases that lost the most. */
function fineKedView(d: FineKedDiagnostics): (Node | string)[] {
  const a = d.after;
  const b = d.before;
  const levels = h('table', { class: 'cases', id: 'levels' },
    h('tr', {}, h('th', {}, 'level'), h('th', {}, 'facts known'), h('th', {}, 'R-Loc before'), h('th', {}, 'after'), h('th', {}, 'change'), h('th', {}, 'top-1 kept after'), h('th', {}, 'P(o′) > P(o*) after')),
    ...FINE_LEVELS.map((l) => h('tr', {}, h('td', {}, l), h('td', { class: 'num' }, `${a.levels[l].known} of ${a.levels[l].facts}`), h('td', { class: 'num' }, f1(b.levels[l].rloc)), h('td', { class: 'num' }, f1(a.levels[l].rloc)),
      change(b.levels[l].rloc, a.levels[l].rloc), h('td', { class: 'num' }, f1(a.levels[l].top1)), h('td', { class: 'num' }, f1(a.levels[l].wins)))),
    h('tr', {}, h('td', {}, 'average'), h('td', {}, ''), h('td', { class: 'num' }, f1(b.average.rloc)), h('td', { class: 'num' }, f1(a.average.rloc)), change(b.average.rloc, a.average.rloc), h('td', { class: 'num' }, f1(a.average.top1)), h('td', { class: 'num' }, f1(a.average.wins))));
  const worst = a.worst.length
    ? h('table', { class: 'cases', id: 'worst' },
      h('tr', {}, h('th', {}, 'case'), h('th', {}, 'edit'), h('th', {}, 'R-Loc'), h('th', {}, 'facts lost')),
      ...a.worst.map((w) => h('tr', {}, h('td', {}, String(w.caseId)), h('td', {}, `${w.subject}${w.relation ? ` (${w.relation})` : ''}: ${w.targetTrue} → ${w.targetNew}`), h('td', { class: 'num' }, f1(w.rloc)),
        h('td', {}, w.lost.length ? w.lost.map((f) => `${f.level}: ${f.prompt} ${f.answer}`).join(' · ') : '—'))))
    : h('p', { class: 'muted', id: 'worst' }, d.stack && !d.stack.matching ? 'No worst cases: they come only from cases whose edit was applied, and none was.' : 'No case lost any part of a fact of its subject.');
  const unmatched = !!noMatchText('FINE-KED', d.stack);
  return [
    h('p', { class: 'muted', id: 'summary' }, `FINE-KED · ${measured(d)} · ${a.cases} cases${matchText(d.stack)} · ${d.seconds.toFixed(1)} s${d.issues ? ` · ${d.issues} records skipped` : ''}${a.unknown ? ` · ${a.unknown} facts unknown to the model, left out` : ''}`),
    ...notice(noMatchText('FINE-KED', d.stack)),
    reportRow(d.out.after),
    bars(unmatched ? fineKedBars(d).filter((x) => !EDIT_TASKS['fine-ked'].includes(x.group)) : fineKedBars(d)),
    h('p', { class: 'muted' }, 'R-Loc: the share of the answer tokens of the edited subject\'s other facts still predicted top-1 (facts the model knew without edits); easy / middle / hard: how close the other relation is to the edited one.'),
    levels,
    h('h2', {}, 'Worst cases', h('span', { class: 'muted model' }, d.method === 'none' ? ' (only cases whose edit is in the stack)' : " (each case's own edit)")),
    worst,
  ];
}

/** One case of the knowledge probes: parametric (· in context), the conflicts, ripple, R-Loc. */
function probeRow(r: ProbeResult): HTMLElement {
  const p = r.parametric;
  const c = r.inContext;
  const both = (a: number | undefined, b: number | undefined) => (a === undefined ? '—' : `${pct(a)} · ${pct(b)}`);
  const cons = `${pct(p.consistency.agreement)} (o* ${pct(p.consistency.newShare)}, H ${p.consistency.entropy.toFixed(2)}) · ${pct(c.consistency.agreement)} (o* ${pct(c.consistency.newShare)})`;
  const conflict = (k: ProbeResult['conflict']['oldInContext'], memory: string, context: string) => `${k.winner === 'memory' ? memory : context} wins · P(o*) ${pct(k.pNew)} / P(o) ${pct(k.pOld)}`;
  return h('tr', {}, h('td', {}, String(r.caseId)), h('td', {}, `${r.subject}${r.relation ? ` (${r.relation})` : ''}: ${r.targetTrue} → ${r.targetNew}`),
    h('td', { class: 'num' }, both(p.efficacy.success, c.efficacy.success)), h('td', {}, cons),
    h('td', { class: 'num', title: r.reversalAbsent ?? '' }, p.reversal ? `${pct(p.reversal.success)} (gap ${pct(p.reversal.gap)}) · ${pct(c.reversal?.success)}` : 'none'),
    h('td', {}, conflict(r.conflict.oldInContext, 'edit', 'old fact')), h('td', {}, conflict(r.conflict.newInContext, 'old memory', 'new fact')),
    h('td', { class: 'num' }, p.ripple ? `${both(p.ripple.success, c.ripple?.success)} (${p.ripple.questions})` : '—'),
    h('td', { class: 'num' }, p.rloc.known ? both(p.rloc.rloc, c.rloc.rloc) : '—'));
}

/** Knowledge probes: averages in context vs in the weights, then per edit its cases. */
function probesView(d: ProbesDiagnostics): (Node | string)[] {
  const s = d.summary;
  // Plain names; what each figure is and how it is computed in its tooltip (probeColumns.ts).
  const head = h('tr', {}, ...PROBE_COLUMNS.map((c) => h('th', { title: c.tip, class: c.name === 'case' || c.name === 'edit' ? '' : 'tip' }, c.name)));
  const groups = d.groups.map((g, i) => h('section', { class: 'probe-group' },
    h('h2', {}, g.edit ? `${g.edit.label} (${g.edit.method})` : d.method === 'none' ? 'No edit' : `Each case's own ${methodName(d.method)} edit`),
    h('p', { class: 'muted' }, g.note),
    g.results.length ? h('table', { class: 'cases', id: `probe-cases-${i}` }, head.cloneNode(true), ...g.results.map(probeRow)) : ''));
  return [
    h('p', { class: 'muted', id: 'summary' }, `Knowledge probes · ${measured(d).replace(' vs no edits', '')} · ${s.cases} cases · ${d.seconds.toFixed(1)} s${d.issues ? ` · ${d.issues} records skipped` : ''}`),
    d.out ? h('p', { class: 'muted' }, `Run folder: ${d.out}`) : '',
    bars(probeBars(d), undefined, undefined, ['new fact in context (no edit)', 'edit in the weights']),
    h('p', { class: 'muted', id: 'conflict' }, `Context–memory conflict: the edit wins over the old fact stated in the prompt in ${f1(s.conflict.editWinsOverOldContext)} % of cases; the new fact stated in the prompt wins over the unedited model's memory in ${f1(s.conflict.newContextWinsOverMemory)} %.`),
    h('p', { class: 'muted' }, 'Figures × 100, each cell "edit · ctx": the edit in the weights · the new fact stated in the prompt on the model without the edit. Hover a column name for what it measures.'),
    ...groups,
  ];
}

function ortView(d: OrtDiagnostics): (Node | string)[] {
  const data = ortBars(d);
  return [
    h('p', { class: 'muted', id: 'summary' }, `ORT loss_prob (×100; forget: lower is better, neighbour: higher) without vs with the ${d.enabledEdits} enabled edit(s) · ${d.seconds.toFixed(1)} s`),
    bars(data),
    h('table', { class: 'cases' },
      h('tr', {}, h('th', {}, 'target · set · form'), h('th', {}, 'items'), h('th', {}, 'loss_prob before'), h('th', {}, 'after'), h('th', {}, 'change'), h('th', {}, 'token acc. before'), h('th', {}, 'after')),
      ...d.targets.flatMap((t) => t.rows.map((r) => {
        const a = r.after ?? r.before;
        return h('tr', {}, h('td', {}, `${t.target} · ${r.set} · ${r.form}`), h('td', { class: 'num' }, String(r.before.items)), h('td', { class: 'num' }, f1(100 * r.before.lossProb)), h('td', { class: 'num' }, f1(100 * a.lossProb)),
          r.set === 'forget' ? change(100 * a.lossProb, 100 * r.before.lossProb) : change(100 * r.before.lossProb, 100 * a.lossProb),
          h('td', { class: 'num' }, f1(100 * r.before.tokenAccuracy)), h('td', { class: 'num' }, f1(100 * a.tokenAccuracy)));
      }))),
  ];
}

async function exportAs(format: 'png' | 'svg' | 'csv' | 'json'): Promise<void> {
  if (!result) return;
  if (format === 'png' || format === 'svg') {
    await host.request('save', await chartFile([...document.querySelectorAll<HTMLElement>('svg.bars')], format, `${kindOf(result)}-diagnostics`), 10 * 60_000);
    return;
  }
  const text = format === 'json' ? JSON.stringify(result, null, 2) : barsCsv(allBars(result));
  await host.request('save', { format, suggestedName: `${kindOf(result)}-diagnostics.${format}`, text }, 10 * 60_000);
}

const kindOf = (d: AnyDiagnostics) => (isEdit(d) ? 'edit' : isOrt(d) ? 'ort' : isFineKed(d) ? 'fine-ked' : isProbes(d) ? 'probes' : 'evoke');

const SYMBOLS: Record<string, string> = { lambda: 'λ' };

/** The mode line: what EVOKE / FINE-KED compare in the chosen mode, naming the enabled edits (words.ts). */
function modeText(): string {
  const m = ctxInfo.methods.find((x) => x.id === state.method);
  const layer = m?.settings.includes('layer') ? (ctxInfo.editLayer !== undefined ? `layer ${ctxInfo.editLayer}` : "the model's default layer") : undefined;
  return modeLine(state.method, ctxInfo.enabledLabels ?? [], m ? `${m.label}${state.lti ? ' + LTI' : ''}` : undefined, layer);
}

/** What per-case edits use, in words: the layer picked for edits (methods that take one), each method's VS Code settings. */
function perCaseNote(): string {
  if (!ctxInfo.methods.length) return 'Per-case edits: waiting for the engine to list its methods…';
  const oneLayer = ctxInfo.methods.filter((m) => m.settings.includes('layer')).map((m) => m.label).join(' / ');
  const layer = !oneLayer ? [] : [ctxInfo.editLayer !== undefined ? `${oneLayer} at layer ${ctxInfo.editLayer} (picked for edits)` : `${oneLayer} at the model's default layer`];
  const settings = ctxInfo.methodSettings.map((s) => {
    const name = SYMBOLS[s.setting] ?? s.setting;
    return s.value !== undefined ? `${methodName(s.method)} ${name} ${s.value} (${s.key})` : `${methodName(s.method)}'s default ${name}`;
  });
  return `Per-case edits: ${[...layer, ...settings, ...presetNote()].join(' · ')}`;
}

/** The chosen per-case method's preset choice: empty when it has one preset or no diagnostic takes one. */
function presetChoice(): { id: string; label: string }[] {
  const m = ctxInfo.methods.find((x) => x.id === state.method);
  return m && ctxInfo.presetKinds?.length ? presetOptions([m]) : [];
}

/** The preset chosen for the per-case method when it has it and a diagnostic takes one; else none (its default). */
function chosenPreset(): string | undefined {
  return ctxInfo.presetKinds?.length ? presetFor(ctxInfo.methods.find((x) => x.id === state.method), state.preset) : undefined;
}

/** Which preset the chosen method's per-case edits use, and which runs take a chosen one. */
function presetNote(): string[] {
  const m = ctxInfo.methods.find((x) => x.id === state.method);
  if (!m) return [];
  const def = m.defaultPreset ?? m.presets[0]?.id;
  const chosen = chosenPreset();
  if (!chosen) return def ? [`${m.label} preset ${def} (its default)`] : [];
  return [`${m.label} preset ${chosen} (${(ctxInfo.presetKinds ?? []).map((k) => k.toUpperCase()).join(', ')} runs; the others take none)`];
}

function render(): void {
  const model = ctxInfo.model;
  const lti = document.createElement('vscode-checkbox');
  lti.setAttribute('label', 'with LTI');
  if (state.lti) lti.setAttribute('checked', '');
  lti.addEventListener('change', () => {
    state = { ...state, lti: (lti as unknown as { checked: boolean }).checked };
    save();
    document.querySelector('#mode-line p')!.textContent = modeText();
  });
  const controls = h('div', { class: 'row' },
    dropdown('method', 'EVOKE / FINE-KED / probes measure', methodOptions(), state.method, (v) => { state = { ...state, method: v }; save(); render(); }),
    h('div', {}, h('vscode-label', {}, 'Per-case edits'), lti),
    ...(presetChoice().length ? [dropdown('preset', 'Preset of the per-case edits', presetChoice(), state.preset ?? '', (v) => { state = { ...state, preset: v }; save(); render(); })] : []),
    textfield('limit', 'Cases per file', String(state.limit), (v) => { state = { ...state, limit: Math.max(1, Math.round(Number(v)) || 1) }; save(); }, { className: 'num' }),
    button('Run EVOKE', 'play', () => void run('evoke'), 'run-evoke', job.busy || !model),
    button('Run FINE-KED', 'play', () => void run('fine-ked'), 'run-fine-ked', job.busy || !model),
    button('Run ORT', 'play', () => void run('ort'), 'run-ort', job.busy || !model),
    button('Run knowledge probes', 'play', () => void run('probes'), 'run-probes', job.busy || !model),
    sweep.openButton(),
    h('div', { class: 'exports' }, ...[button('PNG', 'file-media', () => void exportAs('png'), 'export-png', !result), button('SVG', 'file-media', () => void exportAs('svg'), 'export-svg', !result), button('CSV', 'file-code', () => void exportAs('csv'), 'export-csv', !result), button('JSON', 'file-code', () => void exportAs('json'), 'export-json', !result)].map(secondary)),
  );
  let body: (Node | string)[];
  try {
    body = result ? (isEdit(result) ? editView(result) : isOrt(result) ? ortView(result) : isFineKed(result) ? fineKedView(result) : isProbes(result) ? probesView(result) : evokeView(result)) : [h('p', { class: 'muted' }, model ? 'Run EVOKE, FINE-KED, ORT or the knowledge probes on the model\'s own eval/ suites.' : 'No model is open.')];
  } catch (e) {
    // Results read back from disk may be damaged in ways the host's check does not see.
    body = [h('p', { class: 'error', role: 'alert' }, `These results cannot be drawn: ${(e as Error).message}`)];
  }
  root.replaceChildren(
    h('h1', {}, 'Diagnostics', model ? h('span', { class: 'muted model' }, ` — ${model.architecture}, ${model.layers} layers, ${ctxInfo.enabledEdits} enabled edit(s)`) : ''),
    controls,
    h('div', { id: 'mode-line', class: 'mode-line' }, h('p', {}, modeText()), ...otherLines(ctxInfo.enabledLabels ?? []).map((l) => h('p', { class: 'muted' }, l))),
    h('p', { class: 'muted', id: 'per-case' }, perCaseNote()),
    job.busy ? h('div', { class: 'row', id: 'progress' }, h('vscode-progress-ring', {}), h('span', { class: 'muted' }, 'Running in the engine (progress in the notification)…')) : '',
    job.error ? h('p', { class: 'error', role: 'alert' }, job.error) : '',
    restored ? restoredNote(restored) : '',
    ...body,
    history.element(),
    sweep.element,
  );
  const shown = result ? allBars(result) : [];
  const evoke = result && !isOrt(result) && !isEdit(result) && !isFineKed(result) && !isProbes(result) ? result : undefined;
  const probes = result && isProbes(result) ? result : undefined;
  const fine = result && isFineKed(result) ? result : undefined;
  host.rendered({
    status: job.busy ? 'busy' : job.error ? 'error' : result ? 'drawn' : 'empty', error: job.error || undefined,
    kind: result ? kindOf(result) : undefined, method: evoke?.method ?? fine?.method ?? probes?.method ?? (result && isEdit(result) ? result.edit.method : undefined),
    worst: fine?.after.worst.length,
    probes: probes ? { groups: probes.groups.map((g) => ({ edit: g.edit?.method, cases: g.results.length })), summary: probes.summary, rows: document.querySelectorAll('.probe-group tr').length } : undefined,
    bars: shown, task: state.task, caseRows: evoke && state.task ? caseLines(evoke, state.task).length : 0,
    settings: evoke?.settings, perCase: perCaseNote(),
    missing: result && isEdit(result) ? editMissing(result) : undefined,
    restored: restored && !restored.error ? restored.savedAt : undefined, restoreError: restored?.error,
    sweep: sweep.summary(),
    modeLine: modeText(), noMatch: document.getElementById('no-match')?.textContent ?? undefined,
    labelsOutside: labelsOutside(), stack: evoke?.stack ?? fine?.stack, worstCases: fine?.after.worst.map((w) => w.caseId), history: history.summary(),
  });
}

host.on('context', (c) => {
  ctxInfo = c;
  render();
});
host.on('last', (l) => {
  // Results computed in this webview are newer than any the host sends back.
  if (job.busy || (result && !restored)) return;
  restored = l.restored ? l : undefined;
  if (l.result) {
    result = l.result;
    pickTask(result);
    save();
  }
  render();
});
host.on('history', (x) => {
  history.set(x);
  render();
});
host.on('compareRuns', (x) => void history.compare(x.a, x.b));
host.on('run', (r) => {
  const { kind, file, ...rest } = r;
  state = { ...state, ...rest };
  save();
  void run(kind, file);
});
render();
host.ready();
