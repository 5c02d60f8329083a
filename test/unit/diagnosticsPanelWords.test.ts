// The Diagnostics panel's words and layout without a browser (issue 33, item 5): the mode line for
// each mode, the notice for a stack that matches no case, the comparison of two kept runs, the run
// history on disk (never overwritten, damaged files named), and chart margins that hold the
// rotated axis labels.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modeLine, noMatchText, matchText } from '../../webview/diagnostics/words';
import { compareBars, labelMargins } from '../../webview/diagnostics/data';
import { listHistory, readLast, writeHistory, writeLast, HISTORY_FOLDER } from '../../src/extension/panels/lastDiagnostics';
import type { OrtDiagnostics } from '../../src/protocol/diagnostics';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-panel-words-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the mode line says what before and after are in each mode, naming the edits', () => {
  assert.match(modeLine('none', ['A', 'B']), /before = the model without edits; after = the model with the 2 enabled edits \(A, B\)\. /);
  assert.match(modeLine('none', []), /no edit is enabled: nothing changes/);
  assert.match(modeLine('rome', ['A'], 'ROME + LTI', 'layer 2'), /after = for each case, its own ROME \+ LTI edit \(layer 2\) computed on top of the 1 enabled edit \(A\), applied for that case alone/);
  assert.match(modeLine('memit', [], 'MEMIT'), /its own MEMIT edit computed on the model without edits/);
});

test('a stack matching no case is said in words; one matching some is counted', () => {
  assert.equal(noMatchText('EVOKE', { edits: ['A'], matching: 1, cases: 4 }), undefined);
  assert.equal(noMatchText('EVOKE', undefined), undefined, 'per-case runs and older results: no notice');
  assert.match(noMatchText('FINE-KED', { edits: [], matching: 0, cases: 40 })!, /^None of the 40 FINE-KED cases has its edit in the stack \(no edit was applied\)\. Efficacy and paraphrase .* not measured here \(not 0 → 0\)/);
  assert.equal(matchText({ edits: ['A'], matching: 1, cases: 4 }), ' · 1 of 4 cases have their edit in the stack');
});

test('two runs compared by measure: A\'s order, then B\'s own measures; the difference of the afters', () => {
  const rows = compareBars(
    [{ key: 'x', group: 'g', before: 10, after: 20 }, { key: 'y', group: 'g', before: 0, after: 5 }],
    [{ key: 'y', group: 'g', before: 0, after: 50 }, { key: 'z', group: 'g', before: 1, after: 2 }],
  );
  assert.deepEqual(rows.map((r) => [r.key, r.diff]), [['x', NaN], ['y', 45], ['z', NaN]]);
});

test('every run is kept under a new name, last.json untouched; the list is newest first and names what it cannot read', async () => {
  const dir = path.join(tmp, 'diagnostics');
  const result: OrtDiagnostics = { targets: [], enabledEdits: 1, seconds: 1 };
  writeLast(dir, { result, savedAt: '2026-12-08T01:00:00.000Z' });
  const brief = { kind: 'ort' as const, edits: ['A'] };
  const a = writeHistory(dir, { result, savedAt: '2026-12-08T01:00:00.000Z', brief });
  const b = writeHistory(dir, { result: { ...result, seconds: 2 }, savedAt: '2026-12-08T01:00:00.000Z', brief });
  const c = writeHistory(dir, { result, savedAt: '2026-12-08T02:00:00.000Z', brief: { ...brief, edits: [] } });
  assert.equal(new Set([a, b, c]).size, 3, 'the same second gets a new name, not the old file');
  assert.equal(((await readLast(a)) as { saved: { result: OrtDiagnostics } }).saved.result.seconds, 1);
  assert.equal(((await readLast(b)) as { saved: { result: OrtDiagnostics } }).saved.result.seconds, 2);
  fs.writeFileSync(path.join(dir, HISTORY_FOLDER, '2026-12-09-broken.json'), '{"format":');
  const h = await listHistory(dir);
  assert.equal(h.runs[0].file, c, 'newest first');
  assert.deepEqual(h.runs.map((r) => r.file).sort(), [a, b, c].sort());
  assert.deepEqual(h.runs[0].brief, { kind: 'ort', edits: [] });
  assert.equal(h.unreadable?.length, 1);
  assert.match(h.unreadable![0], /2026-12-09-broken\.json is not valid JSON/);
  assert.ok(fs.existsSync(path.join(dir, 'last.json')));
});

test('chart margins hold the rotated labels: the first label\'s left end stays inside the chart', () => {
  const cos = Math.cos((40 * Math.PI) / 180);
  const widths = [180, 150, 160, 140, 170, 200, 150, 150, 160, 190];
  const width = 1000;
  const m = labelMargins(widths, width);
  const step = (width - m.left - 8) / widths.length;
  widths.forEach((w, i) => assert.ok(m.left + (i + 0.5) * step - w * cos - 12 >= 0, `label ${i} reaches ${m.left + (i + 0.5) * step - w * cos - 12}`));
  assert.ok(m.bottom >= 200 * Math.sin((40 * Math.PI) / 180), `bottom ${m.bottom}`);
  assert.deepEqual(labelMargins([20, 20], 800), { left: 40, bottom: 64 }, 'short labels keep the plain margins');
});
