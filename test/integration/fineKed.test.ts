// FINE-KED in the Diagnostics panel, inside VS Code, on the bundled default model: each case's own
// ROME edit against the model without edits, R-Loc per level, the worst cases; a screenshot.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

describe('FINE-KED in the Diagnostics panel', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    await endOnDefaultModel(suite);
  });

  it('runs FINE-KED with each case\'s own ROME edit: efficacy up, R-Loc per level, the worst cases listed', async function () {
    this.timeout(240_000);
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    type Summary = { status: string; error?: string; kind?: string; method?: string; bars: { key: string; before: number; after: number }[]; worst?: number };
    const drawn = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'fine-ked', 'the FINE-KED results', 230_000);
    panel.notify('run', { kind: 'fine-ked', method: 'rome', lti: false, limit: 4 });
    const s = (await drawn) as Summary;
    assert.equal(s.status, 'drawn', s.error);
    assert.equal(s.method, 'rome');
    const bar = (key: string) => s.bars.find((b) => b.key === key)!;
    assert.deepEqual(s.bars.map((b) => b.key), ['efficacy', 'paraphrase', 'R-Loc easy', 'R-Loc middle', 'R-Loc hard', 'R-Loc average', 'neighbourhood specificity']);
    assert.ok(bar('efficacy').after > bar('efficacy').before, `efficacy ${bar('efficacy').before} → ${bar('efficacy').after}`);
    assert.equal(bar('R-Loc average').before, 100, 'without edits every known fact is kept');
    // Case 0's ROME edit (birthplace) breaks its subject's citizenship (tools/fine_ked_reference.py agrees).
    assert.ok(bar('R-Loc hard').after < 100, `R-Loc hard after ${bar('R-Loc hard').after}`);
    assert.ok((s.worst ?? 0) >= 1, 'the worst cases are listed');
    await screenshot('diagnostics-fine-ked-rome');
    panel.panel.dispose();
  });
});
