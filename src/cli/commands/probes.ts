// `mechedit probes`: the knowledge-paradigm probes (core/diagnostics/plugins/probes.ts) per edit —
// reversal, context–memory conflict, intra-memory consistency, parametric vs in-context, multi-hop ripple.

import type { ProbeGroup, ProbesRunResult } from '../../core/diagnostics/probesRun';
import type { ProbeResult, ProbeSummary } from '../../core/diagnostics/probes';
import { diagnosticCommand } from '../diagnosticCommand';

const NOTES = [
  'Method none (default) probes the model with --edits as it is: each edit the cases it matches (a fact edit: same',
  'subject and o*; a ROCR edit: the cases whose subject is its concept); without --edits every case on the unedited',
  'model (the baseline). A fact editor computes each case\'s own edit on top of --edits.',
  'Per case (× 100): efficacy P(o*) > P(o); consistency = agreement of the top-1 answers over every form (entropy in',
  'bits, share answering o*); reversal gap = efficacy − reverse efficacy (the inverse question scoring s); conflict:',
  'the old fact in context after the edit (memory = the edit wins) and the new fact in context on the unedited model;',
  'ripple = two-hop questions through the fact answered through o*; R-Loc = the subject\'s other known facts kept.',
  '"ctx" columns: the same probes with the new fact stated in the prompt on the model without the edit.',
];

const f = (x: number) => (100 * x).toFixed(0);
const prob = (x: number) => x.toFixed(2);

function caseRow(r: ProbeResult): string {
  const p = r.parametric;
  const c = r.inContext;
  const cons = (v: typeof p) => `${f(v.consistency.agreement)}/${f(v.consistency.newShare)}/${v.consistency.entropy.toFixed(2)}`;
  const rev = p.reversal ? `${f(p.reversal.success)} (gap ${f(p.reversal.gap)}) · ctx ${f(c.reversal!.success)}` : '–';
  const rip = p.ripple ? `${f(p.ripple.success)}/${f(p.ripple.top1)} · ctx ${f(c.ripple!.success)}/${f(c.ripple!.top1)}` : '–';
  const k = r.conflict;
  return `| ${r.caseId} ${r.subject} (${r.relation ?? '?'}): ${r.targetTrue} → ${r.targetNew} | ${f(p.efficacy.success)} · ctx ${f(c.efficacy.success)} | ${cons(p)} · ctx ${cons(c)} | ${rev} | ${k.oldInContext.winner} ${prob(k.oldInContext.pNew)}/${prob(k.oldInContext.pOld)} | ${k.newInContext.winner} ${prob(k.newInContext.pNew)}/${prob(k.newInContext.pOld)} | ${rip} | ${p.rloc.known ? f(p.rloc.rloc) : '–'} · ctx ${c.rloc.known ? f(c.rloc.rloc) : '–'} |`;
}

const HEAD = [
  '| case: edit | efficacy | consistency agree/o*/H | reversal (gap) | old fact in ctx after edit: winner P(o*)/P(o) | new fact in ctx, unedited: winner P(o*)/P(o) | ripple success/top-1 | R-Loc |',
  '|---|---|---|---|---|---|---|---|',
];

export function formatSummary(s: ProbeSummary): string {
  const v = (x: ProbeSummary['parametric']) => `efficacy ${x.efficacy.toFixed(1)} (top-1 ${x.efficacyTop1.toFixed(1)}), consistency ${x.agreement.toFixed(1)} (o* ${x.newShare.toFixed(1)}, H ${x.entropy.toFixed(2)} bits), reversal ${x.reversal.cases ? `${x.reversal.success.toFixed(1)} gap ${x.reversal.gap.toFixed(1)} (${x.reversal.cases} cases)` : '–'}, ripple ${x.ripple.cases ? `${x.ripple.success.toFixed(1)} top-1 ${x.ripple.top1.toFixed(1)} (${x.ripple.cases} cases)` : '–'}, R-Loc ${x.rloc.toFixed(1)}`;
  return [
    `averages over ${s.cases} cases (× 100):`,
    `  parametric: ${v(s.parametric)}`,
    `  in context: ${v(s.inContext)}`,
    `  conflict: the edit wins over the old fact in context ${s.conflict.editWinsOverOldContext.toFixed(1)}; the new fact in context wins over the unedited memory ${s.conflict.newContextWinsOverMemory.toFixed(1)}`,
  ].join('\n');
}

export function formatProbes(r: Pick<ProbesRunResult, 'groups' | 'summary'>): string {
  const group = (g: ProbeGroup) => [`${g.edit ? `edit ${g.edit.label} (${g.edit.method})` : 'cases'}: ${g.note}`, ...(g.results.length ? [...HEAD, ...g.results.map(caseRow)] : [])].join('\n');
  return [...r.groups.map(group), formatSummary(r.summary)].join('\n\n');
}

export const probes = diagnosticCommand({
  id: 'probes',
  summary: 'knowledge probes per edit: reversal, context–memory conflict, consistency, in-context vs parametric, ripple',
  notes: NOTES,
  extra: {
    options: { cases: { type: 'string' } },
    help: ['  --cases FILE         the same as --data'],
    settings: (values) => (values.cases === undefined ? {} : { data: values.cases }),
  },
  format: (r) => {
    const x = r as ProbesRunResult;
    return `${formatProbes(x)}\n\n${x.summary.cases} cases in ${x.seconds.toFixed(1)} s, ${x.issues.length} records skipped; results in ${x.out}`;
  },
});
