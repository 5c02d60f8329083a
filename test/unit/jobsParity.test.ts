// The CLI and the engine run the same jobs (core/jobs/unlearnJob.ts, sequentialJob.ts): the same
// input through `mechedit unlearn` / `mechedit sequential` (spawned) and through the engine's
// 'unlearn/run' / 'lifelong/run' gives the same figures, the same loss curve or edit curve and the
// same file contents (but for ids, times and the run's own folder), and the same bad input gives
// the same error field on both sides (the CLI shows it as its flag: --lr for 'lr').

import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import type { ParamsOf, UnlearnOutcome } from '../../src/protocol/engine';
import type { LifelongRunResult } from '../../src/protocol/lifelong';
import type { UnlearnOutput } from '../../src/cli/commands/unlearn';

const repo = path.join(__dirname, '..', '..', '..');
const modelDir = path.join(repo, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-parity-'));
process.env.MECHEDIT_CACHE = path.join(tmp, 'cache');
const env = { ...process.env };
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

/** The bundled model without its eval/ folder: no retain set, no unrelated facts, no world probes. */
const bare = path.join(tmp, 'bare-model');
fs.mkdirSync(bare);
for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'corpus.txt']) fs.copyFileSync(path.join(modelDir, f), path.join(bare, f));

const forget = path.join(tmp, 'forget.jsonl');
fs.writeFileSync(forget, [
  { prompt: 'The cat sat on the', answer: 'mat', form: 'cloze' },
  { prompt: 'The dog ran to the', answer: 'park', form: 'cloze' },
  { prompt: 'Where did the bird fly? Over the', answer: 'house' },
  { prompt: 'Where did the fish swim? In the', answer: 'sea' },
].map((r) => JSON.stringify(r)).join('\n') + '\n');

interface CliReply<T> {
  status: number | null;
  json: T & { error?: { code: string; message: string; field?: string } };
  stderr: string;
}

function cli<T>(args: string[]): CliReply<T> {
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--provider', 'cpu', '--threads', '1', '--json'], { encoding: 'utf8', env, cwd: tmp });
  return { status: r.status, json: r.stdout ? JSON.parse(r.stdout) : {}, stderr: r.stderr };
}

/** An edit file's JSON without what differs between any two runs: the id, the times, the file names. */
function comparable(file: string): unknown {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & { training?: { curve?: { ms?: number }[] }; hparams?: Record<string, unknown> };
  const { id: _id, created: _c, vectors: _v, ...rest } = j;
  const training = j.training && { ...j.training, ms: undefined, curve: j.training.curve?.map((p) => ({ ...p, ms: undefined })) };
  return JSON.parse(JSON.stringify({ ...rest, hparams: { ...j.hparams, computeMs: undefined }, training }));
}

const curveOf = (c: { step: number; loss: number; metrics: Record<string, number>; lr?: number; gradNorm?: number }[]) => c.map(({ step, loss, metrics, lr, gradNorm }) => ({ step, loss, metrics, lr, gradNorm }));

