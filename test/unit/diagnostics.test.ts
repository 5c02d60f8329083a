// The Diagnostics panel's pure data (webview/diagnostics/data.ts) on hand-made results.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EvokeDiagnostics, OrtDiagnostics } from '../../src/protocol/diagnostics';
import { barsCsv, caseLines, evokeBars, isOrt, ortBars, readable } from '../../webview/diagnostics/data';

const summary = (ind: Record<string, number>) => ({ cases: 2, indicators: ind, probs: { new: 50 } });
const caseRow = (caseId: number, success: number) => ({ kind: 'main' as const, caseId, subject: `S${caseId}`, targetNew: 'B', targetTrue: 'A', tasks: { efficacy: { indicators: { success }, probs: { new: success, true: 1 - success }, prompts: 1 } } });
const evoke: EvokeDiagnostics = {
  method: 'rome', data: ['x.json'],
  before: { prefix: summary({ eos: 100 }), efficacy: summary({ success: 0 }) },
  after: { prefix: summary({ eos: 50 }), efficacy: summary({ success: 100 }) },
  beforeCases: [caseRow(0, 0), caseRow(1, 1)],
  afterCases: [caseRow(0, 1), caseRow(1, 0)],
  out: { before: '/b', after: '/a' }, issues: 0, seconds: 1,
};

test('EVOKE bars follow the papers\' task order, before vs after', () => {
  assert.deepEqual(evokeBars(evoke), [
    { key: 'efficacy · success', label: 'Efficacy · success', group: 'efficacy', before: 0, after: 100 },
    { key: 'prefix · eos', label: 'Prefix distraction · EOS', group: 'prefix', before: 100, after: 50 },
  ]);
  // Labels are readable, not the data's camelCase ids.
  assert.equal(readable('relationSpecificity'), 'Relation specificity');
  assert.equal(readable('someNewTask'), 'some new task');
  assert.equal(isOrt(evoke), false);
});

test('the cases of a task pair before and after by case, worst change first', () => {
  const lines = caseLines(evoke, 'efficacy');
  assert.deepEqual(lines.map((l) => [l.caseId, l.indicators.success]), [['1', [1, 0]], ['0', [0, 1]]]);
  assert.equal(lines[0].target, 'A → B');
});

test('ORT bars: loss_prob × 100 per target, set and form; CSV has the change', () => {
  const ort: OrtDiagnostics = { targets: [{ target: 'T', skipped: 0, rows: [{ set: 'forget', form: 'fill-in', before: { items: 2, lossProb: 0.8, tokenAccuracy: 1 }, after: { items: 2, lossProb: 0.2, tokenAccuracy: 0 } }] }], enabledEdits: 1, seconds: 1 };
  assert.equal(isOrt(ort), true);
  const bars = ortBars(ort);
  assert.equal(bars[0].key, 'T · forget · fill-in');
  assert.ok(Math.abs(bars[0].before - 80) < 1e-9 && Math.abs(bars[0].after - 20) < 1e-9);
  assert.match(barsCsv(bars).split('\n')[1], /^"T · forget · fill-in",80(\.\d+)?,20(\.\d+)?,-60/);
});
