// What the benchmark scripts share: the repository root, and a loader for MechEdit's compiled core
// in out/ (run `npx tsc -p .` first).
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
export const repo = path.resolve(import.meta.dirname, '..');
/** A module of out/src, e.g. out('core/runtime/model.js'). */
export const out = (p) => require(path.join(repo, 'out', 'src', p));
