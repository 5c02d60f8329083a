// The bundled default model: models/default/ of the extension (or of this repository), a small
// GPT-2 trained on a synthetic fact world (tools/world/). Found by walking up from this file, so
// it resolves from dist/ (bundles, the .vsix) and from out/src/core/ (tests) alike.

import * as fs from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_MODEL_DIR = path.join('models', 'default');

export function bundledModelPath(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, DEFAULT_MODEL_DIR);
    if (fs.existsSync(path.join(candidate, 'config.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}
