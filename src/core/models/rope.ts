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

/**
 * Newer Hugging Face configs (transformers 5) hold RoPE settings in `rope_parameters`: one dict
 * ({rope_type, rope_theta, factor, …, partial_rotary_factor}) or one per layer type
 * ({full_attention: {…}, sliding_attention: {…}}, Gemma 3). Returns the config with them spelled
 * the older way (rope_theta, rope_scaling, partial_rotary_factor, rope_local_base_freq), which
 * the rest of the reader uses; a config without them is returned as it is.
 */
export function legacyRopeFields(cfg: Record<string, unknown>): Record<string, unknown> {
  const p = cfg.rope_parameters;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return cfg;
  const params = p as Record<string, unknown>;
  const perType = typeof params.full_attention === 'object' && params.full_attention !== null;
  const full = (perType ? params.full_attention : params) as Record<string, unknown>;
  const local = perType ? (params.sliding_attention as Record<string, unknown> | undefined) : undefined;
  const out: Record<string, unknown> = { ...cfg };
  if (full.rope_theta !== undefined) out.rope_theta = full.rope_theta;
  if (full.partial_rotary_factor !== undefined) out.partial_rotary_factor = full.partial_rotary_factor;
  const type = full.rope_type ?? full.type ?? 'default';
  out.rope_scaling = type === 'default' ? null : full;
  if (local?.rope_theta !== undefined) out.rope_local_base_freq = local.rope_theta;
  return out;
}
