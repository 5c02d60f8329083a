// SAELens's on-disk format: a folder with cfg.json and sae_weights.safetensors.
//   cfg.json: d_in, d_sae, architecture ('topk' | 'jumprelu'), hook_name (TransformerLens
//     spelling), hook_layer, model_name, dtype, device, apply_b_dec_to_input,
//     normalize_activations ('none': we fold the training scale into the weights), k (TopK),
//     and SAELens 6's `metadata` block with the same hook and model fields.
//   sae_weights.safetensors (F32): W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae],
//     b_dec [d_in], and threshold [d_sae] for JumpReLU.
// Reading accepts either hook spelling, hook_name at the top or in metadata / meta, and F16/BF16
// weights (read as float32); a file that does not match the model is refused by checkSaeOnModel.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { readSafetensorsHeader, readTensorF32 } from '../checkpoint/safetensors';
import { f32Tensor, writeSafetensors } from '../checkpoint/writeSafetensors';
import { writeFileAtomic } from '../atomicWrite';
import { hookString, hookWidth, parseHook, tlHookName, type Sae, type SaeArchitecture } from './sae';

export const CFG_FILE = 'cfg.json';
export const WEIGHTS_FILE = 'sae_weights.safetensors';

/** Writes <dir>/cfg.json and <dir>/sae_weights.safetensors (the folder is created). */
export function saveSae(dir: string, sae: Sae, extra: Record<string, unknown> = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const hookName = tlHookName(sae.hook.layer, sae.hook.tap);
  const modelName = (extra.model_name as string | undefined) ?? (sae.cfg.model_name as string | undefined) ?? 'unknown';
  const cfg: Record<string, unknown> = {
    ...sae.cfg,
    ...extra,
    architecture: sae.architecture,
    d_in: sae.dIn,
    d_sae: sae.dSae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: sae.applyBDecToInput,
    normalize_activations: 'none',
    reshape_activations: 'none',
    hook_name: hookName,
    hook_layer: sae.hook.layer,
    hook_head_index: null,
    model_name: modelName,
    prepend_bos: false,
    ...(sae.architecture === 'topk' ? { k: sae.k, rescale_acts_by_decoder_norm: false } : {}),
    metadata: { model_name: modelName, hook_name: hookName, hook_layer: sae.hook.layer, hook_head_index: null, prepend_bos: false, mechedit_hook: hookString(sae.hook) },
  };
  const tensors = [
    f32Tensor('W_enc', [sae.dIn, sae.dSae], sae.W_enc),
    f32Tensor('W_dec', [sae.dSae, sae.dIn], sae.W_dec),
    f32Tensor('b_enc', [sae.dSae], sae.b_enc),
    f32Tensor('b_dec', [sae.dIn], sae.b_dec),
    ...(sae.threshold ? [f32Tensor('threshold', [sae.dSae], sae.threshold)] : []),
  ];
  writeSafetensors(path.join(dir, WEIGHTS_FILE), tensors);
  writeFileAtomic(path.join(dir, CFG_FILE), JSON.stringify(cfg, null, 2) + '\n');
  return path.resolve(dir);
}

function cfgField(cfg: Record<string, unknown>, name: string): unknown {
  for (const block of [cfg, cfg.metadata, cfg.meta]) {
    if (block && typeof block === 'object' && (block as Record<string, unknown>)[name] !== undefined) return (block as Record<string, unknown>)[name];
  }
  return undefined;
}

function readCfg(dir: string): Record<string, unknown> {
  const file = path.join(dir, CFG_FILE);
  if (!fs.existsSync(file)) throw badInput('No cfg.json in the SAE folder', { file: dir, hint: 'Give a SAELens-format folder (cfg.json + sae_weights.safetensors), e.g. from `mechedit sae train`.' });
  try {
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error('not an object');
    return cfg as Record<string, unknown>;
  } catch (e) {
    throw badInput(`cfg.json is not a JSON object: ${(e as Error).message}`, { file });
  }
}