describe('unlearning: mechedit unlearn and unlearn/run', () => {
  test('the same GradDiff run gives the same figures, curve and edit file on both sides', async () => {
    const settings = { method: 'graddiff', forget, forms: ['cloze', 'qa'], steps: 3, seed: 5, rank: 2, layers: [1, 2], stopBelow: 0 } as const;
    const out = cli<UnlearnOutput>(['unlearn', '--model', modelDir, '--method', 'graddiff', '--forget', forget, '--forms', 'cloze,qa', '--steps', '3', '--seed', '5', '--rank', '2', '--layers', '1,2', '--stop-below', '0', '--out', path.join(tmp, 'cli-edits')]);
    assert.equal(out.status, 0, out.stderr);
    await client.request('model/open', { path: modelDir });
    const r: UnlearnOutcome = await client.request('unlearn/run', { ...settings, forms: [...settings.forms], layers: [...settings.layers], outDir: path.join(tmp, 'engine-edits') });
    const c = out.json;
    assert.equal(c.training.steps, 3);
    assert.equal(r.curve.length, 3);
    assert.deepEqual(curveOf(c.training.curve), curveOf(r.curve), 'the same loss curve');
    assert.deepEqual(c.figures, r.figures, 'the same forget / retain / unrelated top-1 before and after');
    assert.ok(c.figures.unrelatedTop1 && c.figures.retainTop1, 'the model\'s retain and unrelated facts were measured');
    // The retain default applies on both sides (GradDiff's retain term needs it).
    assert.equal(c.retainSource, path.join(modelDir, 'eval', 'unlearn', 'retain.jsonl'));
    assert.equal(r.material.retainSource, c.retainSource);
    assert.equal(r.material.retain, c.items.retain);
    assert.equal(r.preset, 'tuned');
    assert.equal(c.preset, 'tuned');
    assert.deepEqual(comparable(r.file), comparable(c.file!), 'the same edit file (but for its id and times)');
    assert.deepEqual(fs.readFileSync(r.file.replace(/\.json$/, '.safetensors')).length, fs.readFileSync(c.file!.replace(/\.json$/, '.safetensors')).length);
    const hp = (JSON.parse(fs.readFileSync(r.file, 'utf8')) as { hparams: Record<string, unknown> }).hparams;
    assert.equal(hp.lr, 2e-3, 'the tuned preset\'s lr for GradDiff');
    assert.equal(hp.seed, 5, 'the seed reaches the engine');
  });

  test('the same bad input gives the same field on both sides', async () => {
    const cases: { what: string; field: string; flags: string[]; params: Record<string, unknown>; model?: string; cliField?: string }[] = [
      { what: 'lr above its bound', field: 'lr', flags: ['--lr', '11'], params: { lr: 11 } },
      { what: 'UIPE\'s α far above its bound', field: 'uipe', flags: ['--uipe', '1e308'], params: { uipe: 1e308 } },
      { what: 'a seed below 0', field: 'seed', flags: ['--seed=-1'], params: { seed: -1 } },
      { what: 'stopBelow above 1', field: 'stopBelow', flags: ['--stop-below', '2'], params: { stopBelow: 2 } },
      { what: 'an unknown form', field: 'forms', flags: ['--forms', 'essay'], params: { forms: ['essay'] } },
      // About the forget file (the error names it): the CLI keeps the neutral field, as for any field of a file.
      { what: 'a form the file lacks', field: 'forms', cliField: 'forms', flags: ['--forms', 'tf'], params: { forms: ['tf'] } },
      { what: 'a retain weight without retain data on a model that has none', field: 'retain', flags: ['--retain-weight', '5'], params: { retainWeight: 5 }, model: bare },
      { what: 'an unknown preset', field: 'preset', flags: ['--preset', 'wmdp'], params: { preset: 'wmdp' } },
    ];
    for (const k of cases) {
      const m = k.model ?? modelDir;
      const c = cli<unknown>(['unlearn', '--model', m, '--method', 'ga', '--forget', forget, '--steps', '1', '--out', path.join(tmp, 'never'), ...k.flags]);
      assert.equal(c.status, 2, `${k.what}: ${c.stderr}`);
      assert.equal(c.json.error?.field, k.cliField ?? (k.field === 'stopBelow' ? '--stop-below' : `--${k.field}`), `${k.what} (CLI): ${c.json.error?.message}`);
      await client.request('model/open', { path: m });
      await assert.rejects(
        client.request('unlearn/run', { method: 'ga', forget, steps: 1, outDir: path.join(tmp, 'never'), ...k.params } as ParamsOf<'unlearn/run'>),
        (e: EngineError) => e.data?.code === 'bad-input' && e.data.field === k.field,
        `${k.what} (engine)`,
      );
    }
    assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'nothing written');
  });
});

