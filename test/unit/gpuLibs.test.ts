// The GPU checklist (src/core/runtime/gpuLibs.ts) and `mechedit doctor`'s diagnosis:
//  - the ELF reader against binutils' readelf on onnxruntime-node's own libraries, and the ORT
//    version found in libonnxruntime.so.1 against onnxruntime-node's package version;
//  - a made-up machine (temporary folders for the provider folder, LD_LIBRARY_PATH, /dev and the
//    Vulkan ICD folder): each piece found or named missing, a provider of another ORT version named;
//  - this machine, which has no NVIDIA GPU: doctor names each missing piece and exits 0, and
//    `--provider cuda` exits 2 naming them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CUDA12_LIBS, CUDNN_LIB, elfNeeded, embeddedOrtVersions, gpuChecks, missingPieces, PROVIDER_CUDA, PROVIDER_SHARED } from '../../src/core/runtime/gpuLibs';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const ortDir = path.join(repo, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
const ortPkgVersion = (JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-gpulibs-'));

function readelfNeeded(file: string): string[] | undefined {
  const r = spawnSync('readelf', ['-d', file], { encoding: 'utf8' });
  if (r.error) return undefined;
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

test('elfNeeded lists what readelf lists; libonnxruntime.so.1 carries onnxruntime-node\'s version', () => {
  for (const f of ['libonnxruntime.so.1', 'onnxruntime_binding.node']) {
    const file = path.join(ortDir, f);
    const ours = elfNeeded(file);
    const reference = readelfNeeded(file);
    if (reference) assert.deepEqual(ours, reference, f);
    else {
      console.log('# readelf (binutils) is not installed: checking against the list it printed on 2026-12-07');
      assert.deepEqual(ours, f.endsWith('.node') ? ['libonnxruntime.so.1', 'libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libc.so.6'] : ['libdl.so.2', 'librt.so.1', 'libpthread.so.0', 'libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libc.so.6', 'ld-linux-x86-64.so.2']);
    }
  }
  assert.equal(elfNeeded(path.join(repo, 'package.json')), undefined, 'not an ELF file');
  assert.deepEqual(embeddedOrtVersions(path.join(ortDir, 'libonnxruntime.so.1')), [ortPkgVersion]);
});

/** A machine made of temporary folders: `have` lists what exists on it. */
function fakeMachine(name: string, have: { sharedLib?: boolean; cudaProvider?: string; libs?: string[]; dev?: string[]; icds?: string[] }) {
  const root = path.join(tmp, name);
  const bin = path.join(root, 'bin');
  const lib = path.join(root, 'lib');
  const dev = path.join(root, 'dev');
  const icd = path.join(root, 'icd.d');
  for (const d of [bin, lib, dev, icd]) fs.mkdirSync(d, { recursive: true });
  if (have.sharedLib) fs.writeFileSync(path.join(bin, PROVIDER_SHARED), 'x');
  if (have.cudaProvider) {
    // A real ELF file (onnxruntime's binding: DT_NEEDED libonnxruntime.so.1, libstdc++.so.6, …) with an ORT version string appended.
    fs.writeFileSync(path.join(bin, PROVIDER_CUDA), Buffer.concat([fs.readFileSync(path.join(ortDir, 'onnxruntime_binding.node')), Buffer.from(`\0${have.cudaProvider}\0`, 'latin1')]));
  }
  for (const l of have.libs ?? []) fs.writeFileSync(path.join(lib, l), 'x');
  for (const d of have.dev ?? []) fs.writeFileSync(path.join(dev, d), '');
  for (const f of have.icds ?? []) fs.writeFileSync(path.join(icd, f), '{}');
  return gpuChecks({ binDir: bin, ortVersion: '1.30.0', ldLibraryPath: lib, ldCache: new Map(), devDir: dev, icdDirs: [icd], env: {} });
}

test('a machine with nothing: every CUDA and WebGPU piece is named missing', () => {
  const checks = fakeMachine('bare', {});
  assert.deepEqual(missingPieces(checks, 'cuda'), [PROVIDER_SHARED, PROVIDER_CUDA, ...CUDA12_LIBS, CUDNN_LIB, path.join(tmp, 'bare', 'dev', 'nvidiactl'), path.join(tmp, 'bare', 'dev', 'nvidia0'), 'libcuda.so.1']);
  assert.deepEqual(missingPieces(checks, 'webgpu'), ['libvulkan.so.1', 'Vulkan ICD']);
  const nvidiaIcd = checks.find((c) => c.name.startsWith('NVIDIA Vulkan ICD'));
  assert.ok(nvidiaIcd && !nvidiaIcd.ok && nvidiaIcd.optional);
});

test('a complete machine: nothing is missing; the provider\'s own DT_NEEDED list replaces the cuda12 names', () => {
  const checks = fakeMachine('complete', {
    sharedLib: true, cudaProvider: '1.30.0', libs: ['libonnxruntime.so.1', CUDNN_LIB, 'libcuda.so.1', 'libvulkan.so.1'],
    dev: ['nvidiactl', 'nvidia0'], icds: ['nvidia_icd.json'],
  });
  assert.deepEqual(checks.filter((c) => !c.ok), []);
  const names = checks.map((c) => c.name);
  assert.ok(names.includes('libonnxruntime.so.1') && !names.includes('libcudart.so.12') && !names.includes('libc.so.6'), names.join(', '));
  assert.match(checks.find((c) => c.name.endsWith('ORT version'))!.detail, /^1\.30\.0/);
});

test('a provider of another ORT version, and CPU-only Vulkan drivers, are named', () => {
  const checks = fakeMachine('mismatch', { sharedLib: true, cudaProvider: '1.29.0', icds: ['lvp_icd.x86_64.json'] });
  const version = checks.find((c) => c.name === `${PROVIDER_CUDA} ORT version`)!;
  assert.equal(version.ok, false);
  assert.match(version.detail, /built for ORT 1\.29\.0, onnxruntime-node is 1\.30\.0/);
  assert.ok(missingPieces(checks, 'cuda').includes(`${PROVIDER_CUDA} ORT version`));
  assert.deepEqual(missingPieces(checks, 'webgpu'), ['libvulkan.so.1']);
  assert.match(checks.find((c) => c.name.startsWith('NVIDIA Vulkan ICD'))!.detail, /only CPU Vulkan drivers/);
  // VK_ICD_FILENAMES replaces the folder search, as the Vulkan loader does.
  const icd = path.join(tmp, 'mismatch', 'icd.d', 'lvp_icd.x86_64.json');
  const viaEnv = gpuChecks({ binDir: undefined, ortVersion: '1.30.0', ldCache: new Map(), icdDirs: [], env: { VK_ICD_FILENAMES: `${icd}:${path.join(tmp, 'absent.json')}` } });
  assert.equal(viaEnv.find((c) => c.name === 'Vulkan ICD')!.detail, icd);
});

test('mechedit doctor on this machine names each missing GPU piece; --provider cuda exits 2 naming them', { timeout: 120_000 }, () => {
  if (fs.existsSync('/dev/nvidiactl')) {
    console.log('# this machine has an NVIDIA device: the "all missing" diagnosis does not apply; the checklist is covered by the made-up machines above');
    return;
  }
  const env = { ...process.env, MECHEDIT_CACHE: path.join(tmp, 'cache'), VK_ICD_FILENAMES: path.join(tmp, 'no-such-icd.json'), LD_LIBRARY_PATH: '' };
  const r = spawnSync(process.execPath, [cliPath, 'doctor', '--size', '16', '--iterations', '2'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  for (const piece of [PROVIDER_SHARED, PROVIDER_CUDA, 'libcudart.so.12', 'libcublas.so.12', CUDNN_LIB, '/dev/nvidiactl', '/dev/nvidia0', 'libcuda.so.1', 'Vulkan ICD']) {
    assert.match(r.stdout, new RegExp(`✗ (cuda|webgpu) ${piece.replace(/[.+]/g, '\\$&')}: `), `doctor does not name ${piece} as missing`);
  }
  const json = JSON.parse(spawnSync(process.execPath, [cliPath, 'doctor', '--size', '16', '--iterations', '2', '--json'], { encoding: 'utf8', env }).stdout) as { provider: string; gpu: { name: string; ok: boolean }[] };
  assert.equal(json.provider, 'cpu');
  assert.equal(json.gpu.find((c) => c.name === PROVIDER_CUDA)?.ok, false);
  const cuda = spawnSync(process.execPath, [cliPath, 'doctor', '--provider', 'cuda'], { encoding: 'utf8', env });
  assert.equal(cuda.status, 2, cuda.stderr);
  assert.match(cuda.stderr, /Missing: libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so, libcudart\.so\.12, .*libcudnn\.so\.9, \/dev\/nvidiactl, \/dev\/nvidia0, libcuda\.so\.1\./);
});