function positive(cfg: Record<string, unknown>, name: string, file: string): number {
  const v = cfg[name];
  if (!Number.isInteger(v) || (v as number) < 1) throw badInput(`cfg.json: ${name} must be a whole number ≥ 1, got ${JSON.stringify(v)}`, { file, field: name });
  return v as number;
}

/**
 * Reads a SAELens-format SAE. `layers` bounds the hook's layer (the model it will run on).
 * Refuses architectures other than topk / jumprelu, missing tensors and wrong shapes.
 */
export function loadSae(dir: string, layers: number): Sae {
  const cfg = readCfg(dir);
  const cfgFile = path.join(dir, CFG_FILE);
  const architecture = cfg.architecture as SaeArchitecture;
  if (architecture !== 'topk' && architecture !== 'jumprelu') {
    throw badInput(`cfg.json: architecture ${JSON.stringify(cfg.architecture)} is not supported`, { file: cfgFile, field: 'architecture', hint: 'MechEdit runs SAELens SAEs of architecture topk or jumprelu.' });
  }
  const dIn = positive(cfg, 'd_in', cfgFile);
  const dSae = positive(cfg, 'd_sae', cfgFile);
  const hookName = cfgField(cfg, 'hook_name');
  if (typeof hookName !== 'string') throw badInput('cfg.json has no hook_name', { file: cfgFile, field: 'hook_name' });
  const hook = parseHook(hookName, layers, 'hook_name');
  const norm = cfg.normalize_activations ?? 'none';
  if (norm !== 'none') throw badInput(`cfg.json: normalize_activations ${JSON.stringify(norm)} is not supported`, { file: cfgFile, field: 'normalize_activations', hint: "Fold the scale into the weights (SAELens's fold_activation_norm_scaling_factor) and save with 'none'." });
  const k = architecture === 'topk' ? positive(cfg, 'k', cfgFile) : undefined;
  if (k !== undefined && k > dSae) throw badInput(`cfg.json: k ${k} is larger than d_sae ${dSae}`, { file: cfgFile, field: 'k' });
  const weights = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(weights)) throw badInput(`No ${WEIGHTS_FILE} in the SAE folder`, { file: dir });
  const header = readSafetensorsHeader(weights);
  const tensor = (name: string, shape: number[]): Float32Array => {
    const t = header.tensors.get(name);
    if (!t) throw badInput(`${WEIGHTS_FILE} has no tensor ${name}`, { file: weights, field: name });
    if (t.shape.join(',') !== shape.join(',')) throw badInput(`${name} has shape [${t.shape}], expected [${shape}] (d_in ${dIn}, d_sae ${dSae})`, { file: weights, field: name });
    return readTensorF32(t);
  };
  return {
    architecture, dIn, dSae, hook, k,
    applyBDecToInput: cfg.apply_b_dec_to_input !== false,
    W_enc: tensor('W_enc', [dIn, dSae]),
    W_dec: tensor('W_dec', [dSae, dIn]),
    b_enc: tensor('b_enc', [dSae]),
    b_dec: tensor('b_dec', [dIn]),
    threshold: architecture === 'jumprelu' ? tensor('threshold', [dSae]) : undefined,
    cfg,
  };
}

/** Refuses an SAE whose d_in is not the width of its hook on this model. */
export function checkSaeOnModel(sae: Sae, dims: { dModel: number; dMlp: number; layers: number }, source: string): void {
  const width = hookWidth(sae.hook.tap, dims);
  if (sae.dIn !== width) {
    throw badInput(`The SAE reads ${hookString(sae.hook)} with d_in ${sae.dIn}, but that hook is ${width} wide on this model`, { file: source, field: 'd_in', hint: 'Use an SAE trained on this model (or one of the same shape).' });
  }
}

/** Loads an SAE folder and checks it against the model. */
export function openSae(dir: string, dims: { dModel: number; dMlp: number; layers: number }): Sae {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw badInput('SAE folder not found', { file: dir, hint: 'Give the folder with cfg.json and sae_weights.safetensors.' });
  const sae = loadSae(dir, dims.layers);
  checkSaeOnModel(sae, dims, dir);
  return sae;
}
