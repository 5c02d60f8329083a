// What the GPU providers need on this machine, piece by piece, found without loading any native
// code (so a missing piece is named instead of ORT's "Failed to load shared library"):
//   CUDA:   libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so next to
//           onnxruntime-node, the provider of the same ORT version (ORT refuses another), the
//           CUDA / cuDNN libraries the provider needs (its ELF DT_NEEDED entries, plus cuDNN 9 which
//           it opens at run time) resolvable by the dynamic loader, and the NVIDIA driver
//           (/dev/nvidiactl, /dev/nvidia0, libcuda.so.1).
//   WebGPU: libvulkan.so.1 and a Vulkan ICD (driver manifest); an NVIDIA one for a real GPU.
// docs/gpu.md says how to get each piece.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type GpuPiece = 'cuda' | 'webgpu';

export interface GpuCheck {
  /** Which provider needs it. */
  for: GpuPiece;
  /** The piece, by the name a user searches for (a file name, a device, a driver). */
  name: string;
  ok: boolean;
  /** Where it was found, or what is wrong. */
  detail: string;
  /** Not needed for the provider to open (the NVIDIA Vulkan ICD: WebGPU also runs on CPU Vulkan drivers). */
  optional?: boolean;
}

/** Where the checks look; every field has a default for this machine (tests pass their own). */
export interface GpuEnv {
  /** onnxruntime-node's native folder (ortBinaryDir()); undefined when it is missing. */
  binDir?: string;
  /** onnxruntime-node's version (the provider must be built for the same). */
  ortVersion: string;
  ldLibraryPath?: string;
  /** Library name → path, as `ldconfig -p` lists the loader's cache. */
  ldCache?: Map<string, string>;
  devDir?: string;
  icdDirs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Skips reading the provider's ORT version (a scan of a ~250 MB file). */
  quick?: boolean;
}

export const PROVIDER_SHARED = 'libonnxruntime_providers_shared.so';
export const PROVIDER_CUDA = 'libonnxruntime_providers_cuda.so';
/**
 * The CUDA libraries of onnxruntime-node 1.30.0's CUDA build (its installer's manifest names it
 * `cuda12`): used while the provider is absent; once present, its own DT_NEEDED list is read.
 */
export const CUDA12_LIBS = ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcurand.so.10', 'libcufft.so.11'];
/** cuDNN 9: not a DT_NEEDED entry of recent providers (opened at run time), but required. */
export const CUDNN_LIB = 'libcudnn.so.9';
const SYSTEM_LIBS = /^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux[-\w]*)\.so/;
const DEFAULT_ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const DEFAULT_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib', '/usr/local/lib'];

/** Every piece of both providers, in the order a user installs them. */
export function gpuChecks(env: GpuEnv): GpuCheck[] {
  return [...cudaChecks(env), ...webgpuChecks(env)];
}

/** The names of the pieces that are missing or wrong, for one provider (for error messages). */
export function missingPieces(checks: GpuCheck[], piece: GpuPiece): string[] {
  return checks.filter((c) => c.for === piece && !c.ok && !c.optional).map((c) => c.name);
}

