// The protocol a diagnostics run measured under (run.json "protocol", summary.json, the report's
// header): teacher-forced or generated answers; on the model as it is, after each case's own edit,
// or after all edits of a sequence; the templates (record fields) read; the metric versions.

import type { RunProtocol } from '../../protocol/diagnostics';

export type { RunProtocol };

/** Metric versions: a change of a formula gets a new version, so figures of two versions are not compared. */
export const METRIC_VERSIONS = {
  counterfact: 'counterfact-v1',
  evoke: 'evoke-v1',
  fineKed: 'fine-ked-v1',
  probes: 'probes-v1',
  zsre: 'zsre-v1',
  mquake: 'mquake-v1',
  sequential: 'sequential-top1-v1',
} as const;

/** A case-by-case run: method 'none' measures the model as it is, any other each case's own edit. */
export function caseProtocol(method: string, templates: string[], metrics: string[], scoring: RunProtocol['scoring'] = ['teacher-forced']): RunProtocol {
  return { scoring, measured: method === 'none' ? 'model as it is' : 'after each edit', templates, metrics };
}

/** The protocol's lines for a report header. */
export function protocolMeta(p: RunProtocol | undefined): Record<string, string> {
  if (!p) return {};
  return {
    scoring: p.scoring.join(' + '),
    measured: p.measured,
    templates: p.templates.join(', '),
    metrics: p.metrics.join(', '),
  };
}

/** The protocol as Markdown lines (for summaries pasted into notes). */
export function protocolMarkdown(p: RunProtocol): string {
  return Object.entries(protocolMeta(p)).map(([k, v]) => `- **${k}**: ${v}`).join('\n');
}
