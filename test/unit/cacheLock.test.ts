// cacheLock.ts: a lock left by a process that died (this host, its pid gone) is taken over at
// once; a lock of a live holder is waited for, and the entry it makes is read, not made again;
// a waiter that is no longer wanted gives up with the caller's error.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { withCacheLock } from '../../src/core/cacheLock';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-lock-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const read = (f: string) => () => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined);

test('a lock whose holder died is taken over; the entry is made once', async () => {
  const target = path.join(tmp, 'a', 'entry');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  fs.writeFileSync(`${target}.lock`, JSON.stringify({ host: os.hostname(), pid: Number(dead.stdout), started: new Date().toISOString() }));
  let made = 0;
  const v = await withCacheLock(target, read(target), async () => {
    made++;
    fs.writeFileSync(target, 'x');
    return 'x';
  });
  assert.equal(v, 'x');
  assert.equal(made, 1);
  assert.ok(!fs.existsSync(`${target}.lock`), 'the lock is gone');
});

test('a live holder is waited for, and its entry read', async () => {
  const target = path.join(tmp, 'b', 'entry');
  let made = 0;
  let release!: () => void;
  const holding = withCacheLock(target, read(target), async () => {
    made++;
    await new Promise<void>((r) => (release = r));
    fs.writeFileSync(target, 'first');
    return 'first';
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(fs.existsSync(`${target}.lock`), 'held');
  const waiting = withCacheLock(target, read(target), async () => {
    made++;
    return 'second';
  });
  await new Promise((r) => setTimeout(r, 300));
  release();
  assert.deepEqual(await Promise.all([holding, waiting]), ['first', 'first']);
  assert.equal(made, 1);
});

test('a waiter no longer wanted gives up with the caller\'s error', async () => {
  const target = path.join(tmp, 'c', 'entry');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(`${target}.lock`, JSON.stringify({ host: os.hostname(), pid: process.pid, started: new Date().toISOString() }));
  let asked = 0;
  await assert.rejects(withCacheLock(target, read(target), async () => 'never', { wanted: () => ++asked < 3, onGiveUp: () => new Error('cancelled here') }), /cancelled here/);
  assert.equal(asked, 3);
  fs.rmSync(`${target}.lock`);
});
