// What a case-by-case diagnostic says it measured (issue 33, item 5): with the edit stack as it is
// (method none) a run reports how many of its cases have their own edit in the stack; FINE-KED's
// worst cases come only from those cases; report.html is titled by what was run, puts before
// before after, colours them as the Diagnostics panel does (blue before, orange after) and follows
// the VS Code theme without remote content. On the bundled model, with the saved ROME edits of
// test/fixtures (FINE-KED case 0; the capital of Broador, which no EVOKE case edits).

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { caseInStack, measuredText, stackEdits, stackMatch, stackMatchText } from '../../src/core/diagnostics/caseEdit';
import { summarizeFineKed, type FineKedResult } from '../../src/core/diagnostics/fineKed';
import { runFineKed } from '../../src/core/diagnostics/fineKedRun';
import { runEvoke } from '../../src/core/diagnostics/evokeRun';
import { bars, valueTable } from '../../src/core/diagnostics/report';
import { readCases } from '../../src/core/diagnostics/runner';
import { LoadedModel } from '../../src/core/runtime/model';
import { EditStack } from '../../src/core/edits/stack';
import { readEdit } from '../../src/core/edits/editFile';

const repo = path.join(__dirname, '..', '..', '..');
const evalDir = path.join(repo, 'models', 'default', 'eval');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-scope-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const model = LoadedModel.open(path.join(repo, 'models', 'default'), { provider: 'cpu', threads: 1 });
after(() => model.release());
const fineKedEdit = path.join(repo, 'test', 'fixtures', 'fine-ked', 'rome-case0.json');
const capitalEdit = path.join(repo, 'test', 'fixtures', 'probes', 'rome-case30.json');

describe('which cases have their edit in the stack', () => {
  const edits = [{ label: 'a', requests: [{ subject: 'Ada', prompt: '{} was born in', target: 'Paris' }] }];
  test('a case matches on subject and new target, not on subject alone', () => {
    assert.equal(caseInStack(edits, { subject: 'Ada', targetNew: 'Paris' }), true);
    assert.equal(caseInStack(edits, { subject: 'Ada', targetNew: 'Rome' }), false);
    assert.equal(caseInStack([], { subject: 'Ada', targetNew: 'Paris' }), false);
    assert.deepEqual(stackMatch(edits, [{ subject: 'Ada', targetNew: 'Paris' }, { subject: 'Bob', targetNew: 'Paris' }]), { edits: ['a'], matching: 1, cases: 2 });
  });

  test('in words: none matching says so and what to do; titles never show a bare method id', () => {
    assert.match(stackMatchText({ edits: ['a', 'b'], matching: 0, cases: 40 }), /^None of the 40 cases has its own edit among the 2 applied edits \(a, b\).*--method/);
    assert.match(stackMatchText({ edits: ['a'], matching: 3, cases: 40 }), /^3 of 40 cases have their own edit among the 1 applied edit \(a\)/);
    assert.equal(measuredText({ method: 'none', edits: [] }), 'the model without edits');
    assert.equal(measuredText({ method: 'none', edits: [{ id: 'x' }] }, { edits: ['X label'], matching: 0, cases: 1 }), 'the edit stack (1 edit: X label)');
    assert.equal(measuredText({ method: 'rome+lti', edits: [] }), "each case's own ROME + LTI edit");
  });

  test('the stack\'s applied edits: disabled ones and strength 0 are not applied', () => {
    const stack = new EditStack(model);
    const a = readEdit(fineKedEdit);
    const b = readEdit(capitalEdit);
    stack.apply(a);
    stack.apply(b);
    stack.setEnabled(b.json.id, false);
    assert.deepEqual(stackEdits(stack), [{ label: a.json.label, requests: [{ subject: 'Ciarsosk Ziathquor', prompt: '{} was born in', target: 'Siahathburg' }] }]);
    stack.setEnabled(b.json.id, true);
    stack.scale(a.json.id, 0);
    assert.deepEqual(stackEdits(stack).map((e) => e.label), [b.json.label]);
  });
});

