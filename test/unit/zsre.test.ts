// zsRE token-level accuracy (core/diagnostics/zsre.ts, `mechedit zsre`) against an independent
// PyTorch computation (tools/zsre_reference.py → test/fixtures/golden/zsre.json) on zsRE-form records
// of the bundled world, without and with a saved ROME edit; the run folder records its protocol.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runZsre } from '../../src/core/diagnostics/zsreRun';
import { readZsre } from '../../src/core/diagnostics/zsreData';
import { teacherForcedArgmax } from '../../src/core/diagnostics/zsre';
import { readCases } from '../../src/core/diagnostics/runner';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit } from '../../src/core/edits/editFile';
import type { ZsreResult } from '../../src/core/diagnostics/zsre';
import type { MechEditError } from '../../src/core/errors';

type GoldenCase = Omit<ZsreResult, 'src' | 'alt' | 'subject'> & { locArgmax: number[]; locArgmaxBefore: number[] };
const repo = path.join(__dirname, '..', '..', '..');
const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', 'zsre.json'), 'utf8')) as { data: string; edit: string; runs: Record<'none' | 'edit', GoldenCase[]> };
const data = path.join(repo, golden.data);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-zsre-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => model.release());
const METRICS = ['efficacy', 'generalisation', 'locality', 'locAnswer'] as const;

for (const run of ['none', 'edit'] as const) {
  test(`${run === 'none' ? 'the checkpoint' : 'with the saved ROME edit'}: token accuracies equal the reference, per case`, async () => {
    const stack = new EditStack(model.withEdits(model.edits));
    if (run === 'edit') stack.apply(readEdit(path.join(repo, golden.edit)));
    const out = path.join(tmp, run);
    const r = await runZsre(stack.model, { data, method: 'none', out });
    const lines = readCases<ZsreResult>(path.join(out, 'cases.jsonl'));
    const g = golden.runs[run];
    assert.equal(lines.length, g.length);
    lines.forEach((l, i) => {
      assert.equal(l.caseId, g[i].caseId);
      // k / n shares of a few tokens: equal up to the order of the sum.
      for (const k of METRICS) assert.ok(Math.abs(l[k] - g[i][k]) < 1e-12, `case ${l.caseId} ${k}: ${l[k]} vs ${g[i][k]}`);
    });
    for (const k of METRICS) assert.ok(Math.abs(r.summary[k] - (100 * g.reduce((a, c) => a + c[k], 0)) / g.length) < 1e-9, `summary ${k}`);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.protocol, { scoring: ['teacher-forced'], measured: 'model as it is', templates: ['src', 'rephrase', 'loc'], metrics: ['zsre-v1'] });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8')).protocol, summary.protocol);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.ok(html.includes('zsre-v1') && html.includes('teacher-forced'), 'the report shows the protocol');
  });
}

test('the argmax at each answer position equals the reference (the edit moves some of them)', async () => {
  const stack = new EditStack(model.withEdits(model.edits));
  stack.apply(readEdit(path.join(repo, golden.edit)));
  const cases = readZsre(data).records;
  const pairs = cases.map((c) => ({ prompt: c.loc, answer: c.locAns }));
  assert.deepEqual(await teacherForcedArgmax(stack.model, pairs), golden.runs.edit.map((c) => c.locArgmax));
  assert.deepEqual(await teacherForcedArgmax(model, pairs), golden.runs.edit.map((c) => c.locArgmaxBefore));
  assert.ok(golden.runs.edit.some((c) => c.locality < 1), 'the edit changes a loc prediction (locality can fail)');
});

test('a zsRE record without a field is reported by name; per-case edits need the subject', () => {
  const bad = path.join(tmp, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify([{ src: 'Q?', rephrase: 'Q2?', alt: 'A', answers: ['B'], loc: 'L', loc_ans: 'X' }, { src: 'Q?', alt: 'A', answers: ['B'], loc: 'L', loc_ans: 'X' }, { subject: 'Z', src: 'Q?', rephrase: 'R', alt: 'A', answers: 'B', loc: 'L', loc_ans: 'X' }]));
  const { records, issues } = readZsre(bad);
  assert.equal(records.length, 1);
  assert.deepEqual(issues.map((i) => i.field), ['rephrase', 'subject']);
  assert.throws(() => readZsre(path.join(tmp, 'missing.json')), (e: MechEditError) => /No such file \(expected a data file/.test(e.message) && e.data.code === 'bad-input');
});
