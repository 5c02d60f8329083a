// The folder MechEdit caches into (graphs, key statistics, content hashes, provider probes):
// $MECHEDIT_CACHE, else $XDG_CACHE_HOME/mechedit, else ~/.cache/mechedit.

import * as os from 'node:os';
import * as path from 'node:path';

export function cacheRoot(): string {
  return process.env.MECHEDIT_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mechedit');
}
