// The layer rules are enforced by lint: these cases must fail it (and a clean file must pass),
// whatever else changes in eslint.config.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';

const root = path.join(__dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: root });

async function ruleIds(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.map((m) => m.ruleId ?? m.message);
}

test('the extension host may not load onnxruntime-node', async () => {
  assert.ok((await ruleIds('src/extension/x.ts', "import * as ort from 'onnxruntime-node';\nexport const a = ort;\n")).includes('no-restricted-imports'));
  assert.ok((await ruleIds('src/extension/x.ts', "export const ort = require('onnxruntime-node');\n")).length > 0);
});

test('the extension host may not import core or the engine', async () => {
  assert.ok((await ruleIds('src/extension/x.ts', "import { loadOrt } from '../core/runtime/ort';\nexport const a = loadOrt;\n")).includes('import/no-restricted-paths'));
  assert.ok((await ruleIds('src/extension/x.ts', "import { EngineServer } from '../engine/server';\nexport const a = EngineServer;\n")).includes('import/no-restricted-paths'));
});

test('a webview may import only the protocol', async () => {
  assert.ok((await ruleIds('webview/engine/x.ts', "import { MechEditError } from '../../src/core/errors';\nexport const a = MechEditError;\n")).includes('import/no-restricted-paths'));
  assert.ok((await ruleIds('webview/engine/x.ts', "import * as fs from 'node:fs';\nexport const a = fs;\n")).includes('import/no-nodejs-modules'));
  assert.deepEqual(await ruleIds('webview/engine/x.ts', "import { formatError } from '../../src/protocol/errors';\nexport const a = formatError;\n"), []);
});

test('the protocol depends on nothing; core never imports vscode', async () => {
  assert.ok((await ruleIds('src/protocol/x.ts', "import * as os from 'node:os';\nexport const a = os;\n")).includes('import/no-nodejs-modules'));
  assert.ok((await ruleIds('src/protocol/x.ts', "import { EngineClient } from '../extension/engine/client';\nexport const a = EngineClient;\n")).includes('import/no-restricted-paths'));
  assert.ok((await ruleIds('src/core/x.ts', "import * as vscode from 'vscode';\nexport const a = vscode;\n")).includes('no-restricted-imports'));
});

test('only src/core/runtime/ort.ts loads onnxruntime within core', async () => {
  assert.ok((await ruleIds('src/core/models/x.ts', "import * as ort from 'onnxruntime-node';\nexport const a = ort;\n")).includes('no-restricted-imports'));
});
