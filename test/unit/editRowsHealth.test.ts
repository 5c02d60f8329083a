// The Edits view's marks for edit files (src/extension/views/editRows.ts heldBack): a failed edit
// and an unhealthy one, from the health record their files carry (editJob.ts measureAndWrite).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { editRows, fileInfoOf, heldBack, withoutFailed, type HeldBack } from '../../src/extension/views/editRows';

test('a failed edit file is marked failed with its outcome reason, before its warnings', () => {
  const json = { health: { warnings: ['the edit did not take: P(target) 0.19 %', 'KL on neutral prompts = 0.2 nats > 0.1'], efficacy: { succeeded: false, reason: 'P(target) 0.19 %' } } };
  assert.deepEqual(heldBack(json), { kind: 'failed', reason: 'did not take: P(target) 0.19 %' });
});

test('an edit file with health warnings is marked unhealthy with every warning; a clean one or one with no health is not marked', () => {
  const warnings = ['layer 0 mlp.out: ‖ΔW‖/‖W‖ = 0.915 > 0.25 (a large change of the weight)', 'KL on neutral prompts = 0.160 nats > 0.1'];
  assert.deepEqual(heldBack({ health: { warnings, efficacy: { succeeded: true } } }), { kind: 'unhealthy', reason: `unhealthy: ${warnings.join('; ')}` });
  assert.equal(heldBack({ health: { warnings: [], efficacy: { succeeded: true } } }), undefined);
  assert.equal(heldBack({ id: 'x' }), undefined);
  assert.equal(heldBack(null), undefined);
  assert.equal(heldBack({ health: { warnings: 'not a list' } }), undefined);
});

test('a broken edit file (not JSON, or against the schema) is marked broken, naming the field; a good one keeps its label and id', () => {
  const notJson = fileInfoOf('{ "id": "x", ');
  assert.equal(notJson.held?.kind, 'broken');
  assert.match(notJson.held?.reason ?? '', /^broken: Not valid JSON/);
  const file = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'probes', 'rome-case30.json'), 'utf8')) as Record<string, unknown>;
  const edit: Record<string, unknown> = { ...file, health: undefined };
  assert.deepEqual(fileInfoOf(JSON.stringify(edit)), { label: edit.label, id: edit.id }, 'a valid edit file with no health record: label and id, no mark');
  const bad = fileInfoOf(JSON.stringify({ ...edit, method: 'magic' }));
  assert.equal(bad.held?.kind, 'broken');
  assert.match(bad.held?.reason ?? '', /^broken: "method" must be one of/);
  assert.equal(bad.label, edit.label, 'a broken file still shows its label');
  const unhealthy = fileInfoOf(JSON.stringify({ ...edit, health: { targets: [], warnings: ['KL on neutral prompts = 0.177 nats > 0.1'] } }));
  assert.equal(unhealthy.held?.kind, 'unhealthy');
});

test('the filter hides unapplied failed files only: applied edits, broken and unhealthy files stay', () => {
  const marks: Record<string, HeldBack | undefined> = {
    '/w/failed.json': { kind: 'failed', reason: 'did not take' },
    '/w/unhealthy.json': { kind: 'unhealthy', reason: 'unhealthy' },
    '/w/broken.json': { kind: 'broken', reason: 'broken' },
    '/w/applied-failed.json': { kind: 'failed', reason: 'did not take' },
  };
  const item = { id: 'a', label: 'a', method: 'rome', enabled: true, strength: 1, targets: [], file: '/w/applied-failed.json' };
  const rows = editRows([item], Object.keys(marks).concat('/w/good.json'));
  const { rows: kept, hidden } = withoutFailed(rows, (f) => marks[f]);
  assert.equal(hidden, 1);
  assert.deepEqual(kept.map((r) => r.file), ['/w/applied-failed.json', '/w/broken.json', '/w/good.json', '/w/unhealthy.json']);
});
