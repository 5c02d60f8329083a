// Attention variants read from config.json: which layers slide and by how much, which RoPE table
// each layer uses (or none), the score scale and the soft-caps. Each follows Hugging Face's
// modeling code for the architectures whose spec asks for it (specs.ts); nothing here names a model.

import { badInput } from '../errors';
import type { ArchSpec } from './specs';
import { ropeInvFreq } from './rope';

/**
 * One RoPE table: inv_freq [rotaryDim / 2], and for `longrope` (Phi-3) a second table used when
 * max(position_ids) + 1 > `after` (original_max_position_embeddings), as HF switches per call.
 * cos and sin are multiplied by `scale` (longrope's attention factor; 1 elsewhere).
 */
export interface RopeTable {
  invFreq: Float64Array;
  long?: { invFreq: Float64Array; after: number };
  scale: number;
}

export interface AttentionVariants {
  /** Per layer: the sliding window (a key is seen when query index − key index < window), or undefined. */
  windows: (number | undefined)[];
  /** RoPE tables, and per layer the index of its table (-1: no RoPE on this layer). */
  ropes: RopeTable[];
  layerRope: number[];
  /** The attention score scale (1/√head_dim, or query_pre_attn_scalar^-½). */
  queryScale?: number;
  attnSoftcap?: number;
  finalSoftcap?: number;
}

type Config = Record<string, unknown>;

const first = (cfg: Config, keys: readonly string[] | undefined): unknown => keys?.map((k) => cfg[k]).find((v) => v !== undefined && v !== null);

/** A positive number from the first key present; `fallback` only when none of the keys is in the config at all (null = unset). */
function positive(cfg: Config, keys: readonly string[] | undefined, file: string, fallback?: number): number | undefined {
  const v = first(cfg, keys);
  if (v === undefined) return keys?.some((k) => Object.hasOwn(cfg, k)) ? undefined : fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw badInput(`"${keys![0]}" must be a positive number, got ${JSON.stringify(v)}`, { file, field: keys![0] });
  return v;
}

/** Per-layer flags from a config list, or from a default when absent; a list of the wrong length is refused. */
function perLayer<T>(cfg: Config, key: string, layers: number, file: string, check: (v: unknown) => v is T, fallback: (l: number) => T): T[] {
  const list = cfg[key];
  if (list === undefined || list === null) return Array.from({ length: layers }, (_, l) => fallback(l));
  if (!Array.isArray(list) || list.length !== layers || !list.every(check)) throw badInput(`"${key}" must list one entry per layer (${layers})`, { file, field: key });
  return list;
}

function slidingLayers(spec: ArchSpec, cfg: Config, layers: number, file: string): boolean[] {
  const s = spec.sliding;
  if (!s || (Object.hasOwn(cfg, 'sliding_window') && cfg.sliding_window === null)) return new Array<boolean>(layers).fill(false);
  const kind = (v: unknown): v is string => v === 'sliding_attention' || v === 'full_attention';
  if (s === 'from_max_window_layers' && cfg.use_sliding_window !== true) return new Array<boolean>(layers).fill(false);
  const types = perLayer(cfg, 'layer_types', layers, file, kind, (l) => {
    if (s === 'all') return 'sliding_attention';
    if (s === 'from_max_window_layers') return l >= (typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : 0) ? 'sliding_attention' : 'full_attention';
    const every = positive(cfg, ['sliding_window_pattern', '_sliding_window_pattern'], file) ?? s.every;
    return (l + 1) % every !== 0 ? 'sliding_attention' : 'full_attention';
  });
  return types.map((t) => t === 'sliding_attention');
}

