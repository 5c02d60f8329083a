// The graph folder's copy mode (weights on another file system than the cache): a copy is
// reused while current and made again when the source changes, even at the same size.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { copyIfStale } from '../../src/core/runtime/graphDir';

test('copyIfStale copies once, keeps a current copy, and copies a same-size replacement again', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-graphdir-'));
  const source = path.join(tmp, 'model.safetensors');
  const target = path.join(tmp, 'cache-model.safetensors');
  fs.writeFileSync(source, 'weights A');
  assert.equal(copyIfStale(source, target), 'cache-model.safetensors');
  assert.equal(fs.readFileSync(target, 'utf8'), 'weights A');
  // A current copy is not touched: mark it, keeping its size and mtime.
  const { atime, mtime } = fs.statSync(target);
  fs.writeFileSync(target, 'marked  A');
  fs.utimesSync(target, atime, mtime);
  copyIfStale(source, target);
  assert.equal(fs.readFileSync(target, 'utf8'), 'marked  A', 'a current copy is reused');
  // The source replaced by another file of the same size (a fine-tuned checkpoint of the same shapes).
  fs.writeFileSync(source, 'weights B');
  const later = new Date(mtime.getTime() + 5000);
  fs.utimesSync(source, later, later);
  copyIfStale(source, target);
  assert.equal(fs.readFileSync(target, 'utf8'), 'weights B', 'a stale copy is replaced');
});