function cudaChecks(e: GpuEnv): GpuCheck[] {
  const checks: GpuCheck[] = [];
  const bin = e.binDir;
  const add = (name: string, ok: boolean, detail: string) => checks.push({ for: 'cuda', name, ok, detail });
  const shared = bin ? path.join(bin, PROVIDER_SHARED) : undefined;
  add(PROVIDER_SHARED, !!shared && fs.existsSync(shared), shared && fs.existsSync(shared) ? shared : `not in ${bin ?? 'onnxruntime-node (not installed)'}`);
  const cuda = bin ? path.join(bin, PROVIDER_CUDA) : undefined;
  const hasCuda = !!cuda && fs.existsSync(cuda);
  add(PROVIDER_CUDA, hasCuda, hasCuda ? cuda : `not in ${bin ?? 'onnxruntime-node (not installed)'}`);
  if (hasCuda && !e.quick) {
    const found = embeddedOrtVersions(cuda);
    const ok = found.includes(e.ortVersion);
    add(`${PROVIDER_CUDA} ORT version`, ok, ok ? `${e.ortVersion}, as onnxruntime-node` : `built for ORT ${found.join(' / ') || '(unknown)'}, onnxruntime-node is ${e.ortVersion}: ORT refuses a provider of another version`);
  }
  const needed = hasCuda ? (elfNeeded(cuda) ?? CUDA12_LIBS).filter((l) => !SYSTEM_LIBS.test(l) && l !== 'libcuda.so.1') : CUDA12_LIBS;
  const dirs = loaderDirs(e);
  for (const lib of [...needed, CUDNN_LIB]) {
    if (lib === PROVIDER_SHARED) continue;
    const at = resolveLibrary(lib, dirs, e, bin);
    add(lib, !!at, at ?? `not found by the dynamic loader (LD_LIBRARY_PATH, ldconfig cache)${hasCuda ? '' : '; the name is the cuda12 build\'s, read from the provider once it is installed'}`);
  }
  const dev = e.devDir ?? '/dev';
  for (const node of ['nvidiactl', 'nvidia0']) {
    const p = path.join(dev, node);
    add(p, fs.existsSync(p), fs.existsSync(p) ? 'present' : 'no NVIDIA device node: no NVIDIA GPU, or its driver is not loaded (in a container: the GPU is not passed in)');
  }
  const libcuda = resolveLibrary('libcuda.so.1', dirs, e);
  add('libcuda.so.1', !!libcuda, libcuda ?? 'the NVIDIA driver\'s user-space library is not installed');
  return checks;
}

function webgpuChecks(e: GpuEnv): GpuCheck[] {
  const checks: GpuCheck[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ for: 'webgpu', name, ok, detail });
  const vulkan = resolveLibrary('libvulkan.so.1', loaderDirs(e), e);
  add('libvulkan.so.1', !!vulkan, vulkan ?? 'the Vulkan loader is not installed (Debian: apt-get install libvulkan1)');
  const icds = vulkanIcds(e);
  const nvidia = icds.filter((f) => /nvidia/i.test(path.basename(f)));
  const cpuOnly = icds.length > 0 && icds.every((f) => /lvp|swiftshader/i.test(path.basename(f)));
  add('Vulkan ICD', icds.length > 0, icds.length ? icds.join(', ') : 'no Vulkan driver manifest (icd.d/*.json, VK_ICD_FILENAMES): WebGPU finds no adapter');
  checks.push({
    for: 'webgpu', name: 'NVIDIA Vulkan ICD (nvidia_icd.json)', ok: nvidia.length > 0, optional: true,
    detail: nvidia.length ? nvidia.join(', ') : cpuOnly ? 'only CPU Vulkan drivers (lavapipe / SwiftShader): WebGPU runs, but on the CPU' : 'none: the NVIDIA driver\'s Vulkan part is not installed',
  });
  return checks;
}

/** LD_LIBRARY_PATH's folders (searched first by the loader). */
function loaderDirs(e: GpuEnv): string[] {
  return (e.ldLibraryPath ?? (e.env ?? process.env).LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
}

/** Where the dynamic loader would find `name`: LD_LIBRARY_PATH, the library's $ORIGIN, ldconfig's cache, the system folders. */
export function resolveLibrary(name: string, ldDirs: string[], e: GpuEnv, origin?: string): string | undefined {
  const inDir = (dirs: (string | undefined)[]) => dirs.map((d) => d && path.join(d, name)).find((f) => f && fs.existsSync(f));
  return inDir([...ldDirs, origin]) ?? (e.ldCache ?? ldconfigCache()).get(name) ?? (e.ldCache ? undefined : inDir(DEFAULT_LIB_DIRS));
}

let cachedLd: Map<string, string> | undefined;

/** `ldconfig -p` as name → path (empty when ldconfig is missing). */
export function ldconfigCache(): Map<string, string> {
  if (cachedLd) return cachedLd;
  const map = new Map<string, string>();
  for (const exe of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const out = execFileSync(exe, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
      for (const m of out.matchAll(/^\s*(\S+) \(([^)]*)\) => (\S+)$/gm)) if (!m[2].includes('32') || m[2].includes('x86-64')) map.set(m[1], m[3]);
      break;
    } catch {
      // try the next location
    }
  }
  cachedLd = map;
  return map;
}

