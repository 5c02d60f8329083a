// The engine process through the same client the extension uses (no VS Code needed):
// start, typed requests, progress, cancellation, bad input, crash while a request is pending,
// and restart on the next request.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { EngineClient, EngineError } from '../../src/extension/engine/client';
import { decodeTensor } from '../../src/protocol/tensor';
import { RegistryCache } from '../../src/extension/engine/registry';
import { describeRegistry } from '../../src/core/registry';

const enginePath = path.join(__dirname, '..', '..', 'src', 'engine', 'main.js');

describe('engine client', () => {
  const log: string[] = [];
  const client = new EngineClient({ enginePath, config: { executionProvider: 'auto', threads: 1 }, log: (l) => log.push(l) });
  after(() => client.dispose());

  test('starts on the first request and reports ORT with telemetry off', async () => {
    const info = await client.request('engine/info', {});
    assert.equal(client.state, 'running');
    assert.equal(info.pid, client.pid);
    assert.notEqual(info.pid, process.pid, 'ORT must run in its own process');
    assert.equal(info.ortVersion, '1.30.0');
    assert.ok(info.ortBackends.includes('cpu'));
    assert.equal(info.telemetryDisabled, true);
  });

  test('self-test runs the probe graph on the resolved provider with progress', async () => {
    const seen: number[] = [];
    const r = await client.request('engine/selfTest', { size: 64, iterations: 5 }, { onProgress: (p) => seen.push(p.done) });
    assert.equal(r.provider, 'cpu'); // no GPU on this machine: auto falls back, with reasons
    assert.deepEqual(r.probes.map((p) => p.provider), ['cuda', 'webgpu', 'cpu']);
    assert.ok(r.probes.filter((p) => !p.ok).every((p) => p.reason && p.reason.length > 20));
    assert.equal(r.runMs.length, 5);
    assert.ok(r.maxAbsError < 1e-4, `max error ${r.maxAbsError}`);
    const out = decodeTensor(r.output);
    assert.deepEqual(out.dims, [64, 64]);
    assert.ok(out.values instanceof Float32Array);
    assert.equal(seen.at(-1), 5);
  });

  test('bad input is an error naming the field, and the engine stays alive', async () => {
    const pid = client.pid;
    await assert.rejects(client.request('engine/selfTest', { size: -3 }), (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.data.code, 'bad-input');
      assert.equal(e.data.field, 'size');
      return true;
    });
    await assert.rejects(client.configure({ executionProvider: 'tpu' as never, threads: 1 }), (e: EngineError) => e.data.field === 'mechedit.executionProvider');
    await client.configure({ executionProvider: 'auto', threads: 1 });
    assert.equal((await client.request('engine/info', {})).pid, pid);
  });

  test('an explicit provider that is missing says why and how to get it', async () => {
    await client.configure({ executionProvider: 'cuda', threads: 1 });
    await assert.rejects(client.request('engine/selfTest', { size: 8, iterations: 1 }), (e: EngineError) => {
      assert.equal(e.data.code, 'unavailable');
      assert.match(e.data.message, /libonnxruntime_providers_cuda|CUDA/);
      assert.match(e.data.message, /LD_LIBRARY_PATH/);
      return true;
    });
    await client.configure({ executionProvider: 'auto', threads: 1 });
  });

  test('cancellation stops a long request with a cancelled error', async () => {
    const cts = new CancellationTokenSource();
    const pending = client.request('engine/selfTest', { size: 128, iterations: 100_000 }, {
      token: cts.token,
      onProgress: (p) => { if (p.done >= 3) cts.cancel(); },
    });
    await assert.rejects(pending, (e: EngineError) => e.data.code === 'cancelled');
    assert.equal(client.state, 'running');
  });

  test('killing the engine during a request rejects it naming the crash; the next request restarts it', async () => {
    const oldPid = client.pid!;
    const states: string[] = [];
    const sub = client.onStateChange((s) => states.push(s));
    let killed = false;
    const pending = client.request('engine/selfTest', { size: 128, iterations: 100_000 }, {
      onProgress: () => {
        if (!killed) process.kill(oldPid, 'SIGKILL');
        killed = true;
      },
    });
    await assert.rejects(pending, (e: EngineError) => {
      assert.equal(e.data.code, 'crashed');
      assert.match(e.data.message, /crashed \(killed by signal SIGKILL\)/);
      return true;
    });
    assert.equal(client.state, 'crashed');
    assert.match(client.lastCrash ?? '', /SIGKILL/);
    const info = await client.request('engine/info', {});
    assert.notEqual(info.pid, oldPid);
    assert.equal(client.restarts, 1);
    assert.deepEqual(states, ['crashed', 'starting', 'running']);
    sub.dispose();
  });

  test('a request that outlives its timeout is rejected and cancelled', async () => {
    await assert.rejects(
      client.request('engine/selfTest', { size: 128, iterations: 100_000 }, { timeoutMs: 300 }),
      (e: EngineError) => e.data.code === 'timeout',
    );
    assert.equal((await client.request('engine/info', {})).pid, client.pid);
  });

  test('an engine that cannot start reports why', async () => {
    const broken = new EngineClient({ enginePath: path.join(__dirname, 'no-such-engine.js'), config: { executionProvider: 'cpu', threads: 1 } });
    await assert.rejects(broken.request('engine/info', {}), (e: EngineError) => {
      assert.equal(e.data.code, 'crashed');
      assert.match(e.data.message, /exit code 1.*Cannot find module/);
      return true;
    });
    broken.dispose();
  });

  test('the registry cache holds what core describes, and fetches it again when the engine restarts', async () => {
    const cache = new RegistryCache(client);
    const seen: number[] = [];
    const sub = cache.onDidChange((r) => seen.push(r.methods.length));
    try {
      const r = await cache.get();
      assert.deepEqual(r, JSON.parse(JSON.stringify(describeRegistry())), 'the engine answers core\'s registry');
      assert.equal(await cache.get(), r, 'a second get() is the cached description');
      assert.equal(cache.fetches, 1);
      await client.restart();
      for (let i = 0; i < 100 && cache.fetches < 2; i++) await new Promise((res) => setTimeout(res, 50));
      assert.equal(cache.fetches, 2, 'fetched again after the restart');
      assert.deepEqual(seen, [r.methods.length, r.methods.length]);
    } finally {
      sub.dispose();
      cache.dispose();
    }
  });
});
