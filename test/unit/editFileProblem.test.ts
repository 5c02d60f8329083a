// The extension's check of an edit file's text (src/protocol/editSchema.ts, editFileProblem)
// against the engine's reader (src/core/edits/editSchema.ts, editSchemaError): a valid edit has no
// problem; a broken one gets a problem naming the same field the engine refuses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editFileProblem } from '../../src/protocol/editSchema';
import { editSchemaError } from '../../src/core/edits/editSchema';

const VALID = {
  format: 'mechedit-edit/1',
  id: 'rome-abc',
  label: 'Rouxwick → Paris',
  method: 'rome',
  modelFingerprint: '0123456789abcdef',
  targets: [{ layer: 0, module: 'mlp.out', rank: 1, U: 'u0', V: 'v0' }],
  vectors: 'rome-abc.safetensors',
  created: '2026-12-07T12:00:00.000Z',
};

test('edit files: a valid edit has no problem', () => {
  assert.equal(editSchemaError(VALID, 'e.json'), undefined, 'the fixture is valid for the engine');
  assert.equal(editFileProblem(JSON.stringify(VALID, null, 2)), undefined);
});

test('edit files: a broken edit names the field the engine refuses', () => {
  const { targets: _t, ...noTargets } = VALID;
  const broken: [unknown, string][] = [
    [noTargets, 'targets'],
    [{ ...VALID, method: 'magic' }, 'method'],
    [{ ...VALID, targets: [{ ...VALID.targets[0], layer: 'one' }] }, 'targets[0].layer'],
    [{ ...VALID, created: 'yesterday' }, 'created'],
    [{ ...VALID, extra: 1 }, 'extra'],
    [{ ...VALID, vectors: '../x.safetensors' }, 'vectors'],
  ];
  for (const [json, field] of broken) {
    const engine = editSchemaError(json, 'e.json');
    assert.equal(engine?.data.field, field, `engine on ${field}`);
    const p = editFileProblem(JSON.stringify(json));
    assert.equal(p?.field, field, `extension on ${field}`);
    assert.match(p.message, new RegExp(field.replace(/[[\].]/g, '\\$&')));
  }
});

test('edit files: text that is not JSON is a problem without a field', () => {
  for (const text of ['', '{"id": "x",', 'not json']) {
    const p = editFileProblem(text);
    assert.ok(p, text);
    assert.equal(p.field, undefined);
    assert.match(p.message, /Not valid JSON/);
  }
});
