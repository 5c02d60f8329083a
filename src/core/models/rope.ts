// RoPE inverse frequencies as Hugging Face computes them (float32 steps).

import { badInput } from '../errors';

/** inv_freq as Hugging Face computes it, with rope_scaling 'linear' and 'llama3'. */
export function ropeInvFreq(dim: number, theta: number, scaling: unknown, configFile: string): Float64Array {
  const inv = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / dim)));
  if (scaling === null || scaling === undefined) return inv;
  if (typeof scaling !== 'object' || Array.isArray(scaling)) throw badInput(`rope_scaling must be an object or null, got ${JSON.stringify(scaling)}`, { file: configFile, field: 'rope_scaling' });
  const s = scaling as Record<string, unknown>;
  const type = (s.rope_type ?? s.type ?? 'default') as string;
  const num = (k: string) => {
    if (typeof s[k] !== 'number' || !Number.isFinite(s[k]) || (s[k] as number) <= 0) throw badInput(`rope_scaling.${k} must be a positive number, got ${JSON.stringify(s[k])}`, { file: configFile, field: `rope_scaling.${k}` });
    return s[k] as number;
  };
  if (type === 'default') return inv;
  if (type === 'linear') return inv.map((f) => f / num('factor'));
  if (type === 'llama3') {
    const factor = num('factor');
    const low = num('low_freq_factor');
    const high = num('high_freq_factor');
    const oldLen = num('original_max_position_embeddings');
    const lowWavelen = oldLen / low;
    const highWavelen = oldLen / high;
    return inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / factor;
      const smooth = (oldLen / wavelen - low) / (high - low);
      return (1 - smooth) * (f / factor) + smooth * f;
    });
  }
  throw badInput(`Unsupported rope_scaling type "${type}"`, { file: configFile, field: 'rope_scaling', hint: 'Supported: default, linear, llama3.' });
}
