// The apply policy (src/protocol/applyPolicy.ts): which computed edits go on the stack under
// each mode, and the reason given first when one does not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyModeOf, decideApply } from '../../src/protocol/applyPolicy';

const took = { succeeded: true };
const failed = { succeeded: false, reason: 'P(target) 0.19 % < 25 %' };
const unhealthy = ['KL on neutral prompts = 0.160 nats > 0.1 (the edit changes unrelated predictions)'];

test('the setting maps onto the engine modes, healthy by default', () => {
  assert.equal(applyModeOf('healthy'), 'if-healthy');
  assert.equal(applyModeOf(undefined), 'if-healthy');
  assert.equal(applyModeOf('bogus'), 'if-healthy');
  assert.equal(applyModeOf('always'), 'always');
  assert.equal(applyModeOf('never'), 'never');
});

test('if-healthy: an edit with a health warning is saved, not applied, with the warning as the reason', () => {
  const d = decideApply('if-healthy', took, unhealthy);
  assert.equal(d.apply, false);
  assert.match(d.reason ?? '', /^not applied: unhealthy edit \(KL on neutral prompts = 0\.160/);
  assert.deepEqual(decideApply('if-healthy', took, []), { apply: true });
  // No outcome (not a fact edit, e.g. an ablation): health alone decides.
  assert.equal(decideApply('if-healthy', undefined, unhealthy).apply, false);
  assert.equal(decideApply('if-healthy', undefined, []).apply, true);
});

test('a failed edit is not applied under if-healthy or if-succeeded; its outcome reason comes first', () => {
  for (const mode of ['if-healthy', 'if-succeeded'] as const) {
    const d = decideApply(mode, failed, []);
    assert.equal(d.apply, false);
    assert.equal(d.reason, 'not applied: the edit did not take (P(target) 0.19 % < 25 %)');
  }
});

test('if-succeeded ignores health; always and never ignore everything', () => {
  assert.equal(decideApply('if-succeeded', took, unhealthy).apply, true);
  assert.equal(decideApply('always', failed, unhealthy).apply, true);
  assert.equal(decideApply('never', took, []).apply, false);
  assert.match(decideApply('never', took, []).reason ?? '', /policy is "never"/);
});