/** Vulkan driver manifests: VK_ICD_FILENAMES / VK_DRIVER_FILES when set (they replace the search), else the icd.d folders. */
function vulkanIcds(e: GpuEnv): string[] {
  const env = e.env ?? process.env;
  const listed = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  if (listed) return listed.split(':').filter((f) => f && fs.existsSync(f));
  const out: string[] = [];
  for (const d of e.icdDirs ?? DEFAULT_ICD_DIRS) {
    try {
      for (const f of fs.readdirSync(d).sort()) if (f.endsWith('.json')) out.push(path.join(d, f));
    } catch {
      // folder absent
    }
  }
  return out;
}

/**
 * ORT version strings (`1.NN.N` between NUL bytes) in a native library: ORT compiles its version
 * into each provider and refuses a provider whose version differs from its own.
 */
export function embeddedOrtVersions(file: string): string[] {
  const found = new Set<string>();
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(8 << 20);
    const overlap = 16;
    for (let pos = 0; ;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
      if (n <= 0) break;
      for (const m of chunk.toString('latin1', 0, n).matchAll(/\0(1\.\d{2}\.\d{1,2})\0/g)) found.add(m[1]);
      if (n < chunk.length) break;
      pos += n - overlap;
    }
  } finally {
    fs.closeSync(fd);
  }
  return [...found].sort();
}

/**
 * The DT_NEEDED entries of a 64-bit little-endian ELF shared library (what `readelf -d` lists as
 * NEEDED), read from its program headers; undefined for anything else. Reads only the headers and
 * the dynamic string table, not the whole file.
 */
export function elfNeeded(file: string): string[] | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const read = (pos: number, len: number) => {
      const b = Buffer.alloc(len);
      fs.readSync(fd, b, 0, len, pos);
      return b;
    };
    const h = read(0, 64);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return undefined;
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const ph = read(phoff, phentsize * phnum);
    const loads: { vaddr: number; offset: number; size: number }[] = [];
    let dyn: { offset: number; size: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      const offset = Number(ph.readBigUInt64LE(o + 8));
      const vaddr = Number(ph.readBigUInt64LE(o + 16));
      const filesz = Number(ph.readBigUInt64LE(o + 32));
      if (type === 1) loads.push({ vaddr, offset, size: filesz });
      if (type === 2) dyn = { offset, size: filesz };
    }
    if (!dyn) return [];
    const d = read(dyn.offset, dyn.size);
    const needed: number[] = [];
    let strtab: number | undefined;
    for (let o = 0; o + 16 <= d.length; o += 16) {
      const tag = Number(d.readBigInt64LE(o));
      const val = Number(d.readBigUInt64LE(o + 8));
      if (tag === 0) break;
      if (tag === 1) needed.push(val);
      if (tag === 5) strtab = val;
    }
    const seg = loads.find((s) => strtab !== undefined && strtab >= s.vaddr && strtab < s.vaddr + s.size);
    if (strtab === undefined || !seg) return undefined;
    const base = strtab - seg.vaddr + seg.offset;
    return needed.map((off) => {
      const b = read(base + off, 256);
      return b.toString('latin1', 0, b.indexOf(0) < 0 ? 256 : b.indexOf(0));
    });
  } finally {
    fs.closeSync(fd);
  }
}
