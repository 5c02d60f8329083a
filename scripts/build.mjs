// Bundles every entry point with esbuild:
//   dist/extension.js  extension host (vscode external)
//   dist/engine.js     engine process (onnxruntime-node external: its native binaries ship in the .vsix)
//   dist/cli.js        the `mechedit` command
//   dist/probeChild.js the provider probe process (CUDA/WebGPU)
//   dist/webview/<panel>.js  one browser bundle per folder in webview/ (except shared/)
// First it writes what is derived from the method registry (scripts/gen-registry.mjs: package.json's
// enums, the edit schema's methods, the README's table).
// Usage: node scripts/build.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { generate } from './gen-registry.mjs';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', absWorkingDir: root };
const node = { ...common, platform: 'node', format: 'cjs', target: 'node20' };

const panels = fs.readdirSync(path.join(root, 'webview'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'shared' && fs.existsSync(path.join(root, 'webview', d.name, 'main.ts')))
  .map((d) => d.name);

const builds = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { ...node, entryPoints: ['src/engine/main.ts'], outfile: 'dist/engine.js', external: ['onnxruntime-node'] },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', external: ['onnxruntime-node'], banner: { js: '#!/usr/bin/env node' } },
  // Spawned by src/core/runtime/providers.ts (from dist/cli.js or dist/engine.js) to probe CUDA/WebGPU.
  { ...node, entryPoints: ['src/core/runtime/probeChild.ts'], outfile: 'dist/probeChild.js', external: ['onnxruntime-node'] },
  {
    ...common, platform: 'browser', format: 'iife', target: 'chrome120',
    entryPoints: Object.fromEntries(panels.map((p) => [p, `webview/${p}/main.ts`])),
    outdir: 'dist/webview', loader: { '.css': 'css' },
  },
];

function copyAssets() {
  const out = path.join(root, 'dist', 'webview');
  fs.mkdirSync(path.join(out, 'codicons'), { recursive: true });
  fs.copyFileSync(path.join(root, 'webview', 'shared', 'base.css'), path.join(out, 'base.css'));
  const codicons = path.join(root, 'node_modules', '@vscode', 'codicons', 'dist');
  for (const f of ['codicon.css', 'codicon.ttf']) fs.copyFileSync(path.join(codicons, f), path.join(out, 'codicons', f));
}

// A production build starts from an empty dist/ so that no stale file (a source map, an old
// bundle) ends up in the .vsix.
if (production) fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });

const generated = await generate();
if (generated.length) console.log(`gen-registry: wrote ${generated.join(', ')}`);

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  copyAssets();
  console.log('watching…');
} else {
  const t0 = Date.now();
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyAssets();
  fs.chmodSync(path.join(root, 'dist', 'cli.js'), 0o755);
  console.log(`built extension, engine, cli and ${panels.length} webview bundle(s) [${panels.join(', ')}] in ${Date.now() - t0} ms${production ? ' (production)' : ''}`);
}
