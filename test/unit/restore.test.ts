// What the extension shows again after a window reload, without VS Code: the Edits view's rows
// (every applied edit, wherever its file lives) and the Diagnostics panel's last results as kept
// in last.json (written whole, read back with errors that name the file and field, never written
// over a file MechEdit did not write).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StackItem } from '../../src/protocol/edits';
import type { EvokeDiagnostics, OrtDiagnostics } from '../../src/protocol/diagnostics';
import { editRows } from '../../src/extension/views/editRows';
import { checkSaved, LAST_FORMAT, pointerOf, readLast, writeLast } from '../../src/extension/panels/lastDiagnostics';

const item = (id: string, file?: string): StackItem => ({ id, label: `edit ${id}`, method: 'rome', file, enabled: true, strength: 1, targets: [{ layer: 0, module: 'mlp.out', rank: 1 }] });

test('the Edits view lists every applied edit in stack order, wherever its file is, then the workspace files not applied', () => {
  const ws = '/ws/.mechedit/edits';
  const stack = [item('b', '/elsewhere/b.json'), item('a', `${ws}/a.json`), item('n')];
  const rows = editRows(stack, [`${ws}/z.json`, `${ws}/a.json`, `${ws}/c.json`]);
  assert.deepEqual(rows.map((r) => [r.item?.id, r.file]), [
    ['b', '/elsewhere/b.json'],
    ['a', `${ws}/a.json`],
    ['n', undefined],
    [undefined, `${ws}/c.json`],
    [undefined, `${ws}/z.json`],
  ]);
  assert.deepEqual(editRows(stack, []).map((r) => r.item?.id), ['b', 'a', 'n'], 'applied edits are listed before any file scan');
  assert.deepEqual(editRows([], []), []);
});

const ort: OrtDiagnostics = { targets: [{ target: '1_Veltrazine', rows: [{ set: 'forget', form: 'fill-in', before: { items: 3, lossProb: 0.4, tokenAccuracy: 0.5 }, after: { items: 3, lossProb: 0.1, tokenAccuracy: 0.2 } }], skipped: 0 }], enabledEdits: 1, seconds: 1.5 };
const evoke: EvokeDiagnostics = { method: 'none', data: [], before: {}, after: { efficacy: { cases: 1, indicators: { success: 100 }, probs: {} } }, beforeCases: [], afterCases: [], out: { before: '/r/before', after: '/r/after' }, issues: 0, seconds: 2 };

test('the last diagnostics results are written whole and read back as they were', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-last-')), 'diagnostics');
  const file = writeLast(dir, { savedAt: '2025-01-02T03:04:05.000Z', model: '/models/m', result: ort });
  assert.equal(file, path.join(dir, 'last.json'));
  assert.ok(fs.readFileSync(file, 'utf8').startsWith(`{"format":"${LAST_FORMAT}"`));
  assert.deepEqual(await readLast(file), { saved: { format: LAST_FORMAT, savedAt: '2025-01-02T03:04:05.000Z', model: '/models/m', result: ort } });
  writeLast(dir, { savedAt: '2025-01-02T04:00:00.000Z', result: evoke });
  const again = await readLast(file);
  assert.deepEqual('saved' in again ? again.saved.result : undefined, evoke, 'the next results replace them');
  assert.deepEqual(fs.readdirSync(dir), ['last.json'], 'no temp file is left');
});

test('a last.json that MechEdit did not write is never replaced', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-last-'));
  fs.writeFileSync(path.join(dir, 'last.json'), '{"mine": true}');
  assert.throws(() => writeLast(dir, { savedAt: '2025-01-02T03:04:05.000Z', result: ort }), /last\.json exists and was not written by MechEdit/);
  assert.equal(fs.readFileSync(path.join(dir, 'last.json'), 'utf8'), '{"mine": true}');
});

test('results that cannot be read back say why, naming the file and the field', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-last-'));
  const file = path.join(dir, 'last.json');
  assert.deepEqual(await readLast(file), { error: `${file} no longer exists.` });
  fs.writeFileSync(file, '{"format":');
  assert.match((await readLast(file) as { error: string }).error, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`));
  fs.writeFileSync(file, JSON.stringify({ format: LAST_FORMAT, savedAt: '2025-01-02T03:04:05.000Z', result: { ...ort, targets: [null] } }));
  assert.equal((await readLast(file) as { error: string }).error, `${file}: "result.targets[0].rows" is not a list.`);
  const saved = (result: unknown, extra: object = {}) => ({ format: LAST_FORMAT, savedAt: '2025-01-02T03:04:05.000Z', result, ...extra });
  assert.equal(checkSaved(saved(ort)), undefined);
  assert.equal(checkSaved(saved(evoke)), undefined);
  assert.equal(checkSaved(saved({ kind: 'edit', edit: { id: 'x', label: 'x', method: 'rome' }, facts: [], seconds: 1 })), undefined);
  assert.equal(checkSaved(saved({ kind: 'edit', edit: { id: 'x' }, facts: 'no', seconds: 1 })), '"result.facts" is not a list.');
  assert.equal(checkSaved(saved({ ...evoke, after: null })), '"result.after" is not an object.');
  assert.equal(checkSaved(saved({ ...evoke, out: {} })), '"result.out.after" is not a folder.');
  assert.equal(checkSaved(saved({ ...ort, seconds: 'x' })), '"result.seconds" is not a number.');
  assert.equal(checkSaved(saved(ort, { savedAt: 'yesterday' })), '"savedAt" is not a date.');
  assert.equal(checkSaved(saved(ort, { format: 'other/1' })), '"format" is "other/1", not "mechedit-diagnostics/1".');
  assert.equal(checkSaved(null), 'not a JSON object.');
});

test('the workspace pointer to the last results is read only when well formed', () => {
  assert.deepEqual(pointerOf({ file: '/ws/.mechedit/diagnostics/last.json', savedAt: '2025-01-02T03:04:05.000Z' }), { file: '/ws/.mechedit/diagnostics/last.json', savedAt: '2025-01-02T03:04:05.000Z' });
  for (const bad of [undefined, null, 'x', { file: 3, savedAt: 'x' }, { file: '', savedAt: 'x' }, { file: '/f' }]) assert.equal(pointerOf(bad), undefined, JSON.stringify(bad));
});
