// The output gate (src/core/outputs.ts): what no command may write to (a checkpoint, a file where a
// folder goes, /dev/null, a symlink loop, a folder of someone else's files), how it writes (whole or
// not at all), and how a failure of the place (ENOSPC, EROFS, ENOTDIR, ELOOP) comes out: one `io`
// error line naming the path, nothing partial left. The full and read-only folders are small tmpfs
// mounts, made when the test runs as root; otherwise those cases are skipped with the reason printed.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { appendOut, checkRunFolder, makeOutFolder, refuseForeignFolder, writeOut } from '../../src/core/outputs';
import { checkEditOut } from '../../src/core/edits/editFile';
import { MechEditError, toErrorData } from '../../src/core/errors';
import { withTmpfs } from './fuzz/places';

const repo = path.join(__dirname, '..', '..', '..');
const bundled = path.join(repo, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-gate-'));
const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache') };
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Reply {
  status: number | null;
  error?: { code: string; message: string; file?: string; field?: string };
  stderr: string;
}

function cli(...args: string[]): Reply {
  const r = spawnSync(process.execPath, [path.join(repo, 'out', 'src', 'cli', 'main.js'), ...args, '--json'], { encoding: 'utf8', env });
  const json = r.stdout ? JSON.parse(r.stdout) as { error?: Reply['error'] } : {};
  return { status: r.status, error: json.error, stderr: r.stderr };
}

/** Every file under `dir` with its size and mtime: what "left as it was" compares. */
function snapshot(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((d) => {
    const p = path.join(d.parentPath, d.name);
    const s = fs.statSync(p);
    return `${path.relative(dir, p)} ${s.size} ${s.mtimeMs}`;
  }).sort();
}

function refusedCli(r: Reply, code: string, file: string, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.error?.code, code, r.stderr);
  assert.equal(r.error?.file, file);
  assert.match(r.error!.message, message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
}

test('probes --out <checkpoint> is refused, the one it reads and another; both are left as they were', () => {
  const before = snapshot(bundled);
  const r = cli('probes', '--default', '--provider', 'cpu', '--limit', '1', '--out', bundled);
  refusedCli(r, 'bad-input', bundled, /would be written into the source checkpoint/);
  const inside = cli('probes', '--default', '--provider', 'cpu', '--limit', '1', '--out', path.join(bundled, 'runs'));
  refusedCli(inside, 'bad-input', path.join(bundled, 'runs'), /source checkpoint/);
  assert.deepEqual(snapshot(bundled), before);

  // Another checkpoint (not the one opened): a folder of someone else's files, refused even with --resume.
  const other = path.join(tmp, 'other-checkpoint');
  fs.cpSync(path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny'), other, { recursive: true });
  const was = snapshot(other);
  for (const extra of [[], ['--resume']]) {
    const o = cli('probes', '--default', '--provider', 'cpu', '--limit', '1', '--out', other, ...extra);
    refusedCli(o, 'bad-input', other, /not empty and is not a MechEdit run folder/);
  }
  assert.deepEqual(snapshot(other), was);
});

test('an existing results.json or summary.json survives probes --out, unless --force', () => {
  const dir = path.join(tmp, 'mine');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'results.json'), '{"mine": 1}\n');
  fs.writeFileSync(path.join(dir, 'summary.json'), '{"mine": 2}\n');
  const r = cli('probes', '--default', '--provider', 'cpu', '--limit', '1', '--out', dir);
  refusedCli(r, 'bad-input', dir, /not empty and is not a MechEdit run folder.*replaces only files it wrote/);
  assert.match(r.stderr, /--force/, 'the hint names --force');
  assert.equal(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'), '{"mine": 1}\n');
  assert.equal(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'), '{"mine": 2}\n');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['results.json', 'summary.json'], 'nothing was added');

  const forced = cli('probes', '--default', '--provider', 'cpu', '--limit', '1', '--out', dir, '--force');
  assert.equal(forced.status, 0, forced.stderr);
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as { groups?: unknown[] };
  assert.ok(Array.isArray(results.groups), 'with --force the run wrote its own results.json');
});

test('an output that is not a folder: a file, /dev/null, a path through a file, a symlink loop', () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'user data\n');
  const loop = path.join(tmp, 'loop');
  fs.symlinkSync(path.join(tmp, 'loop2'), loop);
  fs.symlinkSync(loop, path.join(tmp, 'loop2'));
  const cases: [string, string, string, RegExp][] = [
    [file, 'bad-input', file, /is a file, not a folder/],
    ['/dev/null', 'bad-input', '/dev/null', /is a device, not a folder/],
    [path.join(file, 'run'), 'io', path.join(file, 'run'), /a part of the path is a file, not a folder \(ENOTDIR\)/],
    [loop, 'io', loop, /a symlink loop\) \(ELOOP\)/],
  ];
  for (const [out, code, named, message] of cases) {
    const r = cli('probes', '--default', '--provider', 'cpu', '--limit', '1', '--out', out);
    refusedCli(r, code, named, message);
  }
  assert.equal(fs.readFileSync(file, 'utf8'), 'user data\n');
  const merge = cli('merge', '--out', '/dev/null', tmp);
  refusedCli(merge, 'bad-input', '/dev/null', /is a device, not a folder/);
});

