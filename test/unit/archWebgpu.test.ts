// The new architectures (docs/models.md) on the WebGPU execution provider through Debian
// chromium's SwiftShader Vulkan driver, against the PyTorch goldens on the 20-token prompt (past
// every sliding window). Skipped, with the reason printed, where the driver is absent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const haveDriver = fs.existsSync(ICD) && fs.existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1');
if (haveDriver) {
  // Before ORT (and Dawn inside it) loads.
  process.env.VK_ICD_FILENAMES = ICD;
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
}
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-arch-webgpu-'));

import { LoadedModel } from '../../src/core/runtime/model';
import { decodeTensor } from '../../src/protocol/tensor';

const repo = path.join(__dirname, '..', '..', '..');
const skip = haveDriver ? false : `no SwiftShader Vulkan driver (${ICD}) or libvulkan1: run scripts/vscode/setup.sh`;
if (skip) console.log(`# arch webgpu tests skipped: ${skip}`);

for (const name of ['qwen3-tiny', 'gemma2-tiny', 'gemma3-tiny', 'smollm3-tiny', 'olmo2-tiny', 'phi3-tiny']) {
  test(`${name} on WebGPU matches the PyTorch reference past its sliding window`, { skip, timeout: 120_000 }, async () => {
    const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', `${name}.json`), 'utf8'));
    const c = golden.cases.find((x: { name: string }) => x.name === 'len20');
    const model = LoadedModel.open(path.join(repo, golden.model_dir), { provider: 'webgpu', threads: 1 });
    try {
      const ids: number[] = c.ids[0];
      const out = await model.run({ logits: 'all' }, model.makeBatch([ids]));
      const logits = out.logits.data as Float32Array;
      const width = out.logits.dims[2];
      const vocab = model.dims.vocab;
      const ref = decodeTensor({ dtype: 'float32', dims: c.logprobs.dims, data: c.logprobs.data }).values as Float32Array;
      let worst = 0;
      let worstRel = 0;
      let agree = 0;
      for (let p = 0; p < ids.length; p++) {
        let best = 0;
        let refBest = 0;
        let max = -Infinity;
        for (let v = 0; v < vocab; v++) {
          max = Math.max(max, logits[p * width + v]);
          if (logits[p * width + v] > logits[p * width + best]) best = v;
          if (ref[p * vocab + v] > ref[p * vocab + refBest]) refBest = v;
        }
        if (best === refBest) agree++;
        let sum = 0;
        for (let v = 0; v < vocab; v++) sum += Math.exp(logits[p * width + v] - max);
        const lse = max + Math.log(sum);
        for (let v = 0; v < vocab; v++) {
          const d = Math.abs(logits[p * width + v] - lse - ref[p * vocab + v]);
          worst = Math.max(worst, d);
          worstRel = Math.max(worstRel, d / Math.max(1, Math.abs(ref[p * vocab + v])));
        }
      }
      // SwiftShader's shader math is looser than the CPU's and its error accumulates over layers:
      // on this 20-token prompt llama-gqa measures 3.3e-3 and smollm3-tiny 7.9e-3 (its taps: 5e-4
      // at layer 0's attention output, growing to 5.4e-3 at layer 3's residual, no jump at its
      // no-RoPE layer); webgpu.test.ts's 5e-3 holds on its 9-token prompt. The bound here, 1e-2, is
      // set after those measurements: it separates float noise from a wrong window or cap, which
      // move these log-probs by 1.9 to 6.3 (docs/models.md).
      assert.ok(worst < 1e-2, `WebGPU log-probs differ from PyTorch by ${worst} (relative ${worstRel})`);
      assert.equal(agree, ids.length, 'the most likely token differs at some position');
      console.log(`# ${name} on WebGPU: max |Δ log-prob| vs PyTorch = ${worst.toExponential(2)} (relative ${worstRel.toExponential(2)})`);
    } finally {
      await model.release();
    }
  });
}
