// The fuzz test's parser host: a worker thread that runs one parser on one input per message and
// answers with what happened. It runs in a worker so that a hang can be cut off (the worker is
// terminated) and an out-of-memory stays in the worker (resourceLimits), not in the test.
//
//   in:  { id, target, path }    target: 'checkpoint' | 'tokenizer' | 'edit' | 'npy' | 'gate:<kind>/<reader>'
//   out: { id, outcome: 'ok' } | { id, outcome: 'error', mechedit, code?, file?, field?, message, stack? }

import { isMainThread, parentPort } from 'node:worker_threads';
import { openCheckpoint } from '../../../src/core/checkpoint/checkpoint';
import { planModel } from '../../../src/core/models/model';
import { TextTokenizer } from '../../../src/core/tokenizer';
import { readEdit } from '../../../src/core/edits/editFile';
import { readVectors } from '../../../src/core/edits/importVectors';
import { MechEditError } from '../../../src/core/errors';
import { gateReader } from './gateReaders';

/** A parser of the original five, or `gate:<kind>/<reader>` (gateReaders.ts). */
export type Target = 'checkpoint' | 'tokenizer' | 'edit' | 'npy' | `gate:${string}`;
export interface Job { id: number; target: Target; path: string }
export type Reply = { id: number; outcome: 'ok' } | { id: number; outcome: 'error'; mechedit: boolean; code?: string; file?: string; field?: string; message: string; stack?: string };

function run(target: Target, p: string): void {
  if (target.startsWith('gate:')) {
    gateReader(target.slice(5)).read(p);
  } else if (target === 'checkpoint') {
    planModel(openCheckpoint(p));
  } else if (target === 'tokenizer') {
    const tok = TextTokenizer.fromCheckpoint(openCheckpoint(p));
    const ids = tok.encode('The cat sat on the mat. Zürich 東京');
    tok.decode(ids);
    tok.tokens('the end');
    ids.forEach((id) => tok.tokenText(id));
  } else if (target === 'edit') {
    readEdit(p);
  } else {
    readVectors(p, 'u');
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (job: Job) => {
    let reply: Reply;
    try {
      run(job.target, job.path);
      reply = { id: job.id, outcome: 'ok' };
    } catch (e) {
      reply = e instanceof MechEditError
        ? { id: job.id, outcome: 'error', mechedit: true, code: e.data.code, file: e.data.file, field: e.data.field, message: e.message }
        : { id: job.id, outcome: 'error', mechedit: false, message: String((e as Error)?.message ?? e), stack: (e as Error)?.stack };
    }
    port.postMessage(reply);
  });
}
