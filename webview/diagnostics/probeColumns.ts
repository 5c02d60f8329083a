// The knowledge probes' table columns: a plain name, and a tooltip saying what the figure is and
// how it is computed (docs/diagnostics/probes.md). Each cell shows "edit · ctx": the edit in the
// weights, then the new fact stated in the prompt on the model without the edit.

export interface ProbeColumn {
  name: string;
  tip: string;
}

const BOTH = ' Shown as "edit · ctx": the edit in the weights · the new fact stated in the prompt on the model without the edit. × 100.';

export const PROBE_COLUMNS: ProbeColumn[] = [
  { name: 'case', tip: 'The case id in the probe cases file.' },
  { name: 'edit', tip: 'The fact edited: subject (relation): old answer o → new answer o*.' },
  { name: 'efficacy', tip: `Efficacy: 1 when P(o*) > P(o) on the edit prompt (mean log-probabilities compared, CounterFact's efficacy score), averaged over the cases.${BOTH}` },
  { name: 'consistency', tip: 'Intra-memory consistency: every template and question of the fact, each form\'s top-1 answer among the case\'s candidates; agreement = the share of forms giving the most common answer, "o*" = the share answering o*, "H" = the entropy of the answers in bits. Edit · ctx, × 100.' },
  { name: 'reversal', tip: `Reversal: the inverse question about o*, success when it scores the subject over the world's answer before the edit; gap = efficacy − reversal. Only where the inverse has one answer ("none" otherwise).${BOTH}` },
  { name: 'old fact in prompt', tip: 'Context–memory conflict after the edit: the old fact is stated before the edit prompt; the edit (memory) wins when P(o*) > P(o). P(o*) / P(o): length-normalised probabilities × 100.' },
  { name: 'new fact in prompt', tip: 'Context–memory conflict on the unedited model: the new fact is stated before the edit prompt; the context wins when P(o*) > P(o).' },
  { name: 'ripple', tip: `Multi-hop ripple: the world's two-hop questions through the edited fact; success when the answer through o* beats the one through o (MQuAKE-style, teacher-forced). The number of questions in brackets.${BOTH}` },
  { name: 'R-Loc', tip: `Same-subject R-Loc: the share of the answer tokens of the subject's other known facts still predicted top-1.${BOTH}` },
];
