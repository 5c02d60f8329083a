// The WebGPU execution provider on tiny models, through the SwiftShader Vulkan driver that
// Debian's chromium package ships (scripts/vscode/setup.sh installs chromium and libvulkan1).
// Compared with the PyTorch golden outputs; skipped, with the reason printed, where the driver
// is absent.

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
process.env.MECHEDIT_CACHE = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-webgpu-'));

import { resolveProvider } from '../../src/core/runtime/providers';
import { LoadedModel } from '../../src/core/runtime/model';
import { decodeTensor } from '../../src/protocol/tensor';

const repo = path.join(__dirname, '..', '..', '..');
const skip = haveDriver ? false : `no SwiftShader Vulkan driver (${ICD}) or libvulkan1: run scripts/vscode/setup.sh`;
if (skip) console.log(`# webgpu tests skipped: ${skip}`);

test('auto picks WebGPU when CUDA is absent and a Vulkan driver is present', { skip }, async () => {
  const r = await resolveProvider('auto', { threads: 1 });
  assert.equal(r.provider, 'webgpu');
  assert.equal(r.probes[0].provider, 'cuda');
  assert.equal(r.probes[0].ok, false);
});

for (const name of ['gpt2-tiny', 'llama-gqa']) {
  test(`${name} on WebGPU matches the PyTorch reference`, { skip, timeout: 120_000 }, async () => {
    const golden = JSON.parse(fs.readFileSync(path.join(repo, 'test', 'fixtures', 'golden', `${name}.json`), 'utf8'));
    const c = golden.cases.find((x: { name: string }) => x.name === 'len9');
    const model = LoadedModel.open(path.join(repo, golden.model_dir), { provider: 'webgpu', threads: 1 });
    try {
      const ids: number[] = c.ids[0];
      const out = await model.run({ logits: 'all' }, model.makeBatch([ids]));
      const logits = out.logits.data as Float32Array;
      const width = out.logits.dims[2];
      const vocab = model.dims.vocab;
      const ref = decodeTensor({ dtype: 'float32', dims: c.logprobs.dims, data: c.logprobs.data }).values as Float32Array;
      let worst = 0;
      let argmaxAgree = 0;
      for (let p = 0; p < ids.length; p++) {
        let best = 0;
        let refBest = 0;
        for (let v = 1; v < vocab; v++) {
          if (logits[p * width + v] > logits[p * width + best]) best = v;
          if (ref[p * vocab + v] > ref[p * vocab + refBest]) refBest = v;
        }
        if (best === refBest) argmaxAgree++;
        let max = -Infinity;
        for (let v = 0; v < vocab; v++) max = Math.max(max, logits[p * width + v]);
        let sum = 0;
        for (let v = 0; v < vocab; v++) sum += Math.exp(logits[p * width + v] - max);
        const lse = max + Math.log(sum);
        for (let v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(logits[p * width + v] - lse - ref[p * vocab + v]));
      }
      // WebGPU shaders (here SwiftShader's) evaluate exp/sin/cos less exactly than the CPU: ~1e-3
      // on log-probs of O(1), against ~1e-6 on the CPU provider.
      assert.ok(worst < 5e-3, `WebGPU log-probs differ from PyTorch by ${worst}`);
      assert.equal(argmaxAgree, ids.length, 'the most likely token differs at some position');
      console.log(`# ${name} on WebGPU: max |Δ log-prob| vs PyTorch = ${worst.toExponential(2)}`);
    } finally {
      await model.release();
    }
  });
}
