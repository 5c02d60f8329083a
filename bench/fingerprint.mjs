// Fingerprint benchmark: what the weight-content hash costs when a checkpoint is opened. For each
// size, a checkpoint folder (config.json + one safetensors file of that size) is opened twice
// with a fresh MechEdit cache: the first open reads and hashes every byte (sha256, 16 MiB
// reads), the second finds the hash in <cache>/content-hashes.json by file identity. Prints a
// markdown table. Not a test.
//
// Usage: npx tsc -p . && node bench/fingerprint.mjs [--sizes 64,512,2048] (MiB) [--dir DIR]
//   --dir: where the temporary checkpoints go (default: the OS temp folder); they are removed.
//   As root, the page cache is dropped before each first open (a read from disk); otherwise the
//   file was just written and is read from memory: the table says which.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { out } from './lib.mjs';

const { openCheckpoint } = out('core/checkpoint/checkpoint.js');
const { writeSafetensors } = out('core/checkpoint/writeSafetensors.js');

const { values: opt } = parseArgs({ options: { sizes: { type: 'string', default: '64,512,2048' }, dir: { type: 'string', default: os.tmpdir() } } });
const sizes = opt.sizes.split(',').map((s) => Number(s) * 1024 * 1024);
const root = fs.mkdtempSync(path.join(opt.dir, 'mechedit-bench-fingerprint-'));
const MiB = 1024 * 1024;

/** A checkpoint of one U8 tensor of `bytes` bytes; its files dated an hour ago (cacheable). */
function makeCheckpoint(bytes) {
  const dir = path.join(root, `ckpt-${bytes / MiB}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "bench"}\n');
  const file = path.join(dir, 'model.safetensors');
  const chunk = randomBytes(16 * MiB);
  writeSafetensors(file, [{ name: 'w', dtype: 'U8', shape: [bytes], produce: (write) => {
    for (let done = 0; done < bytes; done += chunk.length) write(chunk.subarray(0, Math.min(chunk.length, bytes - done)));
  } }]);
  const fd = fs.openSync(file, 'r');
  fs.fsyncSync(fd); // written to disk, so dropping the page cache drops these pages too
  fs.closeSync(fd);
  const old = new Date(Date.now() - 3600_000);
  for (const f of fs.readdirSync(dir)) fs.utimesSync(path.join(dir, f), old, old);
  return dir;
}

function dropPageCache() {
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

function timed(f) {
  const t0 = performance.now();
  const r = f();
  return { r, ms: performance.now() - t0 };
}

const rows = [];
try {
  for (const bytes of sizes) {
    process.env.MECHEDIT_CACHE = path.join(root, `cache-${bytes / MiB}`);
    const dir = makeCheckpoint(bytes);
    const cold = dropPageCache();
    const first = timed(() => openCheckpoint(dir));
    const second = timed(() => openCheckpoint(dir));
    if (first.r.fingerprint !== second.r.fingerprint) throw new Error('the cached open gave another fingerprint');
    rows.push(`| ${bytes / MiB} MiB | ${(first.ms / 1000).toFixed(2)} s (${cold ? 'from disk' : 'page cache'}) | ${((bytes / MiB) / (first.ms / 1000)).toFixed(0)} MiB/s | ${second.ms.toFixed(1)} ms |`);
    process.stderr.write(`[bench:fingerprint] ${rows[rows.length - 1]}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
console.log(`${os.cpus()[0]?.model ?? 'CPU'}, ${os.availableParallelism()} threads, node ${process.version}\n`);
console.log('| weight file | first open (reads and hashes every byte) | hash speed | second open (cached hash) |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(r);
