// The `mechedit` CLI's JSON contracts (issue 3), run as a user would, on a tiny checkpoint.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const model = path.join(repo, 'test', 'fixtures', 'models', 'llama-gqa');
const env = { ...process.env, MECHEDIT_CACHE: fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-cli-')) };

function cli(...args: string[]): { status: number | null; json: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--json'], { encoding: 'utf8', env });
  return { status: r.status, json: r.stdout ? JSON.parse(r.stdout) : {}, stderr: r.stderr };
}

test('info describes the model and lists the taps', () => {
  const r = cli('info', '--model', model, '--provider', 'cpu');
  assert.equal(r.status, 0, r.stderr);
  const i = r.json;
  assert.equal(i.architecture, 'llama');
  assert.equal(i.layers, 3);
  assert.equal(i.dModel, 40);
  assert.equal(i.dMlp, 72);
  assert.equal(i.heads, 4);
  assert.equal(i.kvHeads, 2);
  assert.equal(i.headDim, 16);
  assert.equal(i.vocabSize, 320);
  assert.equal(i.dtype, 'F32');
  assert.equal(i.executionProvider, 'cpu');
  assert.equal(typeof i.parameters, 'number');
  assert.ok((i.taps as string[]).includes('blocks.2.mlp.key'));
  assert.deepEqual(i.editLayer, { layer: 0, source: 'proportional' }, '⌊3 · 5/28⌋ with no recommendation in config.json');
  assert.deepEqual(i.rocr, { layers: [0, 1], lambda: 1, positions: 'last', regularizer: 'identity', source: 'papers' }, "ROCR: the paper's settings, layers by depth");
});

test('tokenize, predict, score, trace and generate print the documented JSON', () => {
  const tok = cli('tokenize', '--model', model, '--text', 'the cat sat');
  assert.equal(tok.status, 0, tok.stderr);
  assert.ok((tok.json.ids as number[]).length > 0);
  assert.equal((tok.json.tokens as string[]).join(''), 'the cat sat');

  const p = cli('predict', '--model', model, '--prompt', 'the cat sat', '--top', '4', '--provider', 'cpu');
  assert.equal(p.status, 0, p.stderr);
  const next = p.json.next as { id: number; text: string; logprob: number }[];
  assert.equal(next.length, 4);
  assert.deepEqual(Object.keys(next[0]).sort(), ['id', 'logprob', 'text']);
  assert.ok(next.every((n, i) => i === 0 || next[i - 1].logprob >= n.logprob), 'sorted by log-probability');
  assert.deepEqual((p.json.tokens as { id: number }[]).map((t) => t.id), tok.json.ids);

  const s = cli('score', '--model', model, '--prompt', 'the cat sat', '--answer', 'on the mat', '--answer', 'x', '--provider', 'cpu');
  assert.equal(s.status, 0, s.stderr);
  const answers = s.json.answers as { text: string; tokens: unknown[]; tokenLogprobs: number[]; meanLogprob: number; prob: number }[];
  assert.deepEqual(answers.map((a) => a.text), ['on the mat', 'x']);
  assert.ok(Math.abs(answers[0].prob - Math.exp(answers[0].meanLogprob)) < 1e-12);
  // The first answer token's log-prob equals predict's for that token.
  const firstId = (answers[1].tokens as { id: number }[])[0].id;
  const viaPredict = cli('predict', '--model', model, '--prompt', 'the cat sat', '--top', '320', '--provider', 'cpu');
  const lp = (viaPredict.json.next as { id: number; logprob: number }[]).find((n) => n.id === firstId)!.logprob;
  assert.ok(Math.abs(answers[1].tokenLogprobs[0] - lp) < 1e-5, `score ${answers[1].tokenLogprobs[0]} vs predict ${lp}`);

  const t = cli('trace', '--model', model, '--prompt', 'the cat sat', '--provider', 'cpu');
  assert.equal(t.status, 0, t.stderr);
  const layers = t.json.layers as { layer: number; residNorm: number[]; lens: { id: number; text: string; prob: number }[] }[];
  assert.equal(layers.length, 3);
  assert.equal(layers[0].residNorm.length, (tok.json.ids as number[]).length);
  assert.ok(layers.every((l) => l.lens.every((c) => c.prob > 0 && c.prob <= 1)));

  const g = cli('generate', '--model', model, '--prompt', 'the cat', '--max-tokens', '5', '--provider', 'cpu');
  assert.equal(g.status, 0, g.stderr);
  assert.equal((g.json.tokens as unknown[]).length, 5);
  assert.equal(g.json.stopped, 'budget');
});

test('bad arguments exit 2 naming the argument', () => {
  const r = cli('predict', '--model', model, '--prompt', 'x', '--top', 'many');
  assert.equal(r.status, 2);
  assert.equal((r.json.error as { field: string }).field, '--top');
  const u = cli('predict', '--model', model, '--prompt', 'x', '--bogus', '1');
  assert.equal(u.status, 2);
  assert.match(u.stderr, /bogus/);
});

test('--edits a b (a shell glob) means --edits a --edits b', async () => {
  const { expandMultiple } = await import('../../src/cli/args.js');
  const m = new Set(['edits', 'answer']);
  assert.deepEqual(expandMultiple(['--edits', 'a.json', 'b.json', '--json'], m), ['--edits', 'a.json', '--edits', 'b.json', '--json']);
  assert.deepEqual(expandMultiple(['import', '--edits=a', 'x', '--out', 'd'], m), ['import', '--edits=a', 'x', '--out', 'd']);
  assert.deepEqual(expandMultiple(['--answer', 'A', '--prompt', 'p'], m), ['--answer', 'A', '--prompt', 'p']);
});

test('edit rome writes an edit file that predict --edits applies; evoke --method rome scores each case with its own edit', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-cli-rome-'));
  const r = cli('edit', 'rome', '--default', '--provider', 'cpu', '--subject', 'Baekhyndvaes Drondraes', '--prompt', '{} was born in', '--target', 'Daekgrad', '--preset', 'tuned', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.json.method, 'rome');
  assert.deepEqual(r.json.targets, [{ layer: 0, module: 'mlp.out', rank: 1 }]);
  const vstar = r.json.vstar as { steps: { loss: number }[] };
  assert.ok(vstar.steps[vstar.steps.length - 1].loss < 0.5, `v* converged: ${vstar.steps[vstar.steps.length - 1].loss}`);
  const file = r.json.file as string;
  const p = cli('predict', '--default', '--provider', 'cpu', '--prompt', 'The city where Baekhyndvaes Drondraes was born is', '--edits', file);
  assert.equal(p.status, 0, p.stderr);
  assert.equal((p.json.next as { text: string }[])[0].text, ' Daek');
  const data = path.join(repo, 'models', 'default', 'eval', 'evoke.json');
  const e = cli('evoke', '--default', '--provider', 'cpu', '--data', data, '--method', 'rome', '--limit', '2', '--out', path.join(out, 'evoke'));
  assert.equal(e.status, 0, e.stderr);
  const tasks = e.json.tasks as Record<string, { indicators: Record<string, number> }>;
  assert.equal(tasks.efficacy.indicators.success, 100, 'each case\'s own edit makes its new target win');
  const bad = cli('edit', 'rome', '--default', '--provider', 'cpu', '--subject', 'A', '--prompt', 'no slot', '--target', 'B', '--out', out);
  assert.equal(bad.status, 2);
  assert.equal((bad.json.error as { field: string }).field, '--prompt', 'core\'s field "prompt" as the command\'s flag');
});
