// Presets as the extension and the panels choose and show them (src/extension/presets.ts,
// src/protocol/registry.ts): the quick pick's items, which preset is preselected, the preset an
// edit file records (none for older files: nothing shown), and the preset the Diagnostics and
// Lifelong panels pass (only where the registry's descriptor takes one, only for a method that has it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { editFilePreset, editPreset, editSettings, perCasePreset, preselectedPreset, presetItems, presetSummary, presetWords, sequentialTakesPreset } from '../../src/extension/presets';
import { methodChoice, presetFor, presetOptions, type MethodDescriptor, type RegistryDescription } from '../../src/protocol/registry';

const method = (id: string, presets: MethodDescriptor['presets'], defaultPreset?: string): MethodDescriptor => ({
  id, label: id.toUpperCase(), description: 'd', family: 'edit', kind: 'fact', settings: [], presets, defaultPreset, outputs: [],
});
const two = method('aa', [
  { id: 'paper', doc: 'the reference\'s', values: { clamp: 0.75, layers: [3, 4] }, rules: { lambda: 'λ by ratio', layer: 'trace' } },
  { id: 'tuned', doc: 'measured here', values: {} },
], 'tuned');
const one = method('bb', [{ id: 'tuned', doc: 't', values: { lr: 0.002 } }], 'tuned');

test('quick pick items: each preset with the default marked, its values and the settings it derives, its doc', () => {
  assert.equal(presetSummary(two.presets[0]), 'clamp 0.75, layers 3,4; from the model: lambda, layer');
  assert.deepEqual(presetItems(two), [
    { id: 'paper', label: 'paper', description: 'clamp 0.75, layers 3,4; from the model: lambda, layer', detail: 'the reference\'s' },
    { id: 'tuned', label: 'tuned', description: 'default · each setting\'s default', detail: 'measured here' },
  ]);
});

test('the preselected preset: the last used with the method, else the setting, else its default, else its first; each only when the method has it', () => {
  assert.equal(preselectedPreset(two, 'paper', 'tuned'), 'paper');
  assert.equal(preselectedPreset(two, 'gone', 'paper'), 'paper', 'a remembered preset the method lacks is passed over');
  assert.equal(preselectedPreset(two, undefined, 'cf_plus'), 'tuned', 'a configured preset the method lacks: its default');
  assert.equal(preselectedPreset(two), 'tuned');
  assert.equal(preselectedPreset(method('cc', [{ id: 'x', doc: '', values: {} }, { id: 'y', doc: '', values: {} }])), 'x', 'no default: the first');
  assert.equal(preselectedPreset(method('dd', [])), undefined);
});

test('the preset an edit file records: hparams.preset; a file without one (or unreadable) shows nothing, never "undefined"', () => {
  assert.equal(editPreset({ hparams: { preset: 'paper', layer: 3 } }), 'paper');
  assert.equal(editPreset({ hparams: { layer: 3 } }), undefined);
  assert.equal(editPreset({ hparams: { preset: '' } }), undefined);
  assert.equal(editPreset({ hparams: { preset: 7 } }), undefined);
  assert.equal(editPreset(undefined), undefined);
  assert.equal(presetWords(undefined), '');
  assert.equal(presetWords('paper'), 'preset paper');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-preset-'));
  const withPreset = path.join(dir, 'a.json');
  const older = path.join(dir, 'b.json');
  fs.writeFileSync(withPreset, JSON.stringify({ id: 'a', method: 'rome', hparams: { preset: 'paper' } }));
  fs.writeFileSync(older, JSON.stringify({ id: 'b', method: 'rome', hparams: { layer: 0 } }));
  assert.equal(editFilePreset(withPreset), 'paper');
  assert.equal(editFilePreset(older), undefined);
  assert.equal(editFilePreset(path.join(dir, 'missing.json')), undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a panel\'s preset choice: nothing when no method has several presets; else the default first, then every id once, naming the methods that have it', () => {
  const c2 = methodChoice(two);
  const c1 = methodChoice(one);
  assert.deepEqual(c2.presets, [{ id: 'paper', doc: 'the reference\'s' }, { id: 'tuned', doc: 'measured here' }]);
  assert.equal(c2.defaultPreset, 'tuned');
  assert.deepEqual(presetOptions([c1]), []);
  assert.deepEqual(presetOptions([c2]), [{ id: '', label: 'the default (tuned)' }, { id: 'paper', label: 'paper' }, { id: 'tuned', label: 'tuned' }]);
  assert.deepEqual(presetOptions([c2, c1]), [{ id: '', label: 'the default (tuned)' }, { id: 'paper', label: 'paper (AA)' }, { id: 'tuned', label: 'tuned' }]);
  const other = methodChoice(method('ee', [{ id: 'x', doc: '', values: {} }, { id: 'paper', doc: '', values: {} }], 'paper'));
  assert.equal(presetOptions([c2, other])[0].label, 'each method\'s default');
  assert.equal(presetFor(c2, 'paper'), 'paper');
  assert.equal(presetFor(c1, 'paper'), undefined);
  assert.equal(presetFor(c2, ''), undefined);
  assert.equal(presetFor(undefined, 'paper'), undefined);
});

const registryWith = (takes: string[]): RegistryDescription => ({
  methods: [two, one], objectives: [],
  diagnostics: ['evoke', 'fine-ked', 'sequential'].map((id) => ({
    ...method(id, []), family: 'diagnostic', kind: 'diagnostic', label: id.toUpperCase(),
    settings: [{ name: 'method', type: 'string', doc: '' }, ...(takes.includes(id) ? [{ name: 'preset', type: 'string' as const, doc: '' }] : [])],
  })),
});

test('the Diagnostics panel passes a per-case preset only to a diagnostic that takes one, only of the method\'s presets', () => {
  const r = registryWith(['evoke']);
  assert.equal(perCasePreset(r, 'evoke', two, 'paper'), 'paper');
  assert.equal(perCasePreset(r, 'evoke', two, undefined), undefined);
  assert.equal(perCasePreset(r, 'evoke', two, ''), undefined);
  assert.throws(() => perCasePreset(r, 'evoke', one, 'paper'), /BB has no preset "paper": use one of tuned\./);
  assert.throws(() => perCasePreset(r, 'fine-ked', two, 'paper'), /FINE-KED runs each case's edit with the method's default preset only/);
});

test('a lifelong session\'s edits: the preset for a method that has it, when sequential runs take one; the other settings as given', () => {
  const start = { methods: ['aa', 'bb'], settings: { steps: 20, preset: 'paper' } };
  assert.equal(sequentialTakesPreset(registryWith(['sequential'])), true);
  assert.equal(sequentialTakesPreset(registryWith(['evoke'])), false);
  assert.deepEqual(editSettings(start, two, true), { steps: 20, preset: 'paper' });
  assert.deepEqual(editSettings(start, one, true), { steps: 20 }, 'a method without the preset runs its default');
  assert.deepEqual(editSettings(start, two, false), { steps: 20 }, 'runs that take no preset get none');
  assert.equal(editSettings({ methods: ['aa'] }, two, true), undefined);
});
