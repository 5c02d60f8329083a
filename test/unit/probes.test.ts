// Knowledge probes: every metric against an independent PyTorch computation
// (tools/probes_reference.py → test/fixtures/golden/probes.json) on the bundled model, without and
// with a saved ROME edit; the shipped cases file; bad records by record and field; per-edit grouping.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readProbeCases } from '../../src/core/diagnostics/probesData';
import { scoreProbes, summarizeProbes, probeResult, type ProbeConflict, type ProbeView } from '../../src/core/diagnostics/probes';
import { matchEdit } from '../../src/core/diagnostics/probesRun';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit, type Edit } from '../../src/core/edits/editFile';

const repo = path.join(__dirname, '..', '..', '..');
const data = path.join(repo, 'models', 'default', 'eval', 'probes.json');
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'probes.json'), 'utf8')) as {
  edit: string;
  cases: number[];
  frame: string;
  runs: Record<'none' | 'edit', { caseId: number; parametric: unknown; inContext: unknown; conflict: unknown }[]>;
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-probes-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => model.release());

/** Numbers within 1e-4, everything else equal, the same keys. */
function close(actual: unknown, expected: unknown, at: string): void {
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', `${at}: ${JSON.stringify(actual)}`);
    assert.ok(Math.abs((actual as number) - expected) < 1e-4, `${at}: ${actual as number} vs ${expected}`);
  } else if (expected && typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', `${at}: missing`);
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), `${at}: keys`);
    for (const [k, v] of Object.entries(expected)) close((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
  } else {
    assert.deepEqual(actual, expected, at);
  }
}

test('the shipped probes.json: 54 cases, all valid; reversal only for capital edits, the others say why', () => {
  const { records, issues } = readProbeCases(data);
  assert.deepEqual(issues, []);
  assert.equal(records.length, 54);
  const withReversal = records.filter((r) => r.reversal);
  assert.deepEqual([...new Set(withReversal.map((r) => r.relationId))], ['capital']);
  assert.equal(withReversal.length, 12);
  assert.match(records[0].reversalAbsent ?? '', /many-to-one/);
  for (const r of records) assert.ok(r.candidates.includes(r.targetNew) && r.candidates.includes(r.targetTrue));
});

describe('the probes equal the PyTorch reference (tools/probes_reference.py)', () => {
  const cases = readProbeCases(data).records.filter((c) => golden.cases.includes(c.caseId));
  const bare = new EditStack(model.withEdits(model.edits));
  test('the in-context view (the checkpoint, the new fact stated) of every case', async () => {
    assert.equal(cases.length, golden.cases.length);
    for (const [i, c] of cases.entries()) {
      const { view } = await scoreProbes(model, bare, c, { frame: golden.frame, inContext: true });
      for (const run of ['none', 'edit'] as const) close(view, golden.runs[run][i].inContext, `case ${c.caseId} inContext (${run})`);
    }
  });
  for (const run of ['none', 'edit'] as const) {
    test(`${run === 'none' ? 'the checkpoint' : 'with the saved ROME edit (case 30)'}: the parametric view and the conflict`, async () => {
      const stack = new EditStack(model.withEdits(model.edits));
      if (run === 'edit') stack.apply(readEdit(path.join(repo, golden.edit)));
      for (const [i, c] of cases.entries()) {
        const g = golden.runs[run][i];
        assert.equal(c.caseId, g.caseId);
        const r = probeResult(c, await scoreProbes(model, stack, c, { frame: golden.frame }), g.inContext as ProbeView);
        close(r.parametric, g.parametric, `case ${c.caseId} parametric`);
        close(r.conflict, g.conflict, `case ${c.caseId} conflict`);
      }
    });
  }
  test('the edit changes the figures: case 30 efficacy 0 → 1 with a reversal gap of 1, ripple and R-Loc measured', () => {
    const [none, edit] = (['none', 'edit'] as const).map((k) => golden.runs[k].find((r) => r.caseId === 30) as { parametric: ProbeView });
    assert.equal(none.parametric.efficacy.success, 0);
    assert.equal(edit.parametric.efficacy.success, 1);
    assert.equal(edit.parametric.reversal?.gap, 1);
    assert.ok(edit.parametric.ripple && edit.parametric.ripple.questions > 0 && edit.parametric.rloc.known > 0);
  });
});

