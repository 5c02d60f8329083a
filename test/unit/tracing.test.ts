// The Causal Tracing panel's pure data (webview/tracing/data.ts) on a hand-made result.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CausalTraceResult } from '../../src/protocol/model';
import { effectDomain, effectGrid, legendMarks, tokenLabels, tracedOn, tracingCsv } from '../../webview/tracing/data';

const r: CausalTraceResult = {
  tokens: [{ id: 1, text: 'Ada' }, { id: 2, text: ' Love' }, { id: 3, text: 'lace' }, { id: 4, text: ' was' }],
  subject: [0, 3],
  answer: { id: 9, text: ' London' },
  cleanProb: 0.9,
  corruptedProb: 0.1,
  scores: {
    resid: [[0.2, 0.3, 0.8, 0.1], [0.1, 0.1, 0.5, 0.7]],
    mlp: [[0.1, 0.2, 0.6, 0.1], [0.1, 0.1, 0.2, 0.1]],
    attn: [[0.1, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.4]],
  },
  recommendedLayer: 0,
  informative: true,
  noiseStd: 0.3,
};

test('effect grids are layer-major with the tokens along each row', () => {
  const g = effectGrid(r, 'resid');
  assert.equal(g.layers, 2);
  assert.equal(g.tokens, 4);
  assert.equal(g.values[0 * 4 + 2], Math.fround(0.8));
  assert.equal(g.values[1 * 4 + 3], Math.fround(0.7));
  assert.equal(effectGrid(r, 'mlp').values[2], Math.fround(0.6));
});

test('the subject tokens are starred; the shared colour domain is the absolute range of P, with the clean and corrupted levels marked', () => {
  assert.deepEqual(tokenLabels(r), ['Ada*', ' Love*', 'lace*', ' was']);
  assert.deepEqual(effectDomain(), [0, 1]);
  // Restorations that barely move P from the corrupted level are not stretched to the full scale.
  const flat = { ...r, cleanProb: 0.9, corruptedProb: 0.89, scores: { resid: [[0.89, 0.8900001]], mlp: [[0.89, 0.89]], attn: [[0.89, 0.89]] } };
  assert.deepEqual(legendMarks(flat).map((m) => m.at), [0.89, 0.9]);
  assert.deepEqual(legendMarks(r).map((m) => [m.id, m.label, m.at]), [['corrupted', 'corrupted 10.0 %', 0.1], ['clean', 'clean 90.0 %', 0.9]]);
});

test('CSV has one row per kind, layer and token', () => {
  const lines = tracingCsv(r).trim().split('\n');
  assert.equal(lines[0], 'kind,layer,position,token,subject,p_answer');
  assert.equal(lines.length, 1 + 3 * 2 * 4);
  assert.equal(lines[3], 'resid,0,2,"lace",1,0.8');
  assert.equal(lines[8], 'resid,1,3," was",0,0.7');
});

test('the panel says which model was traced: the edited one with its edits by label (and strength), or the bare one', () => {
  const a = { id: 'a1', label: 'ROME: Rouxwick → Vyswick', strength: 1 };
  const b = { id: 'b2', label: 'MEMIT: 4 facts', strength: 0.5 };
  assert.equal(tracedOn({ bare: false, edits: [a, b] }), 'Traced on the edited model: 2 edits applied, "ROME: Rouxwick → Vyswick", "MEMIT: 4 facts" ×0.5.');
  assert.equal(tracedOn({ bare: false, edits: [a] }), 'Traced on the edited model: 1 edit applied, "ROME: Rouxwick → Vyswick".');
  assert.match(tracedOn({ bare: false, edits: [] }), /^Traced on the model without edits \(none was applied\)/);
  assert.match(tracedOn({ bare: true, edits: [] }), /^Traced on the bare model: no edits .*your edits stay applied/);
});