describe('FINE-KED worst cases come only from applied edits', () => {
  const fact = (rloc: number) => ({ level: 'easy' as const, prompt: 'p', answer: 'a', known: true, rloc, top1: rloc === 1 ? 1 : 0, wins: 1 });
  const result = (caseId: number, rloc: number): FineKedResult => ({ caseId, subject: `s${caseId}`, targetNew: 'n', targetTrue: 't', efficacy: { success: 1, top1: 1, prompts: 1 }, facts: [fact(rloc)] });
  test('the filter picks the worst cases; the figures stay over every case', () => {
    const rs = [result(0, 0.5), result(1, 0), result(2, 0.25)];
    const all = summarizeFineKed(rs);
    const applied = summarizeFineKed(rs, (r) => r.caseId !== 1);
    assert.deepEqual(all.worst.map((w) => w.caseId), [1, 2, 0]);
    assert.deepEqual(applied.worst.map((w) => w.caseId), [2, 0]);
    assert.equal(applied.levels.easy.rloc, all.levels.easy.rloc, 'R-Loc is not changed by the filter');
  });

  test('a run with the stack holding case 0\'s ROME edit: 1 of 4 cases match, worst cases only case 0', async () => {
    const stack = new EditStack(model);
    stack.apply(readEdit(fineKedEdit));
    const out = path.join(tmp, 'fine-ked');
    const r = await runFineKed(stack.model, { data: path.join(evalDir, 'fine_ked.json'), method: 'none', limit: 4, out, stackEdits: stackEdits(stack) });
    assert.deepEqual(r.summary.stack, { edits: ['ROME: Ciarsosk Ziathquor was born in → Siahathburg'], matching: 1, cases: 4 });
    const unfiltered = summarizeFineKed(readCases<FineKedResult>(path.join(out, 'cases.jsonl')));
    console.log(`worst cases, every case: ${unfiltered.worst.map((w) => `${w.caseId} (R-Loc ${w.rloc.toFixed(1)})`).join(', ')}; applied only: ${r.summary.worst.map((w) => w.caseId).join(', ')}`);
    assert.deepEqual(r.summary.worst.map((w) => w.caseId), [0], 'case 0\'s edit breaks a fact of its subject (tools/fine_ked_reference.py agrees)');
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')).summary.stack, r.summary.stack);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<h1>FINE-KED — the edit stack \(1 edit: ROME: Ciarsosk Ziathquor was born in → Siahathburg\)<\/h1>/);
    assert.match(html, /cases whose edit is applied<\/dt><dd>1 of 4/);
  });
});

describe('EVOKE on a stack that holds no EVOKE case\'s edit, and its report', () => {
  test('0 of the cases match; the report is titled by what ran, before then after, theme colours, nothing remote', async () => {
    const before = path.join(tmp, 'evoke-before');
    await runEvoke(model, { data: path.join(evalDir, 'evoke.json'), method: 'none', limit: 2, out: before });
    const stack = new EditStack(model);
    stack.apply(readEdit(capitalEdit));
    const out = path.join(tmp, 'evoke-after');
    const r = await runEvoke(stack.model, { data: path.join(evalDir, 'evoke.json'), method: 'none', limit: 2, out, stackEdits: stackEdits(stack), baseline: before });
    assert.deepEqual(r.stack, { edits: ['ROME: The capital of Broador is → Quornwick'], matching: 0, cases: 2 });
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<h1>EVOKE — the edit stack \(1 edit: ROME: The capital of Broador is → Quornwick\) vs the model without edits<\/h1>/);
    assert.doesNotMatch(html, /EVOKE — none/);
    assert.match(html, /<tr><th>measure<\/th><th>before<\/th><th>after<\/th><th>change<\/th><\/tr>/);
    // The panel's series colours: the theme's chart colours made opaque (charts.orange is 33 % transparent in VS Code's themes).
    assert.match(html, /rect\.before,rect\.value\{fill:rgb\(from var\(--vscode-charts-blue,[^)]*\)\) r g b \/ 1\)/);
    assert.match(html, /rect\.after\{fill:rgb\(from var\(--vscode-charts-orange,[^)]*\)\) r g b \/ 1\)/);
    assert.match(html, /background:var\(--vscode-editor-background,/);
    assert.match(html, /Blue: before \(the baseline run\); orange: after \(this run\)/);
    assert.doesNotMatch(html, /https?:\/\/|<script|<link|@import|url\(/, 'no remote content, no scripts');
    // The before run (no edits) has no stack figures and says what it measured.
    assert.match(fs.readFileSync(path.join(before, 'report.html'), 'utf8'), /<h1>EVOKE — the model without edits<\/h1>/);
  });

  test('a bar pair draws before (blue) above after (orange); the table puts before first', () => {
    const svg = bars('t', [{ label: 'x', value: 80, before: 20 }]);
    assert.ok(svg.indexOf('class="before"') < svg.indexOf('class="after"'));
    assert.match(svg, /class="before"><title>before: 20\.00/);
    assert.match(svg, /class="after"><title>after: 80\.00/);
    assert.match(valueTable([{ label: 'x', value: 80, before: 20 }], true), /<td>x<\/td><td>20\.00<\/td><td>80\.00<\/td><td>60\.00<\/td>/);
  });
});
