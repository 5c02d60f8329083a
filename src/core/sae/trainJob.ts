// `sae train` as a job for every front end: corpus → activations at the hook → trainSae →
// SAELens-format folder (cfg.json records how it was trained).

import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model';
import { badInput } from '../errors';
import { jsonHas, refuseForeignFolder, refuseInsideCheckpoint } from '../outputs';
import { defaultCorpus } from '../edits/stats';
import { corpusRows, hookActivations, HELD_OUT_EVERY } from './activations';
import { hookString, hookWidth, parseHook, type SaeArchitecture } from './sae';
import { CFG_FILE, saveSae } from './saeFile';
import { trainSae, type TrainProgress, type TrainSaeOptions } from './train';

export interface SaeTrainInput {
  hook: string;
  architecture?: SaeArchitecture;
  width?: number;
  k?: number;
  corpus?: string[];
  /** Training tokens at most (default 200 000). */
  tokens?: number;
  lr?: number;
  batch?: number;
  maxEpochs?: number;
  seed?: number;
  out: string;
}

export const SAE_TRAIN_DEFAULTS = { architecture: 'topk' as SaeArchitecture, width: 4096, k: 32, tokens: 200_000, lr: 1e-3, batch: 1024, maxEpochs: 10, seed: 0 };

/** Refuses an --out that lies in the checkpoint or is a non-empty folder MechEdit did not write. */
export function checkSaeOut(out: string, model: LoadedModel): void {
  refuseInsideCheckpoint(out, model.checkpoint, '--out');
  refuseForeignFolder(out, CFG_FILE, (f) => jsonHas(f, 'mechedit_fingerprint'), 'an SAE folder MechEdit wrote');
}

export async function runSaeTrain(model: LoadedModel, input: SaeTrainInput, hooks: { onProgress?: (p: TrainProgress) => void; onPhase?: (m: string) => void; isCancelled?: () => boolean } = {}) {
  const o = { ...SAE_TRAIN_DEFAULTS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as typeof SAE_TRAIN_DEFAULTS & SaeTrainInput;
  if (o.architecture !== 'topk' && o.architecture !== 'jumprelu') throw badInput(`architecture must be topk or jumprelu, got ${JSON.stringify(o.architecture)}`, { field: 'architecture' });
  const hook = parseHook(o.hook, model.dims.layers);
  if (o.k < 1 || o.k > o.width) throw badInput(`k must be from 1 to the width (${o.width}), got ${o.k}`, { field: 'k' });
  checkSaeOut(o.out, model);
  const corpus = o.corpus ?? defaultCorpus(model);
  const rows = corpusRows(model, corpus, 'train', o.tokens);
  hooks.onPhase?.(`reading ${hookString(hook)} on ${rows.tokens} tokens (${rows.rows.length} documents)`);
  const act = await hookActivations(model.bare(), hook, rows.rows, { isCancelled: hooks.isCancelled });
  const dIn = hookWidth(hook.tap, model.dims);
  const trainOpts: TrainSaeOptions = { architecture: o.architecture, width: o.width, k: o.k, lr: o.lr, batch: o.batch, maxEpochs: o.maxEpochs, seed: o.seed, threads: model.options.threads, onProgress: hooks.onProgress, isCancelled: hooks.isCancelled };
  const r = await trainSae(act.x, dIn, hook, trainOpts);
  const last = r.history[r.history.length - 1];
  const dir = saveSae(o.out, r.sae, {
    model_name: path.basename(model.checkpoint.dir),
    mechedit_fingerprint: model.checkpoint.fingerprint,
    mechedit_training: {
      corpus: corpus.map((f) => path.resolve(f)), heldOut: `every ${HELD_OUT_EVERY}th document (index % ${HELD_OUT_EVERY} = ${HELD_OUT_EVERY - 1}) is never trained on`,
      tokens: rows.tokens, documents: rows.rows.length, lr: o.lr, batch: o.batch, steps: r.steps, epochs: r.epochs, stoppedEarly: r.stoppedEarly,
      activationScale: r.scale, seed: o.seed, seconds: Math.round(r.seconds), validation: last,
      ...(o.architecture === 'jumprelu' ? { targetL0: o.k, bandwidth: 0.001 } : { auxK: 'AuxK (k_aux = d_in/2, coefficient 1/32)' }),
    },
  });
  return { dir, hook: hookString(hook), architecture: o.architecture, dIn, dSae: o.width, k: o.k, tokens: rows.tokens, steps: r.steps, epochs: r.epochs, stoppedEarly: r.stoppedEarly, seconds: r.seconds, validation: last };
}
