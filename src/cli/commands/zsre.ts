// `mechedit zsre`: zsRE token-level accuracy over a zsRE request file, as a run folder
// (core/diagnostics/plugins/zsre.ts).

import type { ZsreCliResult } from '../../core/diagnostics/plugins/zsre';
import { paperMarkdown } from '../../core/diagnostics/report';
import { protocolMarkdown } from '../../core/diagnostics/protocol';
import { diagnosticCommand } from '../diagnosticCommand';

export const zsre = diagnosticCommand({
  id: 'zsre',
  summary: 'zsRE token-level accuracy (efficacy, generalisation, locality) over a zsRE request file',
  notes: [
    'Records: {subject?, src, rephrase, alt, answers, loc, loc_ans} (MEND / MEMIT / EasyEdit). A fact editor as --method',
    'edits each case (subject, src with the subject as "{}", alt) on top of --edits, measures it, drops it; it needs "subject".',
    'Accuracy: the share of answer tokens that are the argmax, teacher-forced; locality: equal to the unedited model\'s argmax.',
  ],
  format: (r) => {
    const x = r as ZsreCliResult;
    return `${paperMarkdown({ zsre: x.summary })}\n\nProtocol:\n${protocolMarkdown(x.protocol)}\n\n${x.cases} cases, ${x.skippedRecords.length} records skipped; results in ${x.out} (report.html)`;
  },
});
