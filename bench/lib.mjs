// What the benchmark scripts share: the repository root, and a loader for MechEdit's compiled core
// in out/ (run `npx tsc -p .` first).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
export const repo = path.resolve(import.meta.dirname, '..');
/** A module of out/src, e.g. out('core/runtime/model.js'). */
export const out = (p) => require(path.join(repo, 'out', 'src', p));
/** The same from another compiled tree (a script's --out-dir: a snapshot while others recompile out/). */
export function outOf(dir) {
  return (p) => {
    const file = path.join(dir, 'src', p);
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc -p .\` first (or give --out-dir)`);
    return require(file);
  };
}
