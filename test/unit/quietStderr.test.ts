// Every CLI command, with the default provider setting (auto), keeps native libraries' warnings
// off stderr. The probe of CUDA and WebGPU runs in a child process (src/core/runtime/providers.ts);
// what it logged is quoted in `mechedit info` / `mechedit doctor` instead.
//
// VK_ICD_FILENAMES names a driver file that does not exist, so that on any machine with the
// Vulkan loader, Dawn finds no adapter and logs the warnings this test keeps out ("vkCreateInstance:
// Found no drivers!", a "at CheckVkSuccessImpl (…VulkanError.cpp:106)" frame).
// By design, MechEdit's own notes may go to stderr (stdout stays one JSON document); every such
// line starts with "mechedit".

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const repo = path.join(__dirname, '..', '..', '..');
const cliPath = path.join(repo, 'out', 'src', 'cli', 'main.js');
const model = path.join(repo, 'test', 'fixtures', 'models', 'gpt2-tiny');
const corpus = path.join(repo, 'models', 'default', 'corpus.txt');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mechedit-quiet-'));
const baseEnv: NodeJS.ProcessEnv = { ...process.env, VK_ICD_FILENAMES: path.join(tmp, 'no-such-icd.json') };
delete baseEnv.VK_DRIVER_FILES;
delete baseEnv.MECHEDIT_CACHE;

/** Runs one command with a cache of its own (so that each one probes the providers itself). */
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...baseEnv, MECHEDIT_CACHE: fs.mkdtempSync(path.join(tmp, 'cache-')) };
  const r = spawnSync(process.execPath, [cliPath, ...args, '--json'], { encoding: 'utf8', env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const commands: [string, string[]][] = [
  ['doctor', ['doctor', '--size', '16', '--iterations', '2']],
  ['info', ['info', '--model', model]],
  ['tokenize', ['tokenize', '--model', model, '--text', 'The cat sat']],
  ['predict', ['predict', '--model', model, '--prompt', 'The cat sat', '--top', '3']],
  ['score', ['score', '--model', model, '--prompt', 'The cat sat', '--answer', 'on']],
  ['trace', ['trace', '--model', model, '--prompt', 'The cat sat']],
  ['causal-trace', ['causal-trace', '--model', model, '--prompt', 'The cat sat on the', '--subject', 'cat', '--samples', '2']],
  ['generate', ['generate', '--model', model, '--prompt', 'The cat', '--max-tokens', '3']],
  ['stats', ['stats', '--model', model, '--layer', '0', '--corpus', corpus, '--samples', '64']],
  ['edit rome', ['edit', 'rome', '--model', model, '--subject', 'cat', '--prompt', 'The {} sat on the', '--target', 'mat', '--steps', '3', '--samples', '64', '--corpus', corpus, '--force', '--out', path.join(tmp, 'edits')]],
  ['evoke', ['evoke', '--default', '--data', path.join(repo, 'models', 'default', 'eval', 'evoke.json'), '--method', 'none', '--limit', '2', '--out', path.join(tmp, 'evoke')]],
  ['ort', ['ort', '--default', '--target', path.join(repo, 'models', 'default', 'eval', 'ort', '1_Veltrazine'), '--out', path.join(tmp, 'ort')]],
];

for (const [name, args] of commands) {
  test(`${name}: stderr holds no native warnings with --provider auto`, { timeout: 180_000 }, () => {
    const r = cli(args);
    assert.equal(r.status, 0, r.stderr);
    const foreign = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('mechedit'));
    assert.deepEqual(foreign, [], `stderr of ${name} has lines that are not MechEdit's own`);
    assert.doesNotMatch(r.stderr, /vulkan|dawn|vkCreateInstance|\.cpp:\d+/i);
    JSON.parse(r.stdout);
  });
}

test('info and doctor say which provider runs, and why each other one does not', { timeout: 120_000 }, () => {
  const info = JSON.parse(cli(['info', '--model', model]).stdout) as { executionProvider: string; providers: { provider: string; ok: boolean; skipped?: boolean; reason?: string }[] };
  assert.deepEqual(info.providers.map((p) => p.provider), ['cuda', 'webgpu', 'cpu'], 'every provider, in the auto order');
  const runs = info.providers.find((p) => p.ok);
  assert.equal(runs?.provider, info.executionProvider);
  for (const p of info.providers.filter((x) => !x.ok)) assert.ok(p.reason && p.reason.length > 10, `${p.provider} has no reason`);
  const webgpu = info.providers.find((p) => p.provider === 'webgpu')!;
  assert.equal(webgpu.ok, false, 'no Vulkan driver: WebGPU cannot work');
  if (fs.existsSync('/usr/lib/x86_64-linux-gnu/libvulkan.so.1')) {
    // The warnings kept off stderr are quoted in the reason instead.
    assert.match(webgpu.reason!, /native log: .*Found no drivers/);
    assert.doesNotMatch(webgpu.reason!, /CheckVkSuccessImpl|onnxruntime_src/, 'no source locations');
  }

  const doctor = JSON.parse(cli(['doctor', '--provider', 'cpu', '--size', '8', '--iterations', '1']).stdout) as { provider: string; probes: { provider: string; ok: boolean; skipped?: boolean; reason?: string }[]; probeMs: number };
  assert.equal(doctor.provider, 'cpu');
  assert.deepEqual(doctor.probes.map((p) => [p.provider, p.ok, !!p.skipped]), [['cuda', false, true], ['webgpu', false, true], ['cpu', true, false]]);
  assert.match(doctor.probes[0].reason!, /Not tried: the setting asks for cpu/);
  assert.ok(doctor.probeMs >= 0);
});

test('the probe outcomes are cached per machine and reused by the next command', { timeout: 120_000 }, async () => {
  const cache = fs.mkdtempSync(path.join(tmp, 'shared-'));
  const env = { ...baseEnv, MECHEDIT_CACHE: cache };
  const first = spawnSync(process.execPath, [cliPath, 'doctor', '--size', '8', '--iterations', '1', '--json'], { encoding: 'utf8', env });
  assert.equal(first.status, 0, first.stderr);
  const file = JSON.parse(fs.readFileSync(path.join(cache, 'providers.json'), 'utf8')) as Record<string, { at: number; outcomes: { provider: string; ok: boolean; error?: string }[] }>;
  const entries = Object.values(file);
  assert.equal(entries.length, 1);
  assert.ok(entries[0].outcomes.length >= 1 && Date.now() - entries[0].at < 60_000);
  // Change the cached outcome: a command within the validity period reports it as cached.
  const first0 = entries[0].outcomes[0];
  first0.ok = false;
  first0.error = 'cached outcome';
  fs.writeFileSync(path.join(cache, 'providers.json'), JSON.stringify(file));
  const info = spawnSync(process.execPath, [cliPath, 'info', '--model', model, '--json'], { encoding: 'utf8', env });
  assert.equal(info.status, 0, info.stderr);
  const providers = (JSON.parse(info.stdout) as { providers: { provider: string; reason?: string }[] }).providers;
  assert.match(providers.find((p) => p.provider === first0.provider)!.reason!, /^cached outcome/);
});
