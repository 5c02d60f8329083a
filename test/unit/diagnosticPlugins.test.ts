// The diagnostics as plugins (core/diagnostics/plugins): EVOKE, FINE-KED, knowledge probes and ORT
// run through the CLI (`mechedit <tool>`) and through the engine ('diagnostics/run', the
// Diagnostics panel's run) on the same model, edit and data give the same figures, each in a
// crash-safe run folder; the same bad input gives the same error on both sides (the CLI naming
// the field by its flag); the descriptors and the flag mapping.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { DIAGNOSTICS, diagnosticPlugin, runFolderName } from '../../src/core/diagnostics/plugins/index';
import { perCaseMethods } from '../../src/core/diagnostics/caseEdit';
import { FACT_METHODS } from '../../src/core/methods/factEditors';
import { kebab, pick, resolveSettings } from '../../src/core/methods/settings';
import { cliField, settingsFromFlags } from '../../src/cli/registryFlags';
import type { MechEditError } from '../../src/core/errors';
import type { EvokeDiagnostics, FineKedDiagnostics, OrtDiagnostics, ProbesDiagnostics } from '../../src/protocol/diagnostics';
import type { EvokeCliResult } from '../../src/core/diagnostics/plugins/evoke';
import type { FineKedCliResult } from '../../src/core/diagnostics/plugins/fineKed';
import type { OrtCliResult } from '../../src/core/diagnostics/plugins/ort';
import type { ProbesRunResult } from '../../src/core/diagnostics/probesRun';

