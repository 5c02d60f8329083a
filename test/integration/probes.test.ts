// Knowledge probes in the Diagnostics panel, inside VS Code, on the bundled default model: a ROME
// edit (case 30: the capital of Broador → Quornwick) and a ROCR redirection (Veltrazine →
// Brindlecake) applied from test/fixtures/probes, each probed on the cases it matches; a screenshot.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MechEditApi } from '../../src/extension/extension';
import type { ProbeSummary } from '../../src/protocol/diagnostics';
import { screenshot } from './screenshot';
import { waitFor } from './events';
import { endOnDefaultModel, startOnDefaultModel, type DefaultModelSuite } from './models';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'probes');

describe('Knowledge probes in the Diagnostics panel', () => {
  let api: MechEditApi;
  let suite: DefaultModelSuite;

  before(async function () {
    this.timeout(150_000);
    suite = await startOnDefaultModel();
    api = suite.api;
  });

  after(async () => {
    await vscode.commands.executeCommand('mechedit.revertAllEdits');
    await endOnDefaultModel(suite);
  });

  it('probes a ROME edit and a ROCR redirection per edit: reversal gap, conflict winner, consistency, ripple, in context', async function () {
    this.timeout(240_000);
    for (const f of ['rome-case30.json', 'rocr-veltrazine.json']) await api.engine.changeStack('edits/apply', { file: path.join(FIXTURES, f) });
    await vscode.commands.executeCommand('mechedit.showDiagnostics');
    const panel = api.panels.diagnostics()!;
    type Summary = { status: string; error?: string; kind?: string; method?: string; bars: { key: string; before: number; after: number }[]; probes?: { groups: { edit?: string; cases: number }[]; summary: ProbeSummary; rows: number } };
    const drawn = waitFor(panel.onDidRender, (x) => ['drawn', 'error'].includes((x as Summary).status) && (x as Summary).kind === 'probes', 'the knowledge probes', 230_000);
    panel.notify('run', { kind: 'probes', method: 'none', limit: 2 });
    const s = (await drawn) as Summary;
    assert.equal(s.status, 'drawn', s.error);
    assert.equal(s.method, 'none');
    // One group per edit: the ROME edit's own case, the first two cases of the redirected concept.
    assert.deepEqual(s.probes!.groups, [{ edit: 'rome', cases: 1 }, { edit: 'rocr', cases: 2 }]);
    assert.equal(s.probes!.rows, 2 + 1 + 2, 'a header and one row per case in each group');
    const p = s.probes!.summary;
    assert.equal(p.parametric.efficacy, 100, 'both edits take on their own prompts');
    // The capital edit is not reversed: "Quornwick is a city in" still answers its old country (tools/probes_reference.py agrees).
    assert.equal(p.parametric.reversal.cases, 1);
    assert.equal(p.parametric.reversal.gap, 100);
    assert.equal(p.conflict.newContextWinsOverMemory, 100, 'the world\'s model reads "Imagine that …" facts from its context');
    assert.deepEqual(s.bars.map((b) => b.key), ['efficacy', 'consistency (agreement)', 'forms answering o*', 'reversal', 'ripple (two-hop)', 'R-Loc (same subject)']);
    await screenshot('diagnostics-knowledge-probes');
    panel.panel.dispose();
  });
});
