// The layer rules are enforced by lint: these cases must fail it (and a clean file must pass),
// whatever else changes in eslint.config.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
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

async function messages(file: string, code: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages;
}

test('an import cycle in src/ is an error, type-only imports included', async () => {
  // Each case lints an existing file with one import added that closes a cycle through the files
  // on disk: outputs.ts imports ./errors, and protocol/model.ts imports type ProviderProbe from ./common.
  assert.match(fs.readFileSync(path.join(root, 'src/core/outputs.ts'), 'utf8'), /from '\.\/errors'/);
  assert.match(fs.readFileSync(path.join(root, 'src/protocol/model.ts'), 'utf8'), /import type \{[^}]*\} from '\.\/common'/);
  const errors = fs.readFileSync(path.join(root, 'src/core/errors.ts'), 'utf8');
  assert.deepEqual(await ruleIds('src/core/errors.ts', errors), []);
  const value = await messages('src/core/errors.ts', `import { refuseInsideCheckpoint } from './outputs';\nexport const b = refuseInsideCheckpoint;\n${errors}`);
  assert.deepEqual(value.map((m) => m.ruleId), ['local/no-cycle']);
  assert.match(value[0].message, /src\/core\/errors\.ts → src\/core\/outputs\.ts → src\/core\/errors\.ts/);

  const common = fs.readFileSync(path.join(root, 'src/protocol/common.ts'), 'utf8');
  assert.deepEqual(await ruleIds('src/protocol/common.ts', common), []);
  const typeOnly = await messages('src/protocol/common.ts', `import type { ModelInfo } from './model';\nexport type M = ModelInfo;\n${common}`);
  assert.deepEqual(typeOnly.map((m) => m.ruleId), ['local/no-cycle']);
  assert.match(typeOnly[0].message, /src\/protocol\/common\.ts → src\/protocol\/model\.ts → src\/protocol\/common\.ts/);
});

test('a core layer never imports a higher one', async () => {
  const refused: [string, string][] = [
    ['src/core/checkpoint/x.ts', '../runtime/graphDir'],
    ['src/core/checkpoint/x.ts', '../models/model'],
    ['src/core/errors.ts', './graph/taps'],
    ['src/core/models/x.ts', '../graph/taps'],
    ['src/core/graph/x.ts', '../runtime/model'],
    ['src/core/runtime/x.ts', '../edits/rome'],
    ['src/core/train/x.ts', '../diagnostics/ort'],
    ['src/core/edits/x.ts', '../analysis/info'],
  ];
  for (const [file, from] of refused) {
    assert.deepEqual(await ruleIds(file, `export * from '${from}';\n`), ['import/no-restricted-paths'], `${file} importing ${from}`);
  }
  const allowed: [string, string][] = [
    ['src/core/checkpoint/x.ts', '../cacheRoot'],
    ['src/core/runtime/x.ts', '../graph/taps'],
    ['src/core/edits/x.ts', '../train/trainer'],
    ['src/core/train/x.ts', '../edits/stack'],
    ['src/core/diagnostics/x.ts', '../analysis/info'],
  ];
  for (const [file, from] of allowed) assert.deepEqual(await ruleIds(file, `export * from '${from}';\n`), [], `${file} importing ${from}`);
});

test('every folder and loose file of src/core has a layer', async () => {
  const config = await eslint.calculateConfigForFile(path.join(root, 'src/core/x.ts'));
  const zones = (config.rules['import/no-restricted-paths'] as [unknown, { zones: { target: string | string[]; from: string | string[] }[] }])[1].zones;
  const placed = new Set(zones.flatMap((z) => [z.target, z.from].flat()).filter((p) => p.startsWith('./src/core/')).map((p) => p.slice('./src/core/'.length)));
  for (const entry of fs.readdirSync(path.join(root, 'src/core'))) assert.ok(placed.has(entry), `src/core/${entry} is in no layer of CORE_LAYERS (eslint.config.mjs)`);
});

test('protocol files import shared names from common.ts, not from engine.ts', async () => {
  assert.deepEqual(await ruleIds('src/protocol/x.ts', "export type { FactMethod } from './engine';\n"), ['import/no-restricted-paths']);
  assert.deepEqual(await ruleIds('src/protocol/x.ts', "export type { FactMethod } from './common';\n"), []);
});
