// The progress text of long runs (src/protocol/progress.ts): done / total, the rate measured from
// the run's own first sample, and the time left, against figures worked out by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { durationText, estimateText, ProgressClock, progressFigures, progressText, rateText } from '../../src/protocol/progress';

test('durationText: seconds, minutes with seconds under 10 min, hours with minutes', () => {
  assert.equal(durationText(0), '0 s');
  assert.equal(durationText(44.6), '45 s');
  assert.equal(durationText(60), '1 min');
  assert.equal(durationText(200), '3 min 20 s');
  assert.equal(durationText(725), '12 min');
  assert.equal(durationText(3600), '1 h');
  assert.equal(durationText(3900), '1 h 5 min');
  assert.equal(durationText(7199), '2 h');
  assert.equal(durationText(NaN), '—');
  assert.equal(durationText(-1), '—');
});

test('rateText: per second from one a second up, else per minute', () => {
  assert.equal(rateText(2.4, 'steps'), '2.40 steps/s');
  assert.equal(rateText(12.34, 'steps'), '12.3 steps/s');
  assert.equal(rateText(1 / 8, 'edits'), '7.50 edits/min');
  assert.equal(rateText(0, 'edits'), '—');
});

test('progressText: 9 of 30 edits in 72 s from 0 → 0.125 edits/s, 21 left → 168 s', () => {
  const p = { done: 9, total: 30, elapsedSeconds: 72, unit: 'edits' };
  assert.deepEqual(progressFigures(p), { rate: 0.125, secondsLeft: 168 });
  assert.equal(progressText(p), '9 / 30 edits · 7.50 edits/min · about 2 min 48 s left');
});

test('progressText: a resumed run counts only its own work (20 saved, 10 more in 50 s → 0.2/s, 70 left → 350 s)', () => {
  const p = { done: 30, total: 100, startDone: 20, elapsedSeconds: 50, unit: 'edits' };
  assert.deepEqual(progressFigures(p), { rate: 0.2, secondsLeft: 350 });
  assert.equal(progressText(p), '30 / 100 edits · 12.0 edits/min · about 5 min 50 s left');
});

test('progressText: nothing done yet says it is estimating; no total gives no time left; the end says finishing', () => {
  assert.equal(progressText({ done: 0, total: 30, elapsedSeconds: 5, unit: 'edits' }), '0 / 30 edits · estimating the time left');
  assert.equal(progressText({ done: 40, elapsedSeconds: 20, unit: 'steps' }), '40 steps · 2.00 steps/s');
  assert.equal(progressText({ done: 30, total: 30, elapsedSeconds: 60, unit: 'edits' }), '30 / 30 edits · 30.0 edits/min · finishing');
});

test('estimateText: units × seconds per unit', () => {
  assert.equal(estimateText(100, 7.2, 'edits'), 'about 12 min (100 edits at 7.2 s each)');
});

test('ProgressClock: the first sample starts the clock (its units are not this run\'s work)', () => {
  let now = 1_000;
  const clock = new ProgressClock('steps', () => now);
  assert.equal(clock.text(1, 100), '1 / 100 steps · estimating the time left');
  now += 10_000;
  // 20 more steps in 10 s: 2 steps/s, 79 left → 39.5 s → "40 s".
  assert.equal(clock.text(21, 100), '21 / 100 steps · 2.00 steps/s · about 40 s left');
  assert.equal(clock.elapsed(), 10);
});
