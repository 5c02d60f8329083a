// Lint enforces the layers (see README "Architecture"):
//   protocol  ← imports nothing from vscode, Node, the DOM or any other layer
//   core      ← no vscode; the only place that loads onnxruntime-node is src/core/runtime/ort.ts
//   engine    ← core + protocol (the child process that owns every ORT session)
//   cli       ← core + protocol
//   extension ← protocol only (never core, engine or onnxruntime-node: ORT blocks its thread)
//   webview   ← protocol only (browser bundles)
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';
import globals from 'globals';

const ort = ['onnxruntime-node', 'onnxruntime-common', 'onnxruntime-web'];
const ortRule = {
  paths: ort.map((name) => ({
    name,
    message: 'Only src/core/runtime/ort.ts loads onnxruntime; call it from the engine or the CLI.',
  })),
};
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
        ],
      }],
    },
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
  // Last, so that it wins over the core block above.
  {
    files: ['src/core/runtime/ort.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
