// The apply policy through the engine (edits/run's apply: 'if-healthy', src/protocol/applyPolicy.ts):
// a ROME edit of a subject the bundled model does not know (issue 33's "Nobody Here" example) has
// health warnings; under 'if-healthy' it is written, not applied, the reason given in notApplied,
// and edits/apply (Apply Anyway) applies it. Under 'always' the same request is applied; under
// 'never' it is only written.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/extension/engine/client';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-apply-policy-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

test('an unhealthy edit is saved, not applied, under if-healthy; Apply Anyway applies it', async () => {
  await client.request('model/open', { path: path.join(repo, 'models', 'default') });
  const requests = [{ subject: 'Nobody Here', prompt: '{} was born in', target: 'Grikport' }];
  const outDir = path.join(tmp, 'edits');
  const r = await client.request('edits/run', { method: 'rome', requests, outDir, force: true, apply: 'if-healthy' });
  console.log(`ROME "Nobody Here": succeeded ${String(r.succeeded)}, warnings: ${r.health.warnings.join(' | ')}`);
  assert.ok(r.health.warnings.length > 0, 'the example edit has a health warning (else this test checks nothing)');
  assert.equal(r.applied, false);
  assert.ok(fs.existsSync(r.file), 'the edit file is written');
  assert.equal(r.succeeded, true, 'it took: health alone holds it back');
  assert.match(r.notApplied ?? '', /^not applied: unhealthy edit \(layer 0 mlp.out: ‖ΔW‖\/‖W‖ = /);
  assert.deepEqual((await client.request('edits/list', {})).items, [], 'nothing on the stack');
  const applied = await client.request('edits/apply', { file: r.file });
  assert.deepEqual(applied.items.map((e) => e.id), [r.id], 'Apply Anyway puts it on the stack');
  await client.request('edits/revert', { id: r.id });
  const always = await client.request('edits/run', { method: 'rome', requests, outDir, force: true, apply: 'always' });
  assert.equal(always.applied, true);
  assert.equal(always.notApplied, undefined);
  assert.deepEqual((await client.request('edits/list', {})).items.map((e) => e.id), [always.id]);
  await client.request('edits/revert', { id: always.id });
  // 'never': written, not applied, the policy named as the reason (before the health warnings).
  const never = await client.request('edits/run', { method: 'rome', requests, outDir, force: true, apply: 'never' });
  assert.equal(never.applied, false);
  assert.ok(fs.existsSync(never.file));
  assert.equal(never.notApplied, 'not applied: the apply policy is "never"');
  assert.deepEqual((await client.request('edits/list', {})).items, [], 'nothing on the stack');
});
