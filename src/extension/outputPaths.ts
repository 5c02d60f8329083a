// Path rules of outputFolders.ts, without VS Code (unit-tested).

import * as fs from 'node:fs';
import * as path from 'node:path';

function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The folder MechEdit must not write into for a model opened from `modelDir`. */
export function protectedFolder(modelDir: string): string {
  const hf = /^(.*[\\/]models--[^\\/]+)[\\/]snapshots[\\/]/.exec(modelDir + path.sep);
  return real(hf ? hf[1] : modelDir);
}

/** Whether `p` is `folder` or lies inside it (resolving links of the parts that exist). */
export function isInside(p: string, folder: string): boolean {
  let existing = path.resolve(p);
  let rest = '';
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
    rest = path.join(path.basename(existing), rest);
    existing = path.dirname(existing);
  }
  const rel = path.relative(folder, path.join(real(existing), rest));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
