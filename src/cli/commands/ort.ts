// `mechedit ort`: ORT diagnostics (core/diagnostics/plugins/ort.ts).

import type { OrtResult } from '../../core/diagnostics/ort';
import type { OrtCliResult } from '../../core/diagnostics/plugins/ort';
import { diagnosticCommand } from '../diagnosticCommand';

export function formatOrt(results: OrtResult[]): string {
  const lines = ['| target | set | form | items | loss_prob before | after | change | token acc. before | after | change |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    for (const row of r.rows) {
      const a = row.after;
      const d = (x: number | undefined, y: number) => (x === undefined ? '–' : (x - y >= 0 ? '+' : '') + (x - y).toFixed(4));
      lines.push(`| ${r.target} | ${row.set} | ${row.form} | ${row.before.items} | ${row.before.lossProb.toFixed(4)} | ${a ? a.lossProb.toFixed(4) : '–'} | ${d(a?.lossProb, row.before.lossProb)} | ${row.before.tokenAccuracy.toFixed(3)} | ${a ? a.tokenAccuracy.toFixed(3) : '–'} | ${d(a?.tokenAccuracy, row.before.tokenAccuracy)} |`);
    }
  }
  return lines.join('\n');
}

export const ort = diagnosticCommand({
  id: 'ort',
  summary: 'ORT diagnostics: does unlearning hold in every form (cloze, question, adversarial, multiple choice, true/false, character by character)?',
  notes: ['Scores are measured without the edits and with them; forget: lower is better, neighbour: higher.'],
  format: (r) => formatOrt((r as OrtCliResult).targets),
});
