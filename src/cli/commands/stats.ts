// `mechedit stats`: key statistics of an MLP output projection (cached).

import { createHash } from 'node:crypto';
import { badInput } from '../../core/errors';
import { defaultCorpus, keyStats } from '../../core/edits/stats';
import { intOption, modelHelp, modelOptions, openModel, type Command } from '../common';

export const stats: Command = {
  summary: 'key statistics C = E[k kᵀ] of the MLP output-projection inputs at a layer (cached)',
  help: [
    'mechedit stats --model DIR --layer L [--corpus FILE …] [--samples N] [--json]',
    modelHelp,
    '  --corpus FILE …   text files (default: corpus.txt beside the model)',
    '  --samples N       key vectors to average (default 10 × d_mlp)',
  ].join('\n'),
  options: { ...modelOptions, layer: { type: 'string' }, corpus: { type: 'string', multiple: true }, samples: { type: 'string' } },
  async run(values) {
    const model = await openModel(values);
    const layer = intOption(values, 'layer', -1, 0, model.dims.layers - 1);
    if (layer < 0) throw badInput('--layer is required', { field: '--layer' });
    const corpus = (values.corpus as string[] | undefined) ?? defaultCorpus(model);
    const t0 = performance.now();
    let last = 0;
    const s = await keyStats(model, {
      layer,
      corpus,
      samples: values.samples === undefined ? undefined : intOption(values, 'samples', 0, 1, 1e9),
      onProgress: (done, total) => {
        if (Date.now() - last < 1000) return;
        last = Date.now();
        process.stderr.write(`mechedit stats: ${done}/${total} key vectors\n`);
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    let trace = 0;
    for (let i = 0; i < s.dim; i++) trace += s.C[i * s.dim + i];
    // cSha256: the bytes of C as this process holds it (float32), to compare processes that shared the cache.
    const cSha256 = createHash('sha256').update(Float32Array.from(s.C)).digest('hex');
    return { layer, dMlp: s.dim, count: s.count, file: s.file, cached: s.cached, cSha256, seconds, keysPerSecond: s.cached ? undefined : s.count / seconds, meanSquaredKeyNorm: trace };
  },
  format: (r) => {
    const x = r as { layer: number; count: number; file: string; cached: boolean; seconds: number; keysPerSecond?: number };
    return `layer ${x.layer}: ${x.count} key vectors${x.cached ? ' (cached)' : `, ${x.keysPerSecond?.toFixed(0)} keys/s`} → ${x.file}`;
  },
};
