// The extension's output folders: a workspace that is (inside) the open checkpoint, or its
// models--org--name/ cache folder, is never written to (edits and runs go to the storage folder).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isInside, protectedFolder } from '../../src/extension/outputPaths';

test('a workspace inside the checkpoint or its HF cache folder is protected; a sibling is not', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-outdirs-'));
  const ckpt = path.join(tmp, 'my-model');
  fs.mkdirSync(ckpt);
  assert.ok(isInside(path.join(ckpt, '.mechedit', 'edits'), protectedFolder(ckpt)), 'the checkpoint opened as the workspace');
  assert.ok(!isInside(path.join(tmp, 'work', '.mechedit', 'edits'), protectedFolder(ckpt)), 'another folder');
  assert.ok(!isInside(path.join(tmp, 'my-model-2', '.mechedit'), protectedFolder(ckpt)), 'a folder whose name starts like the checkpoint');
  const link = path.join(tmp, 'link-to-model');
  fs.symlinkSync(ckpt, link);
  assert.ok(isInside(path.join(link, '.mechedit', 'edits'), protectedFolder(ckpt)), 'through a symbolic link');
  const snapshot = path.join(tmp, 'hub', 'models--org--name', 'snapshots', 'abc');
  fs.mkdirSync(snapshot, { recursive: true });
  assert.equal(protectedFolder(snapshot), fs.realpathSync(path.join(tmp, 'hub', 'models--org--name')));
  assert.ok(isInside(path.join(tmp, 'hub', 'models--org--name', '.mechedit', 'edits'), protectedFolder(snapshot)), 'the cache root opened as the workspace');
  fs.rmSync(tmp, { recursive: true, force: true });
});
