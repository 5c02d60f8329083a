// 'edits/compare' (the Edit Result view) through the engine on the bundled model: a ROME edit of
// the trace's default example, written but not applied. Its "before" equals the bare model's
// model/predict and model/score; its "after" P(target) equals what edits/run reported for the
// same edit; applying the edit then gives model/predict the same top-k as "after"; the user's
// stack is never changed by the comparison. The paraphrase and neighbour come from the model's
// data (facts.jsonl or eval/evoke.json), named as such.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/extension/engine/client';
import { TRACE_EXAMPLE } from '../../src/protocol/traceExample';

const repo = path.join(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-compare-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);

test('edits/compare: before is the bare model, after is the edit alone, the stack is untouched', async () => {
  await client.request('model/open', { path: path.join(repo, 'models', 'default') });
  const req = { subject: TRACE_EXAMPLE.subject, prompt: TRACE_EXAMPLE.prompt.replace(TRACE_EXAMPLE.subject, '{}'), target: 'Grikport' };
  const r = await client.request('edits/run', { method: 'rome', requests: [req], outDir: path.join(tmp, 'edits'), apply: 'never' });
  assert.equal(r.applied, false);
  const prompt = TRACE_EXAMPLE.prompt;
  const bare = await client.request('model/predict', { prompt, top: 5 });
  const c = await client.request('edits/compare', { file: r.file, top: 5, maxTokens: 8, probe: true });
  assert.deepEqual((await client.request('edits/list', {})).items, [], 'the comparison leaves the stack as it was');
  assert.deepEqual(c.prompts.map((p) => p.kind), ['prompt', 'paraphrase', 'neighbour']);
  const own = c.prompts[0];
  assert.equal(own.prompt, prompt);
  assert.deepEqual(own.before.map((t) => t.text), bare.next.map((t) => t.text));
  own.before.forEach((t, i) => close(t.prob, Math.exp(bare.next[i].logprob), `before ${t.text}`));
  // After P(target) is what edits/run measured with the edit on the (empty) stack.
  close(c.target!.after, r.efficacy![0].targetProb, 'after P(target)');
  assert.equal(c.outcome!.succeeded, r.succeeded);
  const scoreBare = await client.request('model/score', { prompt, answers: ['Grikport', c.original!.text] });
  close(c.target!.before, scoreBare.answers[0].prob, 'before P(target)');
  close(c.original!.before, scoreBare.answers[1].prob, 'before P(original)');
  for (const p of c.prompts.slice(1)) assert.ok(p.source === 'facts.jsonl' || p.source === 'evoke.json', `${p.kind} from the model's data: ${p.source}`);
  assert.equal(c.health?.warnings.length, r.health.warnings.length, 'the health record is the edit file\'s');
  assert.equal(c.probe?.layers.length, 6);
  c.probe!.layers.forEach((l) => assert.ok(l.targetProb >= 0 && l.targetProb <= 1));
  console.log(`compare: P(Grikport) ${c.target!.before.toExponential(2)} → ${c.target!.after.toFixed(4)} (edits/run: ${r.efficacy![0].targetProb.toFixed(4)}); P(${c.original!.text}) ${c.original!.before.toFixed(4)} → ${c.original!.after.toFixed(4)}; took ${String(r.succeeded)}`);
  console.log(`compare: before top-5 ${own.before.map((t) => `${t.text}:${t.prob.toFixed(3)}`).join(' ')} | after ${own.after.map((t) => `${t.text}:${t.prob.toFixed(3)}`).join(' ')}`);
  console.log(`compare: greedy before ${JSON.stringify(own.generation.before)} after ${JSON.stringify(own.generation.after)}`);
  console.log(`compare: ${c.prompts.slice(1).map((p) => `${p.kind} "${p.prompt}" (${p.source})`).join('; ')}`);
  console.log(`compare: probe (${c.probe!.steps} v* steps) P(target) per layer ${c.probe!.layers.map((l) => l.targetProb.toFixed(3)).join(' ')} in ${c.probe!.ms.toFixed(0)} ms; whole compare ${c.ms.toFixed(0)} ms`);
  // With the edit applied, the model's own predict is the comparison's "after".
  await client.request('edits/apply', { file: r.file });
  const edited = await client.request('model/predict', { prompt, top: 5 });
  assert.deepEqual(own.after.map((t) => t.text), edited.next.map((t) => t.text));
  own.after.forEach((t, i) => close(t.prob, Math.exp(edited.next[i].logprob), `after ${t.text}`));
  await assert.rejects(client.request('edits/compare', { file: path.join(tmp, 'missing.json') }), /No such file/);
});
