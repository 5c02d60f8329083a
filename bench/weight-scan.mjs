// Weight-scan benchmark: what checking the weights for NaN, ±∞ and |x| > 1e6 costs when a
// checkpoint is first opened (src/core/checkpoint/weightScan.ts). For each size, a safetensors
// file of that many bytes of F32 weights (8 tensors) is scanned in full and sampled (the mode
// files above MECHEDIT_WEIGHT_SCAN_FULL_MIB, default 256, get), three times each, page cache warm
// (the file was just written; the first open of a real checkpoint also hashes every byte for its
// fingerprint, which the table shows for scale). Prints a markdown table. Not a test.
//
// Usage: npx tsc -p . && node bench/weight-scan.mjs [--sizes 64,256,1024] (MiB) [--dir DIR]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { out } from './lib.mjs';

const { writeSafetensors } = out('core/checkpoint/writeSafetensors.js');
const { readSafetensorsHeader } = out('core/checkpoint/safetensors.js');
const { scanWeightFile } = out('core/checkpoint/weightScan.js');
const { sha256OfFile } = out('core/checkpoint/contentHash.js');

const { values: opt } = parseArgs({ options: { sizes: { type: 'string', default: '64,256,1024' }, dir: { type: 'string', default: os.tmpdir() } } });
const MiB = 1024 * 1024;
const sizes = opt.sizes.split(',').map((s) => Number(s) * MiB);
const root = fs.mkdtempSync(path.join(opt.dir, 'mechedit-bench-weight-scan-'));

function makeFile(bytes) {
  const file = path.join(root, `w-${bytes / MiB}.safetensors`);
  const chunk = Buffer.from(Float32Array.from({ length: 4 * MiB / 4 }, (_, i) => Math.sin(i) * 0.02).buffer);
  const per = Math.floor(bytes / 8 / 4) * 4;
  const tensors = Array.from({ length: 8 }, (_, k) => ({
    name: `layer.${k}.weight`, dtype: 'F32', shape: [per / 4],
    produce: (write) => {
      for (let done = 0; done < per; done += chunk.length) write(chunk.subarray(0, Math.min(chunk.length, per - done)));
    },
  }));
  writeSafetensors(file, tensors);
  return file;
}

function best(f, runs = 3) {
  let ms = Infinity;
  let r;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    r = f();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { r, ms };
}

const rows = [];
try {
  for (const bytes of sizes) {
    const file = makeFile(bytes);
    const tensors = [...readSafetensorsHeader(file).tensors.values()];
    process.env.MECHEDIT_WEIGHT_SCAN_FULL_MIB = String(bytes / MiB + 1);
    const full = best(() => scanWeightFile(file, tensors));
    process.env.MECHEDIT_WEIGHT_SCAN_FULL_MIB = '0';
    const sampled = best(() => scanWeightFile(file, tensors));
    const hash = best(() => sha256OfFile(file), 1);
    const mbps = (b, ms) => (b / MiB / (ms / 1000)).toFixed(0);
    rows.push(`| ${bytes / MiB} | full | ${(full.r.scannedBytes / MiB).toFixed(1)} | ${full.ms.toFixed(1)} | ${mbps(full.r.scannedBytes, full.ms)} | ${hash.ms.toFixed(1)} |`);
    rows.push(`| ${bytes / MiB} | sampled | ${(sampled.r.scannedBytes / MiB).toFixed(2)} | ${sampled.ms.toFixed(1)} | ${mbps(sampled.r.scannedBytes, sampled.ms)} | ${hash.ms.toFixed(1)} |`);
    fs.rmSync(file);
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
console.log(`weight scan, ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, page cache warm, best of 3\n`);
console.log('| file MiB | scan | MiB read | ms | MiB/s | sha256 of the file, ms (first-open fingerprint) |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