const repo = path.join(__dirname, '..', '..', '..');
const dflt = path.join(repo, 'models', 'default');
// A saved ROME edit of the bundled model whose request (Broador → Quornwick) is a probes case.
const edit = path.join(repo, 'test', 'fixtures', 'probes', 'rome-case30.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-plugins-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
process.env.MECHEDIT_CACHE = env.MECHEDIT_CACHE;
const client = new EngineClient({ enginePath: path.join(repo, 'out', 'src', 'engine', 'main.js'), config: { executionProvider: 'cpu', threads: 1 } });
after(() => client.dispose());

interface Reply {
  status: number | null;
  json: { error?: { code: string; message: string; file?: string; field?: string } } & Record<string, unknown>;
  stderr: string;
}

/** `mechedit <args> --json` on the bundled model with the edit, on the CPU with one thread (as the engine). */
function cli(...args: string[]): Reply {
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--default', '--provider', 'cpu', '--threads', '1', '--edits', edit, '--json'], { encoding: 'utf8', env, cwd: tmp });
  return { status: r.status, json: r.stdout ? JSON.parse(r.stdout) : {}, stderr: r.stderr };
}

/** The one run folder the engine made under `outDir` for `tool` (… -<tool>-…), finished. */
function engineFolder(outDir: string, tool: string): string {
  const dirs = fs.readdirSync(outDir).filter((d) => d.includes(`-${tool}`));
  assert.equal(dirs.length, 1, `one ${tool} run under ${outDir}: ${dirs.join(', ')}`);
  return path.join(outDir, dirs[0]);
}

const finished = (dir: string) => ['run.json', 'cases.jsonl', 'summary.json'].every((f) => fs.existsSync(path.join(dir, f)));

test('CLI and engine: the same figures from the same run of each diagnostic', async () => {
  await client.request('model/open', { path: dflt });
  await client.request('edits/apply', { file: edit });
  const outDir = path.join(tmp, 'panel');
  const run = (kind: string, extra: Record<string, unknown> = {}) => client.request('diagnostics/run', { kind, outDir, ...extra });

  const evoke = cli('evoke', '--limit', '2');
  assert.equal(evoke.status, 0, evoke.stderr);
  const e = evoke.json as unknown as EvokeCliResult;
  assert.equal(e.out, path.join(tmp, 'mechedit-evoke-none'), 'the CLI\'s default run folder');
  const panel = (await run('evoke', { limit: 2 })) as EvokeDiagnostics;
  assert.deepEqual(panel.after, e.tasks, 'EVOKE: the panel\'s "after" is the CLI\'s run on the stack');
  assert.equal(panel.data.length, 2, 'both read the default data and subject specificity beside the model');
  assert.notDeepEqual(panel.before, panel.after, 'before: every edit disabled');
  assert.ok(finished(panel.out.before) && finished(panel.out.after));

  const fk = cli('fine-ked', '--limit', '2');
  assert.equal(fk.status, 0, fk.stderr);
  const f = (await run('fine-ked', { limit: 2 })) as FineKedDiagnostics;
  assert.deepEqual(f.after, (fk.json as unknown as FineKedCliResult).summary, 'FINE-KED');
  assert.equal(f.after.cases, 2);

  const pr = cli('probes', '--limit', '2');
  assert.equal(pr.status, 0, pr.stderr);
  const p = (await run('probes', { limit: 2 })) as ProbesDiagnostics;
  const cp = pr.json as unknown as ProbesRunResult;
  assert.deepEqual(p.summary, cp.summary, 'probes');
  assert.deepEqual(p.groups, cp.groups);
  assert.equal(p.groups[0].edit?.id, cp.groups[0].edit?.id);
  assert.ok(p.summary.cases > 0, 'the edit\'s case is probed');
  assert.ok(finished(p.out!) && finished(cp.out));

  const ort = cli('ort', '--limit', '1');
  assert.equal(ort.status, 0, ort.stderr);
  const o = (await run('ort', { limit: 1 })) as OrtDiagnostics;
  const co = ort.json as unknown as OrtCliResult;
  assert.equal(co.out, path.join(tmp, 'mechedit-ort'));
  assert.deepEqual(o.targets, co.targets.map((t) => ({ target: t.target, rows: t.rows, skipped: t.skipped })), 'ORT');
  assert.ok(o.targets[0].rows.every((r) => r.after), 'measured with the edit too');
  const folder = engineFolder(outDir, 'ort');
  assert.ok(finished(folder), 'the engine\'s ORT run is a run folder under outDir');
  assert.equal(JSON.parse(fs.readFileSync(path.join(folder, 'run.json'), 'utf8')).limit, 1);
});

test('the same bad input: the same message on both sides, the field by its flag in the CLI', async () => {
  await client.request('model/open', { path: dflt });
  const outDir = path.join(tmp, 'bad');
  const cases: [string, string[], Record<string, unknown>, string][] = [
    ['evoke', ['--limit', '0'], { limit: 0 }, 'limit'],
    ['fine-ked', ['--data', path.join(tmp, 'nope.json')], { data: path.join(tmp, 'nope.json') }, 'data'],
    ['probes', ['--method', 'magic'], { method: 'magic' }, 'method'],
    ['ort', ['--target', path.join(tmp, 'no-target')], { target: path.join(tmp, 'no-target') }, 'target'],
    ['evoke', ['--layer', '99', '--method', 'rome'], { layer: 99, method: 'rome' }, 'layer'],
  ];
  for (const [kind, flags, params, field] of cases) {
    const c = cli(kind, ...flags);
    assert.equal(c.status, 2, c.stderr);
    let engine: EngineError | undefined;
    await client.request('diagnostics/run', { kind, outDir, ...params }).catch((err: EngineError) => (engine = err));
    assert.ok(engine, `${kind} ${flags.join(' ')}: the engine refuses it`);
    assert.equal(engine.data.code, 'bad-input');
    assert.equal(engine.data.field, field);
    assert.equal(c.json.error?.field, `--${kebab(field)}`);
    const flagged = engine.data.message.startsWith(`${field} `) ? `--${kebab(field)}${engine.data.message.slice(field.length)}` : engine.data.message;
    assert.equal(c.json.error?.message, flagged, 'the same message, with the flag where it names the field');
    assert.equal(c.json.error?.file, engine.data.file);
  }
  assert.equal(fs.existsSync(outDir) ? fs.readdirSync(outDir).length : 0, 0, 'nothing was run');
  await assert.rejects(client.request('diagnostics/run', { kind: 'sequential', outDir }), (err: EngineError) => err.data.field === 'kind');
  await assert.rejects(client.request('diagnostics/run', { kind: 'tarot', outDir }), (err: EngineError) => err.data.field === 'kind' && /evoke, fine-ked, probes, ort/.test(err.data.hint ?? ''));
});

test('descriptors: one per diagnostic, per-case methods from one function, settings checked by their bounds', () => {
  assert.deepEqual(perCaseMethods(), ['none', ...FACT_METHODS]);
  const ids = DIAGNOSTICS.map((d) => d.descriptor.id);
  assert.deepEqual(ids, ['evoke', 'fine-ked', 'probes', 'ort', 'sequential', 'zsre']);
  for (const d of DIAGNOSTICS) {
    assert.equal(d.descriptor.family, 'diagnostic');
    assert.equal(d.descriptor.kind, 'diagnostic');
    assert.ok(d.descriptor.settings.some((s) => s.name === d.dataSetting), `${d.descriptor.id}: its data setting is listed`);
    assert.ok(d.renderer);
  }
  for (const id of ['evoke', 'probes']) assert.deepEqual(diagnosticPlugin(id).descriptor.settings.find((s) => s.name === 'method')?.options, perCaseMethods());
  assert.deepEqual(diagnosticPlugin('fine-ked').descriptor.settings.find((s) => s.name === 'method')?.options, [...perCaseMethods(), 'context']);
  const specs = diagnosticPlugin('evoke').descriptor.settings;
  const checkSettings = (sp: typeof specs, raw: Record<string, unknown>, c: { layers: number }) => resolveSettings(sp, pick(sp, raw), c);
  assert.deepEqual(checkSettings(specs, { limit: 3, layers: [1, 2] }, { layers: 4 }), { method: 'none', generationEntropy: false, lti: false, limit: 3, layers: [1, 2], resume: false, force: false });
  assert.throws(() => checkSettings(specs, { layers: [1, 1] }, { layers: 4 }), (e: MechEditError) => e.data.field === 'layers');
  assert.throws(() => checkSettings(specs, { lambda: 0 }, { layers: 4 }), (e: MechEditError) => e.data.field === 'lambda' && /above 0/.test(e.message));
  assert.throws(() => checkSettings(specs, { limit: '2' }, { layers: 4 }), (e: MechEditError) => e.data.field === 'limit', 'the engine gets numbers, not text');
  // The CLI's flags become the same values: numbers, layer ranges, file lists.
  assert.deepEqual(settingsFromFlags(specs, { limit: '3', layers: '1-2', 'subj-spec': 's.json', corpus: ['a.txt'], lti: true }), { limit: 3, layers: [1, 2], subjSpec: 's.json', corpus: ['a.txt'], lti: true });
  assert.deepEqual(settingsFromFlags(specs, { limit: 'many' }), { limit: 'many' }, 'text that is not a number is left for core to refuse');
  // Run folder names: the CLI's default, with -lti and the shard.
  const evoke = diagnosticPlugin('evoke');
  assert.equal(runFolderName(evoke, { method: 'rome', lti: true, shard: { index: 1, count: 4 } }), 'evoke-rome-lti-1of4');
  assert.equal(runFolderName(diagnosticPlugin('ort'), { method: 'none', lti: false, shard: undefined }), 'ort');
});

test('an error\'s field as the CLI\'s flag: only when it is about the option', () => {
  const str = { type: 'string' } as const;
  const options = { data: str, 'subj-spec': str, limit: str, method: str };
  const map = (field: string, file?: string, values: Record<string, unknown> = {}) => cliField({ code: 'bad-input', message: 'm', field, file }, { options }, values).field;
  assert.equal(map('limit'), '--limit');
  assert.equal(map('subjSpec'), '--subj-spec');
  assert.equal(map('--shard'), '--shard', 'a flag stays');
  assert.equal(map('line 2', '/r/cases.jsonl'), 'line 2', 'a line of a file');
  assert.equal(map('model_type', '/m/config.json'), 'model_type', 'not an option of the command');
  assert.equal(map('data', '/r/run.json', { data: '/d.json' }), 'data', "run.json's field, not the option");
  assert.equal(map('data', '/d.json', { data: '/d.json' }), '--data', 'the file the option gave');
  assert.equal(map('method', '/e/edit.json'), 'method', "an edit file's field while --method was not given");
});

test('probes runs are crash-safe like the others: shards, --resume, and merge give the unsharded figures', () => {
  const probes = (...a: string[]) => cli('probes', '--limit', '3', ...a);
  const shards = [0, 1].map((i) => path.join(tmp, `probes-${i}`));
  for (const [i, out] of shards.entries()) assert.equal(probes('--shard', `${i}/2`, '--out', out).status, 0);
  assert.equal(probes('--shard', '0/2', '--out', shards[0], '--resume').status, 0, 'a finished shard resumes');
  const merged = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), 'merge', '--out', path.join(tmp, 'probes-merged'), ...shards, '--json'], { encoding: 'utf8', env });
  assert.equal(merged.status, 0, merged.stderr);
  const whole = probes('--out', path.join(tmp, 'probes-whole'));
  const summary = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { cases: number; summary: unknown };
  assert.deepEqual(summary(path.join(tmp, 'probes-merged')).summary, summary(path.join(tmp, 'probes-whole')).summary);
  assert.equal(summary(path.join(tmp, 'probes-merged')).cases, (whole.json as unknown as ProbesRunResult).summary.cases);
});
