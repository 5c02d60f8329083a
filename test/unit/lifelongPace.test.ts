// The Lifelong editing estimate (src/extension/lifelongPace.ts): a run's seconds per request from
// its curve's clock, and a start's estimate from the paces measured per method and settings, against
// figures worked out by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateStart, paceOf } from '../../src/extension/lifelongPace';
import { paceKey, type LifelongPoint } from '../../src/protocol/lifelong';

const point = (edits: number, seconds: number): LifelongPoint => ({ edits, seconds, efficacy: 0, paraphrase: 0, specificity: 0, skills: { choice: 0, trueFalse: 0, twoHop: 0 }, health: [] });

test('paceOf: (last − first seconds) / (last − first edits); undefined under two timed points', () => {
  assert.equal(paceOf([point(0, 4), point(5, 44), point(10, 79)]), 7.5);
  assert.equal(paceOf([point(0, 4)]), undefined);
  assert.equal(paceOf([point(0, 4), point(2, NaN)]), undefined, 'a re-measured hole has no time');
});

test('estimateStart: N × pace over the measured methods, keyed by settings; the others named', () => {
  const start = { methods: ['rome', 'alphaedit'], n: 100, batch: 10 };
  const paces = { [paceKey('rome', start)]: 7.4, [paceKey('rome', { ...start, settings: { steps: 20 } })]: 1 };
  const e = estimateStart(start, paces, (m) => m.toUpperCase());
  assert.equal(e?.seconds, 740);
  assert.equal(e?.text, 'about 12 min (ROME 100 × 7.4 s, as measured on this machine; ALPHAEDIT not measured yet)');
  assert.deepEqual(e?.unmeasured, ['ALPHAEDIT']);
  assert.equal(estimateStart({ ...start, settings: { steps: 40 } }, paces, String), undefined, 'another v* step count is not measured');
  assert.equal(estimateStart({ ...start, requestsFile: 'r.jsonl' }, paces, String), undefined);
});
