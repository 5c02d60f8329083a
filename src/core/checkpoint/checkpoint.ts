// Opens a local Hugging Face checkpoint folder without reading any weights:
//   <dir>/config.json, model.safetensors | model.safetensors.index.json + shards, tokenizer.json,
//   tokenizer_config.json and generation_config.json when present.
// The Hugging Face cache layout works too: models--org--name/ (resolved through refs/main) or
// models--org--name/snapshots/<rev>/ whose files are symlinks into ../../blobs/.
// Source checkpoints are read-only to MechEdit: nothing here writes into them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { badInput } from '../errors';
import { readSafetensorsHeader, type TensorEntry } from './safetensors';
import { contentHashes } from './contentHash';
import { cacheRoot } from '../cacheRoot';
import { refuseInsideCheckpoint } from '../outputs';
import { decodeText, readInputBytes, readInputText } from '../inputs';
import { scanCheckpointWeights } from './weightScan';

export interface Checkpoint {
  /** The folder holding config.json (a snapshot folder in the HF cache). */
  dir: string;
  /** models--org--name root when the checkpoint lives in the Hugging Face cache. */
  hfCacheRoot?: string;
  config: Record<string, unknown>;
  tensors: Map<string, TensorEntry>;
  /** Weight files, as paths inside `dir` (possibly symlinks). */
  weightFiles: string[];
  tokenizerFile?: string;
  tokenizerConfig?: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
  /**
   * The model's identity: sha256 (first 16 hex digits) of config.json, every safetensors header
   * and the sha256 of every weight file's bytes (cached by file identity, contentHash.ts). Two
   * checkpoints that differ in one weight value differ here, so they never share a graph folder,
   * key statistics or edits.
   */
  fingerprint: string;
}

export function resolveCheckpointDir(input: string): { dir: string; hfCacheRoot?: string } {
  const abs = path.resolve(input);
  if (!fs.existsSync(abs)) throw badInput(`Model folder does not exist`, { file: abs, hint: 'Give the folder that holds config.json.' });
  if (!fs.statSync(abs).isDirectory()) throw badInput(`Not a folder`, { file: abs, hint: 'Give the checkpoint folder, not a file in it.' });
  if (fs.existsSync(path.join(abs, 'config.json'))) {
    const snapshots = path.dirname(abs);
    const root = path.dirname(snapshots);
    const inCache = path.basename(snapshots) === 'snapshots' && path.basename(root).startsWith('models--');
    return { dir: abs, hfCacheRoot: inCache ? root : undefined };
  }
  // A models--org--name root: follow refs/main (or the only snapshot).
  const snapshots = path.join(abs, 'snapshots');
  if (path.basename(abs).startsWith('models--') && fs.existsSync(snapshots)) {
    const ref = path.join(abs, 'refs', 'main');
    const revs = fs.readdirSync(snapshots);
    const rev = fs.existsSync(ref) ? readInputText(ref, 'config').trim() : revs.length === 1 ? revs[0] : undefined;
    if (!rev || !fs.existsSync(path.join(snapshots, rev, 'config.json'))) {
      throw badInput(`Hugging Face cache folder without a usable snapshot (found ${revs.length} snapshot(s))`, { file: abs, hint: 'Point at models--org--name/snapshots/<revision> directly.' });
    }
    return { dir: path.join(snapshots, rev), hfCacheRoot: abs };
  }
  throw badInput(`No config.json in the model folder`, { file: abs, hint: 'Give the folder that holds config.json, the *.safetensors files and tokenizer.json.' });
}

function readJson(file: string): Record<string, unknown> {
  return parseJsonObject(file, readInputText(file, 'config'));
}

function parseJsonObject(file: string, text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
    return value;
  } catch (e) {
    throw badInput(`Invalid JSON: ${(e as Error).message}`, { file, hint: 'The file is corrupt or was cut off; download it again.' });
  }
}

export function openCheckpoint(input: string): Checkpoint {
  const { dir, hfCacheRoot } = resolveCheckpointDir(input);
  const configFile = path.join(dir, 'config.json');
  const configBytes = readInputBytes(configFile, 'config');
  const config = parseJsonObject(configFile, decodeText(configBytes, configFile, 'config'));
  const hash = createHash('sha256').update(configBytes);

  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  let weightFiles: string[];
  let weightMap: Record<string, string> | undefined;
  if (fs.existsSync(single)) {
    weightFiles = [single];
  } else if (fs.existsSync(index)) {
    const map = readJson(index).weight_map;
    if (typeof map !== 'object' || map === null) throw badInput('No "weight_map" object', { file: index, field: 'weight_map' });
    weightMap = map as Record<string, string>;
    weightFiles = [...new Set(Object.values(weightMap))].sort().map((f) => {
      if (typeof f !== 'string' || f.includes('/') || f.includes('\\')) throw badInput(`Invalid shard name ${JSON.stringify(f)}`, { file: index, field: 'weight_map' });
      return path.join(dir, f);
    });
  } else {
    const other = fs.readdirSync(dir).filter((f) => /\.(bin|pt|pth|gguf)$/.test(f));
    throw badInput(`No model.safetensors or model.safetensors.index.json${other.length ? ` (found ${other.join(', ')})` : ''}`, {
      file: dir,
      hint: 'MechEdit reads safetensors only; convert the weights with safetensors.torch.save_file or download the .safetensors files.',
    });
  }

  const tensors = new Map<string, TensorEntry>();
  for (const file of weightFiles) {
    if (!fs.existsSync(file)) throw badInput(`A weight shard listed in the index is missing`, { file, hint: 'Download the missing shard.' });
    const header = readSafetensorsHeader(file);
    hash.update(header.raw);
    hash.update('\0');
    for (const [name, t] of header.tensors) {
      if (weightMap && weightMap[name] !== path.basename(file)) continue;
      tensors.set(name, t);
    }
  }
  if (weightMap) {
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!tensors.has(name)) throw badInput(`Tensor listed in the index is not in its shard ${shard}`, { file: index, field: name });
    }
  }

  // Everything MechEdit caches for this model (content hashes, graphs, statistics) goes under the
  // cache root: never inside the checkpoint (MECHEDIT_CACHE pointing into it is refused).
  refuseInsideCheckpoint(cacheRoot(), { dir, hfCacheRoot, weightFiles }, 'The MechEdit cache', 'Set MECHEDIT_CACHE to a folder outside the model folder, or unset it (default ~/.cache/mechedit).');
  // The weight bytes (headers validated first, so a broken file is named before it is read whole).
  for (const h of contentHashes(weightFiles)) hash.update(h);

  const optional = (name: string) => (fs.existsSync(path.join(dir, name)) ? readJson(path.join(dir, name)) : undefined);
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  const fingerprint = hash.digest('hex').slice(0, 16);
  // NaN, ±∞ or absurd magnitudes in the weights: refused on the first open (weightScan.ts).
  scanCheckpointWeights(fingerprint, tensors.values());
  return {
    dir,
    hfCacheRoot,
    config,
    tensors,
    weightFiles,
    tokenizerFile: fs.existsSync(tokenizerFile) ? tokenizerFile : undefined,
    tokenizerConfig: optional('tokenizer_config.json'),
    generationConfig: optional('generation_config.json'),
    fingerprint,
  };
}
