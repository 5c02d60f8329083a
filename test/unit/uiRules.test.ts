// UI rules that need no VS Code: package.json's workspace-trust declaration and the `when`
// clauses of the command palette (and that the context keys they use are set by the extension),
// the saved edit stack's reading, where a tooltip goes at the page's edges, the Difference view's
// colour floor, and when charts are stale.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { savedFor, toSaved } from '../../src/extension/engine/savedStack';
import { placeTooltip } from '../../webview/shared/heatmap';
import { diffDomain } from '../../webview/activations/data';
import { staleReason } from '../../webview/shared/job';

const repo = path.join(__dirname, '..', '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  capabilities?: { untrustedWorkspaces?: { supported: boolean | string; restrictedConfigurations?: string[] } };
  contributes: { commands: { command: string }[]; menus: { commandPalette: { command: string; when: string }[] }; configuration: { properties: Record<string, { type: string; scope?: string; description?: string; markdownDescription?: string }> } };
};

test('workspace trust is declared: limited, with every setting that points at a file, folder or program restricted', () => {
  const trust = manifest.capabilities?.untrustedWorkspaces;
  assert.ok(trust, 'capabilities.untrustedWorkspaces is declared');
  assert.equal(trust.supported, 'limited');
  const restricted = new Set(trust.restrictedConfigurations ?? []);
  for (const name of ['mechedit.modelPath', 'mechedit.engine.libraryPath', 'mechedit.engine.env']) assert.ok(restricted.has(name), `${name} is restricted`);
  for (const [name, p] of Object.entries(manifest.contributes.configuration.properties)) {
    const text = `${p.description ?? ''} ${p.markdownDescription ?? ''}`;
    const pointsAtFiles = p.type !== 'boolean' && p.type !== 'number' && p.type !== 'integer' && /path|folder|director|librar|environment|executable/i.test(`${name} ${text}`);
    if (pointsAtFiles) assert.ok(restricted.has(name), `${name} points at files or programs and must be restricted`);
    assert.ok(!restricted.has(name) || name in manifest.contributes.configuration.properties);
  }
});

test('commands that need a model or applied edits are hidden from the palette without them; the context keys are set', () => {
  const when = new Map(manifest.contributes.menus.commandPalette.map((m) => [m.command, m.when]));
  const contributed = new Set(manifest.contributes.commands.map((c) => c.command));
  for (const c of when.keys()) assert.ok(contributed.has(c), `${c} is a contributed command`);
  // Commands that open the configured model on demand show once a model is configured (or the
  // bundled one is used); the ones that act on a loaded model or its edits need it loaded.
  for (const c of ['mechedit.generate', 'mechedit.predict', 'mechedit.computeKeyStats', 'mechedit.redirectConcept', 'mechedit.editFact', 'mechedit.applyEdit']) {
    assert.match(when.get(c) ?? '', /\bmechedit\.modelConfigured\b/, `${c} needs a model`);
  }
  assert.match(when.get('mechedit.applyEdit') ?? '', /\bmechedit\.unappliedEdits\b/, 'Apply Edit needs an edit that is not applied');
  assert.match(when.get('mechedit.diagnoseEdit') ?? '', /\bmechedit\.modelLoaded\b/, 'mechedit.diagnoseEdit needs a model');
  for (const c of ['mechedit.revertEdit', 'mechedit.revertAllEdits', 'mechedit.setEditStrength']) assert.match(when.get(c) ?? '', /\bmechedit\.editsApplied\b/, `${c} needs applied edits`);
  assert.match(when.get('mechedit.restartEngine') ?? '', /\bmechedit\.engineStarted\b/, 'Restart Engine needs a started engine');
  for (const c of ['mechedit.openModel', 'mechedit.showEngine', 'mechedit.selfTest']) assert.ok(!when.has(c), `${c} always applies`);
  const service = fs.readFileSync(path.join(repo, 'src', 'extension', 'engine', 'engineService.ts'), 'utf8');
  const onboarding = fs.readFileSync(path.join(repo, 'src', 'extension', 'onboarding.ts'), 'utf8');
  for (const key of ['mechedit.modelConfigured', 'mechedit.unappliedEdits', 'mechedit.engineStarted']) assert.ok(onboarding.includes(`'${key}'`), `the extension sets ${key}`);
  for (const key of ['mechedit.modelLoaded', 'mechedit.editsApplied']) assert.ok(service.includes(`'${key}'`), `the extension sets ${key}`);
});