test('writeOut and appendOut: never onto a device or a folder; fs errors become io errors naming the path', () => {
  const is = (code: string, file: string, message: RegExp) => (e: unknown) => e instanceof MechEditError && e.data.code === code && e.data.file === file && message.test(e.message);
  assert.throws(() => writeOut('/dev/null', 'x'), is('bad-input', '/dev/null', /is a device, not a file/));
  assert.throws(() => appendOut('/dev/null', 'x'), is('bad-input', '/dev/null', /is a device/));
  assert.throws(() => writeOut(tmp, 'x'), is('bad-input', tmp, /is a folder, not a file/));
  const file = path.join(tmp, 'plain');
  fs.writeFileSync(file, 'x');
  assert.throws(() => writeOut(path.join(file, 'y.json'), 'x'), is('io', path.join(file, 'y.json'), /ENOTDIR/));
  assert.throws(() => makeOutFolder(path.join(file, 'sub')), is('io', path.join(file, 'sub'), /ENOTDIR/));
  // A foreign folder is refused; --force lifts that rule only.
  const foreign = path.join(tmp, 'foreign');
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
  assert.throws(() => refuseForeignFolder(foreign, 'run.json', () => true, 'a run folder'), is('bad-input', foreign, /not empty/));
  refuseForeignFolder(foreign, 'run.json', () => true, 'a run folder', true);
  assert.throws(() => refuseForeignFolder('/dev/null', 'run.json', () => true, 'a run folder', true), is('bad-input', '/dev/null', /not a folder/));
  // Any fs error of the place that escapes a writer still reaches the user as io, naming the path.
  const raw = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/x/y' });
  assert.deepEqual({ ...toErrorData(raw), hint: undefined }, { code: 'io', message: 'Cannot write /x/y: no space left on the device (ENOSPC)', file: '/x/y', hint: undefined });
});

test('the engine\'s outDir checks (edits, unlearning, diagnostics): bad-input or io naming the path, never internal', () => {
  const ckpt = { dir: path.join(tmp, 'no-model'), weightFiles: [] };
  const file = path.join(tmp, 'outdir-file');
  fs.writeFileSync(file, 'x');
  const named = (code: string, at: string) => (e: unknown) => e instanceof MechEditError && e.data.code === code && e.data.file === at;
  assert.throws(() => checkEditOut('/dev/null', ckpt), named('bad-input', '/dev/null'));
  assert.throws(() => checkEditOut(file, ckpt), named('bad-input', file));
  const run = path.join(file, '2026-12-07T00-00-00-probes-none'); // the engine's run folder under outDir
  assert.throws(() => checkRunFolder(run, ckpt, 'The run folder'), named('io', run));
  assert.equal(toErrorData(Object.assign(new Error('EROFS'), { code: 'EROFS', syscall: 'mkdir', path: run })).code, 'io');
});

test('a full and a read-only file system: one io line, no partial file, the old file kept', async (t) => {
  await withTmpfs(t, '64k', false, (full) => {
    const target = path.join(full, 'results.json');
    writeOut(target, 'old\n');
    fs.writeFileSync(path.join(full, 'filler'), Buffer.alloc(60 * 1024 - 8192)); // ENOSPC once a few KiB more are written
    const big = 'x'.repeat(64 * 1024);
    assert.throws(() => writeOut(target, big), (e: unknown) => e instanceof MechEditError && e.data.code === 'io' && e.data.file === target && /ENOSPC/.test(e.message));
    assert.equal(fs.readFileSync(target, 'utf8'), 'old\n', 'the old file is whole');
    assert.deepEqual(fs.readdirSync(full).sort(), ['filler', 'results.json'], 'no temp file is left');
    const log = path.join(full, 'cases.jsonl');
    appendOut(log, '{"a":1}\n');
    assert.throws(() => appendOut(log, `${big}\n`), (e: unknown) => e instanceof MechEditError && e.data.code === 'io' && /ENOSPC/.test(e.message));
    assert.equal(fs.readFileSync(log, 'utf8'), '{"a":1}\n', 'the failed append is cut back: no partial line');
  });
  await withTmpfs(t, '64k', true, (ro) => {
    const dir = path.join(ro, 'run', 'deeper');
    assert.throws(() => makeOutFolder(dir), (e: unknown) => e instanceof MechEditError && e.data.code === 'io' && e.data.file === path.join(ro, 'run') && /read-only \(EROFS\)/.test(e.message));
    const r = cli('probes', '--default', '--provider', 'cpu', '--limit', '1', '--out', dir);
    refusedCli(r, 'io', path.join(ro, 'run'), /EROFS/);
  });
});
