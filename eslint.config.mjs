// Lint enforces the layers (see README "Architecture"):
//   protocol  ← imports nothing from vscode, Node, the DOM or any other layer; its files import
//               shared names from protocol/common.ts, never from protocol/engine.ts (which aggregates)
//   core      ← no vscode; the only place that loads onnxruntime-node is src/core/runtime/ort.ts
//   engine    ← core + protocol (the child process that owns every ORT session)
//   cli       ← core + protocol
//   extension ← protocol only (never core, engine or onnxruntime-node: ORT blocks its thread)
//   webview   ← protocol only (browser bundles)
// Inside core, layers from the bottom up (CORE_LAYERS; a layer imports only its own and lower ones):
//   1. the loose files errors, atomicWrite, outputs, defaultModel, cacheRoot, records, inputs, numbers, cacheLock (import no core folder)
//   2. checkpoint/            3. models/, tokenizer.ts      4. graph/, onnx/
//   5. runtime/ (loaded model, sessions, run.ts, answers.ts)
//   6. edits/, train/, sae/        7. methods/ (the registry's edit methods, objectives and their settings)
//   8. analysis/, diagnostics/  9. jobs/, registry/ (one job per kind of work; the registry's index)
// A new folder or loose file in src/core must be placed in CORE_LAYERS (test/unit/layers.test.ts checks).
// No import cycles in src/ or webview/, type-only imports included (local/no-cycle, scripts/lint/noCycle.mjs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';
import globals from 'globals';
import local from './scripts/lint/noCycle.mjs';

const ort = ['onnxruntime-node', 'onnxruntime-common', 'onnxruntime-web'];
const ortRule = {
  paths: ort.map((name) => ({
    name,
    message: 'Only src/core/runtime/ort.ts loads onnxruntime; call it from the engine or the CLI.',
  })),
};
const CORE_LAYERS = [
  ['errors.ts', 'atomicWrite.ts', 'outputs.ts', 'defaultModel.ts', 'cacheRoot.ts', 'records.ts', 'inputs.ts', 'numbers.ts', 'cacheLock.ts'],
  ['checkpoint'],
  ['models', 'tokenizer.ts'],
  ['graph', 'onnx'],
  ['runtime'],
  ['edits', 'train', 'sae'],
  ['methods'],
  ['analysis', 'diagnostics'],
  ['jobs', 'registry'],
];
const inCore = (names) => names.map((n) => `./src/core/${n}`);
const coreZones = CORE_LAYERS.slice(0, -1).map((layer, i) => ({
  target: inCore(layer),
  from: inCore(CORE_LAYERS.slice(i + 1).flat()),
  message: `core layers (bottom up): ${CORE_LAYERS.map((l) => l.join(', ')).join(' ← ')}. A layer never imports a higher one: move the shared code down.`,
}));
const noVscode = { name: 'vscode', message: 'This layer runs outside VS Code; only src/extension and test/integration may import vscode.' };

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.vscode-test/**', 'test-results/**', 'media/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { import: importPlugin },
    settings: {
      'import/resolver': { node: { extensions: ['.ts', '.js', '.mjs', '.json', '.node'] } },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', ortRule],
      'import/no-restricted-paths': ['error', {
        zones: [
          { target: './src/extension', from: ['./src/core', './src/engine', './src/cli'], message: 'The extension host talks to the engine through src/protocol and the engine client.' },
          { target: './webview', from: './src', except: ['./protocol'], message: 'Webviews import only src/protocol.' },
          { target: './src/protocol', from: ['./src/core', './src/engine', './src/extension', './src/cli', './webview'], message: 'The protocol depends on nothing.' },
          { target: './src/core', from: ['./src/engine', './src/extension', './src/cli', './webview'], message: 'core is a leaf: engine and cli use it, not the other way.' },
          { target: './src/engine', from: ['./src/extension', './src/cli', './webview'] },
          { target: './src/cli', from: ['./src/extension', './src/engine', './webview'] },
          { target: './src/protocol', from: './src/protocol/engine.ts', message: 'protocol/engine.ts only aggregates: import shared names from protocol/common.ts.' },
          ...coreZones,
        ],
      }],
    },
  },
  {
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    plugins: { local },
    rules: { 'local/no-cycle': 'error' },
  },
  {
    files: ['src/core/**', 'src/engine/**', 'src/cli/**', 'test/unit/**'],
    rules: { 'no-restricted-imports': ['error', { ...ortRule, paths: [...ortRule.paths, noVscode] }] },
  },
  {
    files: ['src/protocol/**', 'webview/**'],
    rules: {
      'import/no-nodejs-modules': 'error',
      'no-restricted-imports': ['error', { ...ortRule, paths: [...ortRule.paths, noVscode] }],
    },
  },
  {
    files: ['**/*.mjs', 'scripts/**', 'bench/**', 'tools/**'],
    languageOptions: { globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Small files and functions: a longer one needs an eslint-disable comment that says why.
  {
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  // Last, so that it wins over the core block above.
  {
    files: ['src/core/runtime/ort.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