/** longrope (Phi-3, Phi-4-mini): short / long factors and the attention factor, as HF computes them. */
function longRope(rotaryDim: number, theta: number, cfg: Config, file: string): RopeTable {
  const s = cfg.rope_scaling as Record<string, unknown>;
  const maxPos = typeof cfg.max_position_embeddings === 'number' ? cfg.max_position_embeddings : 2048;
  const orig = typeof cfg.original_max_position_embeddings === 'number' ? cfg.original_max_position_embeddings : typeof s.original_max_position_embeddings === 'number' ? s.original_max_position_embeddings : maxPos;
  const factors = (k: string) => {
    const f = s[k];
    if (!Array.isArray(f) || f.length !== rotaryDim / 2 || !f.every((x) => typeof x === 'number' && x > 0)) throw badInput(`rope_scaling.${k} must list ${rotaryDim / 2} positive numbers`, { file, field: `rope_scaling.${k}` });
    return f as number[];
  };
  const table = (ext: number[]) => {
    const inv = new Float64Array(rotaryDim / 2);
    // HF: 1 / (ext · base^(2i/d)) in float32.
    for (let i = 0; i < inv.length; i++) inv[i] = Math.fround(1 / Math.fround(Math.fround(ext[i]) * Math.fround(theta ** Math.fround((2 * i) / rotaryDim))));
    return inv;
  };
  const factor = typeof cfg.original_max_position_embeddings === 'number' ? maxPos / orig : typeof s.factor === 'number' ? s.factor : 1;
  const given = s.attention_factor;
  const scale = typeof given === 'number' ? given : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig));
  return { invFreq: table(factors('short_factor')), long: { invFreq: table(factors('long_factor')), after: orig }, scale };
}

export function attentionVariants(spec: ArchSpec, cfg: Config, d: { layers: number; headDim: number; rotaryDim: number; maxPositions: number }, file: string): AttentionVariants {
  const given = Object.hasOwn(cfg, 'sliding_window') ? cfg.sliding_window : spec.config.defaults?.slidingWindow;
  const window = typeof given === 'number' && given < d.maxPositions ? given : undefined;
  if (window !== undefined && !(Number.isInteger(window) && window >= 1)) throw badInput(`"sliding_window" must be a whole number ≥ 1, got ${window}`, { file, field: 'sliding_window' });
  const sliding = slidingLayers(spec, cfg, d.layers, file);
  const windows = sliding.map((s) => (s ? window : undefined));

  const ropes: RopeTable[] = [];
  let layerRope = new Array<number>(d.layers).fill(-1);
  if (spec.positions === 'rotary') {
    const theta = positive(cfg, ['rope_theta'], file) ?? 10000;
    const scaling = cfg.rope_scaling as Record<string, unknown> | null | undefined;
    const type = scaling && typeof scaling === 'object' ? scaling.rope_type ?? scaling.type : undefined;
    ropes.push(type === 'longrope' ? longRope(d.rotaryDim, theta, cfg, file) : { invFreq: ropeInvFreq(d.rotaryDim, theta, scaling, file), scale: 1 });
    layerRope.fill(0);
    const local = positive(cfg, spec.config.localRopeTheta, file) ?? (spec.config.localRopeTheta ? 10000 : undefined);
    if (local !== undefined) {
      ropes.push({ invFreq: ropeInvFreq(d.rotaryDim, local, null, file), scale: 1 });
      layerRope = layerRope.map((r, l) => (sliding[l] ? 1 : r));
    }
    if (spec.config.ropeLayers) {
      const key = spec.config.ropeLayers[0];
      const interval = typeof cfg.no_rope_layer_interval === 'number' ? cfg.no_rope_layer_interval : 4;
      const flag = (v: unknown): v is number => v === 0 || v === 1;
      const uses = perLayer(cfg, key, d.layers, file, flag, (l) => ((l + 1) % interval !== 0 ? 1 : 0));
      layerRope = layerRope.map((r, l) => (uses[l] ? r : -1));
    }
  }
  const defaults = spec.config.defaults ?? {};
  const scalar = positive(cfg, spec.config.queryScalar, file, defaults.queryScalar);
  return {
    windows,
    ropes,
    layerRope,
    queryScale: scalar === undefined ? undefined : scalar ** -0.5,
    attnSoftcap: positive(cfg, spec.config.attnSoftcap, file, defaults.attnSoftcap),
    finalSoftcap: positive(cfg, spec.config.finalSoftcap, file, defaults.finalSoftcap),
  };
}
