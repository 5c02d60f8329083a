// The knowledge subgraph a GLAME edit was computed from (its file's hparams.subgraph, written by
// src/core/edits/glame.ts), as a Markdown table for the edit's tooltip: why the edit should carry
// over to what the graph says about the new object. No vscode import (unit-tested).

import { readUserText } from '../readGuard';

interface SubgraphJson {
  source?: string;
  caseId?: string;
  n?: number;
  leftOut?: number;
  featureLayer?: number;
  triples?: unknown[];
}

const cell = (s: unknown) => String(s).replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`).replace(/\n/g, ' ');

/** The table of an edit file's subgraph, or '' when the file has none (not a GLAME edit, or unreadable). */
export function subgraphMarkdown(file: string): string {
  let sg: SubgraphJson | undefined;
  try {
    sg = (JSON.parse(readUserText(file, 'edit')) as { hparams?: { subgraph?: SubgraphJson } }).hparams?.subgraph;
  } catch {
    return '';
  }
  const triples = (sg?.triples ?? []).filter((t): t is unknown[] => Array.isArray(t) && t.length === 3);
  if (!sg || triples.length === 0) return '';
  const from = `${cell(sg.source ?? 'graph')}${sg.caseId !== undefined ? `, case ${cell(sg.caseId)}` : ''}`;
  const rows = triples.map((t, i) => `| ${i === 0 ? 'edit' : i} | ${cell(t[0])} | ${cell(t[1])} | ${cell(t[2])} |`);
  const more = sg.leftOut ? ` (${sg.leftOut} more left out by n = ${sg.n})` : '';
  return [`GLAME subgraph from ${from}: ${triples.length} triples${more}; features at block ${sg.featureLayer ?? '?'}; messages flow object → subject.`, '', '| | subject | relation | object |', '|---|---|---|---|', ...rows].join('\n');
}
