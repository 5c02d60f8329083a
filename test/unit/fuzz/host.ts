// Runs parser jobs in a worker thread (worker.ts) with a per-job timeout: a job that does not
// answer in time is a hang (the worker is terminated and replaced), a worker that dies is a crash
// (out of memory included: the worker's heap is capped).

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Job, Reply, Target } from './worker';

export type Outcome = Reply | { id: number; outcome: 'hang' } | { id: number; outcome: 'crash'; message: string };

export class ParserHost {
  private worker: Worker | undefined;
  private nextId = 0;

  constructor(private readonly timeoutMs: number, private readonly env: Record<string, string>) {}

  private start(): Worker {
    this.worker ??= new Worker(path.join(__dirname, 'worker.js'), { env: { ...process.env, ...this.env }, resourceLimits: { maxOldGenerationSizeMb: 512 }, stderr: false });
    return this.worker;
  }

  run(target: Target, file: string): Promise<Outcome> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<Outcome>((resolve) => {
      const done = (o: Outcome) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(o);
      };
      const drop = () => {
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
      };
      const onMessage = (r: Reply) => r.id === id && done(r);
      const onError = (e: Error) => {
        drop();
        done({ id, outcome: 'crash', message: e.message });
      };
      const onExit = (code: number) => {
        drop();
        done({ id, outcome: 'crash', message: `worker exited with ${code}` });
      };
      const timer = setTimeout(() => {
        drop();
        done({ id, outcome: 'hang' });
      }, this.timeoutMs);
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage({ id, target, path: file } satisfies Job);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
