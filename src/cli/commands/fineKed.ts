// `mechedit fine-ked`: FINE-KED (DiKE's fine-grained locality) over a data file, as a run folder
// (core/diagnostics/plugins/fineKed.ts): efficacy, paraphrase, R-Loc per level (easy / middle /
// hard) and averaged, neighbourhood specificity, the worst cases.

import { FINE_LEVELS } from '../../core/diagnostics/fineKedData';
import type { FineKedSummary } from '../../core/diagnostics/fineKed';
import type { FineKedCliResult } from '../../core/diagnostics/plugins/fineKed';
import { diagnosticCommand } from '../diagnosticCommand';
import { paperMarkdown } from '../../core/diagnostics/report';
import { protocolMarkdown } from '../../core/diagnostics/protocol';
import { stackMatchText } from '../../core/diagnostics/caseEdit';

const NOTES = [
  'Methods: none measures the model as it is (with --edits) against the checkpoint without edits; context states the',
  'new fact before every prompt (a reference: a perfect edit in the prompt); a fact editor computes each case\'s edit',
  'on top of --edits, scores the case, drops the edit.',
  'R-Loc: the share of a same-subject fact\'s answer tokens still predicted top-1 after the edit, over the facts',
  'the model knew before (top-1 on every token); facts it did not know are counted as unknown and left out.',
];

export function formatFineKed(s: FineKedSummary): string {
  const f = (x: number) => x.toFixed(1);
  const lines = [
    '| measure | value (×100) |',
    '|---|---|',
    `| efficacy: P(o*) > P(o) / top-1 | ${f(s.efficacy.success)} / ${f(s.efficacy.top1)} |`,
    ...(s.paraphrase.cases ? [`| paraphrase: P(o*) > P(o) / top-1 | ${f(s.paraphrase.success)} / ${f(s.paraphrase.top1)} |`] : []),
    ...FINE_LEVELS.map((l) => `| R-Loc ${l} (${s.levels[l].known} facts) | ${s.levels[l].known ? f(s.levels[l].rloc) : '–'} |`),
    `| R-Loc average | ${f(s.average.rloc)} |`,
    ...(s.neighbourhood.cases ? [`| neighbourhood specificity: P(o) > P(o*) | ${f(s.neighbourhood.success)} |`] : []),
  ];
  const worst = s.worst.slice(0, 5).map((w) => `  case ${w.caseId} ${w.subject}: ${w.targetTrue} → ${w.targetNew}, R-Loc ${f(w.rloc)}${w.lost.length ? `; lost ${w.lost.map((x) => `${x.level} "${x.prompt} ${x.answer}"`).join(', ')}` : ''}`);
  return [lines.join('\n'), ...(s.counterfact ? ['', paperMarkdown({ counterfact: s.counterfact })] : []), ...(worst.length ? ['', 'worst cases:', ...worst] : []), ...(s.unknown ? ['', `${s.unknown} facts unknown to the reference model, left out of R-Loc`] : [])].join('\n');
}

export const fineKed = diagnosticCommand({
  id: 'fine-ked',
  summary: 'FINE-KED diagnostics: does a fact edit keep the subject\'s other facts (R-Loc easy / middle / hard)?',
  notes: NOTES,
  format: (r) => {
    const x = r as FineKedCliResult;
    return `${x.summary.stack ? `${stackMatchText(x.summary.stack)}\n\n` : ''}${formatFineKed(x.summary)}${x.protocol ? `\n\nProtocol:\n${protocolMarkdown(x.protocol)}` : ''}\n\n${x.cases} cases in ${x.seconds.toFixed(1)} s, ${x.skippedRecords.length} records skipped; results in ${x.out} (report.html)`;
  },
});
