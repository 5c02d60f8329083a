// The Edits view's marks for edit files (src/extension/views/editRows.ts heldBack): a failed edit
// and an unhealthy one, from the health record their files carry (editJob.ts measureAndWrite).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldBack } from '../../src/extension/views/editRows';

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
