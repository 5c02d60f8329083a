// `mechedit evoke`: EVOKE diagnostics over a data file (core/diagnostics/plugins/evoke.ts).

import type { TaskSummary } from '../../core/diagnostics/evoke';
import type { EvokeCliResult } from '../../core/diagnostics/plugins/evoke';
import { diagnosticCommand } from '../diagnosticCommand';
import { paperMarkdown } from '../../core/diagnostics/report';
import { protocolMarkdown } from '../../core/diagnostics/protocol';
import { stackMatchText } from '../../core/diagnostics/caseEdit';

export function formatSummary(tasks: Record<string, TaskSummary>): string {
  const rows = Object.entries(tasks).map(([task, t]) =>
    `| ${task} | ${t.cases} | ${Object.entries(t.indicators).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} | ${Object.entries(t.probs).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')} |`);
  return ['| task | cases | indicators (×100) | mean probabilities (×100) |', '|---|---|---|---|', ...rows].join('\n');
}

export const evoke = diagnosticCommand({
  id: 'evoke',
  summary: 'EVOKE diagnostics (efficacy, paraphrase, multi-hop, prefix distraction, specificity) over a data file',
  notes: ["A fact editor as --method computes each case's edit on top of --edits, applies it, scores the case and drops it."],
  format: (r) => {
    const x = r as EvokeCliResult;
    return `${x.stack ? `${stackMatchText(x.stack)}\n\n` : ''}${formatSummary(x.tasks)}\n\n${paperMarkdown(x)}${x.protocol ? `\n\nProtocol:\n${protocolMarkdown(x.protocol)}` : ''}\n\n${x.cases} cases, ${x.skippedRecords.length} records skipped; results in ${x.out} (report.html)`;
  },
});