test('the saved edit stack keeps order, strengths and enabled flags, and belongs to one model folder', () => {
  const items = [
    { id: 'a', label: 'A', method: 'rome', file: '/w/.mechedit/edits/a.json', enabled: false, strength: 1, targets: [] },
    { id: 'b', label: 'B', method: 'memit', file: '/w/.mechedit/edits/b.json', enabled: true, strength: 0.5, targets: [] },
    { id: 'c', label: 'C (no file)', method: 'rome', enabled: true, strength: 1, targets: [] },
  ];
  const saved = toSaved('/models/m/', items);
  assert.deepEqual(savedFor(saved, '/models/m'), [
    { file: '/w/.mechedit/edits/a.json', label: 'A', strength: 1, enabled: false },
    { file: '/w/.mechedit/edits/b.json', label: 'B', strength: 0.5, enabled: true },
    { file: undefined, label: 'C (no file)', strength: 1, enabled: true },
  ]);
  assert.deepEqual(savedFor(saved, '/models/other'), [], 'another model gets nothing');
  assert.deepEqual(savedFor({ modelPath: '/models/m', items: [null, { label: 'x', strength: 'big', enabled: true }] }, '/models/m'), [], 'malformed entries are ignored');
  assert.deepEqual(savedFor('garbage', '/models/m'), []);
});

test('a tooltip near the right or bottom edge flips to the other side of the pointer and stays on the page', () => {
  const view = { left: 0, top: 0, width: 800, height: 600 };
  assert.deepEqual(placeTooltip(100, 100, 200, 80, view), { left: 114, top: 114 });
  const right = placeTooltip(780, 100, 200, 80, view);
  assert.ok(right.left + 200 <= 800, `right edge: ${right.left}`);
  assert.equal(right.left, 780 - 14 - 200);
  const corner = placeTooltip(790, 590, 200, 80, view);
  assert.deepEqual(corner, { left: 576, top: 496 });
  assert.deepEqual(placeTooltip(5, 5, 900, 80, view), { left: 0, top: 19 }, 'never off the left edge');
});

test('the Difference view has a colour floor: noise stays near white', () => {
  const grid = (vals: number[]) => ({ layers: 1, tokens: vals.length, values: Float32Array.from(vals) });
  assert.deepEqual(diffDomain(grid([1e-9, -1e-9]), grid([0.2, 0.9]), true), [-0.01, 0.01]);
  assert.deepEqual(diffDomain(grid([0.3, -0.1]), grid([0.2, 0.9]), true), [-0.30000001192092896, 0.30000001192092896]);
  const [, hi] = diffDomain(grid([1e-9, 0]), grid([50, -120]), false);
  assert.ok(Math.abs(hi - 0.12) < 1e-9, `norms: 1e-3 of the largest magnitude, got ${hi}`);
});

test('charts are stale when the inputs changed or the last run failed', () => {
  assert.equal(staleReason(undefined, { prompt: 'a' }, ''), undefined, 'nothing drawn');
  assert.equal(staleReason({ prompt: 'a' }, { prompt: 'a' }, ''), undefined);
  assert.match(staleReason({ prompt: 'a' }, { prompt: 'b' }, '') ?? '', /inputs changed/);
  assert.match(staleReason({ prompt: 'a' }, { prompt: 'a' }, 'boom') ?? '', /failed/);
});