test('a bad cases file: each bad record by index and field, the good ones read', () => {
  const good = JSON.parse(fs.readFileSync(data, 'utf8')) as Record<string, unknown>[];
  const bad = (i: number, change: (r: Record<string, unknown>) => void) => {
    const r = JSON.parse(JSON.stringify(good[i])) as Record<string, unknown>;
    change(r);
    return r;
  };
  const records = [
    good[0],
    bad(1, (r) => { delete r.forms; }),
    bad(2, (r) => { r.candidates = ['Nowhere']; }),
    bad(30, (r) => { (r.reversal as Record<string, unknown>).answer_before = 'Broador'; }),
    bad(31, (r) => { ((r.ripple as Record<string, unknown>[])[0]).new = ((r.ripple as Record<string, unknown>[])[0]).old; }),
    bad(4, (r) => { (r.forms as string[])[2] = '{} was born in'; }),
    bad(5, (r) => { r.same_subject = [{ prompt: 'x is a citizen of' }]; }),
    bad(6, (r) => { r.reversal = 'none'; }),
  ];
  const file = path.join(tmp, 'bad.json');
  fs.writeFileSync(file, JSON.stringify(records));
  const { records: read, issues } = readProbeCases(file);
  assert.equal(read.length, 1);
  assert.deepEqual(issues.map((i) => [i.index, i.field]), [
    [1, 'forms'], [2, 'candidates'], [3, 'reversal.answer_before'], [4, 'ripple[0].new'], [5, 'forms[2]'], [6, 'same_subject[0].answer'], [7, 'reversal'],
  ]);
  assert.ok(issues.every((i) => i.file === file && i.message.length > 10));
});

test('per edit: a fact edit matches the case of its subject and o*, a concept redirection the cases of its concept', () => {
  const rome = readEdit(path.join(repo, golden.edit));
  const rocr = { json: { ...rome.json, id: 'rocr-x', label: 'ROCR: Veltrazine → Brindlecake', method: 'rocr', request: { concept: 'Veltrazine', harmless: 'Brindlecake' } }, tensors: [] } as unknown as Edit;
  const { records } = readProbeCases(data);
  assert.deepEqual(matchEdit(rome, records).cases.map((c) => c.caseId), [30]);
  const concept = matchEdit(rocr, records);
  assert.deepEqual(concept.cases.map((c) => c.caseId), [42, 43, 44, 45, 46, 47]);
  assert.match(concept.note, /subject is Veltrazine/);
  const other = { json: { ...rome.json, request: { subject: 'Broador', prompt: 'The capital of {} is', target: 'Lasport' } }, tensors: [] } as unknown as Edit;
  assert.deepEqual(matchEdit(other, records).cases, []);
  assert.match(matchEdit(other, records).note, /another o\* \(Quornwick\)/);
});

test('summary: means × 100 over the cases that have each probe', () => {
  const g = golden.runs.edit.map((r, i) => ({ caseId: r.caseId, subject: String(i), targetNew: 'a', targetTrue: 'b', parametric: r.parametric as ProbeView, inContext: r.inContext as ProbeView, conflict: r.conflict as ProbeConflict }));
  const s = summarizeProbes(g);
  assert.equal(s.cases, 2);
  assert.equal(s.parametric.efficacy, 50);
  assert.equal(s.parametric.reversal.cases, 1);
  assert.equal(s.parametric.reversal.gap, 100);
  assert.equal(s.conflict.newContextWinsOverMemory, 100 * g.filter((r) => r.conflict.newInContext.winner === 'context').length / 2);
});