describe('sequential editing: mechedit sequential and lifelong/run', () => {
  // The bundled world's first three counterfactuals (the bare model has no probes: the run measures efficacy and paraphrases).
  const requests = path.join(tmp, 'requests.jsonl');
  const world = JSON.parse(fs.readFileSync(path.join(modelDir, 'eval', 'counterfactuals.json'), 'utf8')) as { requests: { subject: string; prompt: string; target: string; paraphrases?: string[] }[] };
  fs.writeFileSync(requests, world.requests.slice(0, 3).map(({ subject, prompt, target, paraphrases }) => JSON.stringify({ subject, prompt, target, paraphrases })).join('\n') + '\n');
  const strip = (points: { seconds: number }[]) => JSON.parse(JSON.stringify(points.map((p) => ({ ...p, seconds: undefined }))));

  test('the same run gives the same curve, edits and run record, with the consolidation recorded on both sides', async () => {
    const cliOut = path.join(tmp, 'seq-cli');
    const engineOut = path.join(tmp, 'seq-engine');
    const args = (out: string) => ['sequential', '--model', bare, '--method', 'rome', '--requests', requests, '--every', '1', '--steps', '20', '--consolidate', 'svd:0.01', '--out', out];
    // Key statistics read back from the cache differ from fresh ones in the last float32 digits:
    // a first run fills the cache, so that both compared runs read it.
    assert.equal(cli(args(path.join(tmp, 'seq-warm'))).status, 0);
    const c = cli<{ points: { seconds: number }[]; consolidation: unknown }>(args(cliOut));
    assert.equal(c.status, 0, c.stderr);
    await client.request('model/open', { path: bare });
    const r: LifelongRunResult = await client.request('lifelong/run', { method: 'rome', requestsFile: requests, every: 1, consolidate: 'svd:0.01', settings: { steps: 20 }, out: engineOut });
    assert.deepEqual(r.points.map((p) => p.edits), [0, 1, 2, 3]);
    assert.deepEqual(strip(c.json.points), strip(r.points), 'the same curve');
    assert.ok(r.points[3].efficacy > 0, `the edits take: efficacy ${r.points[3].efficacy} %`);
    assert.deepEqual(r.consolidate, { mode: 'svd', tolerance: 0.01 });
    assert.deepEqual(c.json.consolidation, r.consolidate);
    const record = (dir: string) => {
      // editHashes hash the edit files, which carry their creation time: the files are compared below, field by field.
      const { modelPath: _m, editHashes: _e, ...rest } = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
      return rest;
    };
    assert.deepEqual(record(cliOut), record(engineOut), 'the same run record');
    assert.deepEqual(record(engineOut).consolidation, { mode: 'svd', tolerance: 0.01 }, 'recorded in run.json');
    for (const f of fs.readdirSync(path.join(engineOut, 'edits')).filter((x) => x.endsWith('.json'))) {
      assert.deepEqual(comparable(path.join(cliOut, 'edits', f)), comparable(path.join(engineOut, 'edits', f)), f);
    }
  });

  test('the same bad input gives the same field on both sides', async () => {
    const cases: { what: string; field: string; flags: string[]; params: Record<string, unknown> }[] = [
      { what: 'an unknown method', field: 'method', flags: ['--method', 'rom'], params: { method: 'rom' } },
      { what: 'a batch for a one-fact editor', field: 'batch', flags: ['--batch', '2'], params: { batch: 2 } },
      { what: 'every 0', field: 'every', flags: ['--every', '0'], params: { every: 0 } },
      { what: 'a bad consolidation', field: 'consolidate', flags: ['--consolidate', 'svd:1'], params: { consolidate: 'svd:1' } },
      { what: 'too many world counterfactuals', field: 'worldCounterfactuals', flags: ['--world-counterfactuals', '20000000'], params: { worldCounterfactuals: 20_000_000 } },
      { what: 'steps of each edit below 1', field: 'steps', flags: ['--steps', '0'], params: { settings: { steps: 0 } } },
    ];
    await client.request('model/open', { path: bare });
    for (const k of cases) {
      const method = k.field === 'method' ? [] : ['--method', 'rome'];
      const c = cli<unknown>(['sequential', '--model', bare, ...method, '--requests', requests, ...k.flags, '--out', path.join(tmp, 'never-seq')]);
      assert.equal(c.status, 2, `${k.what}: ${c.stderr}`);
      assert.equal(c.json.error?.field, `--${k.field.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`, `${k.what} (CLI): ${c.json.error?.message}`);
      const engineField = k.field === 'steps' ? 'settings.steps' : k.field;
      await assert.rejects(
        client.request('lifelong/run', { method: 'rome', requestsFile: requests, out: path.join(tmp, 'never-seq'), ...k.params } as ParamsOf<'lifelong/run'>),
        (e: EngineError) => e.data?.code === 'bad-input' && e.data.field === engineField,
        `${k.what} (engine)`,
      );
    }
    assert.ok(!fs.existsSync(path.join(tmp, 'never-seq')), 'nothing written');
  });
});
