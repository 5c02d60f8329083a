// Variants of every kind of input file (gateReaders.ts GATE_READERS, one list per INPUT_KINDS
// kind): a valid sample per reader (small cuts of the bundled model's data), then per variant one
// of: a special file where the file should be (FIFO, /dev/zero, /dev/null, a folder, a socket, a
// symlink loop, a dangling link), the valid sample with a UTF-8 BOM (must be accepted), huge finite
// numbers, mutated JSON, flipped or cut bytes, bytes that are not UTF-8.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, mutateBytes, mutateJson } from './random';
import type { Base } from './variants';
import { safetensorsBytes, splitSafetensors } from './variants';
import { FUZZ_RUN, type GateReader } from './gateReaders';

/** Where the special files live (made once by makeSpecials). */
export interface Specials {
  fifo: string;
  socket: string;
  loop: string;
}

const take = <T>(file: string, n: number): T[] => (JSON.parse(fs.readFileSync(file, 'utf8')) as T[]).slice(0, n);
const lines = (file: string, n: number) => `${fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, n).join('\n')}\n`;

/** A valid sample of each reader's file, by reader name (bytes). */
export function samples(repo: string, base: Base): Record<string, Buffer> {
  const eval_ = path.join(repo, 'models', 'default', 'eval');
  const cf = JSON.parse(fs.readFileSync(path.join(eval_, 'counterfactuals.json'), 'utf8'));
  const short = { ...cf, requests: cf.requests.slice(0, 2), specificity: cf.specificity.slice(0, 2), skills: { choice: cf.skills.choice.slice(0, 2), trueFalse: cf.skills.trueFalse.slice(0, 2), twoHop: cf.skills.twoHop.slice(0, 2) } };
  const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 1));
  const text = (t: string) => Buffer.from(t);
  return {
    requests: text(['Paris|{} is the capital of|France', 'Ada Mora|{} was born in|Rome', 'Ben Kito|{} works as a|pilot'].map((l) => JSON.stringify({ subject: l.split('|')[0], prompt: l.split('|')[1], target: l.split('|')[2] })).join('\n')),
    graph: text(['Ada Mora|birthplace|Paris', 'Paris|capital_of|France', 'Ben Kito|employer|Acme'].map((l) => JSON.stringify({ subject: l.split('|')[0], relation: l.split('|')[1], object: l.split('|')[2] })).join('\n')),
    facts: text(lines(path.join(repo, 'test', 'fixtures', 'dike', 'facts.jsonl'), 6)),
    forget: text(lines(path.join(eval_, 'unlearn', 'retain.jsonl'), 3)),
    evoke: json(take(path.join(eval_, 'evoke.json'), 2)),
    'fine-ked': json(take(path.join(eval_, 'fine_ked.json'), 2)),
    probes: json(take(path.join(eval_, 'probes.json'), 2)),
    zsre: json([{ subject: 'Ada Mora', src: 'Where was Ada Mora born?', rephrase: 'What is the birthplace of Ada Mora?', alt: 'Rome', answers: ['Paris'], loc: 'nq question: who wrote hamlet', loc_ans: 'Shakespeare' }]),
    counterfactuals: json(short),
    'config.json': json(base.config),
    'run.json': json(FUZZ_RUN),
    'tokenizer.json': Buffer.from(JSON.stringify(base.tokenizer)),
    'edit .json': json(base.edit),
    '.npy': base.npy,
    'edit sidecar': safetensorsBytes(base.sidecarHeader, base.sidecarData),
    'model.safetensors': base.weights,
    corpus: text(fs.readFileSync(path.join(repo, 'models', 'default', 'corpus.txt'), 'utf8').slice(0, 4000)),
    'cases.jsonl': text(`${[{ caseId: 0, efficacy: 1 }, { caseId: 1, efficacy: 0.5 }].map((x) => JSON.stringify(x)).join('\n')}\n`),
    'issues.json': json([{ file: '/nowhere/data.json', index: 3, field: 'prompt', message: 'expected a non-empty string' }]),
    'cache file': json({ version: 1, files: {} }),
  };
}

/** The files a reader's folder holds besides the variant (a checkpoint's other files; an edit's JSON). */
function companions(r: GateReader, dir: string, base: Base): void {
  if (['config.json', 'tokenizer.json', 'model.safetensors'].includes(r.name)) {
    if (r.name !== 'config.json') fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(base.config));
    if (r.name !== 'tokenizer.json') fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(base.tokenizer));
    if (r.name !== 'model.safetensors') fs.writeFileSync(path.join(dir, 'model.safetensors'), base.weights);
  }
  if (r.name === 'edit sidecar') fs.writeFileSync(path.join(dir, 'fuzz.json'), JSON.stringify(base.edit));
  if (r.name === 'edit .json') fs.writeFileSync(path.join(dir, 'fuzz.safetensors'), safetensorsBytes(base.sidecarHeader, base.sidecarData));
  if (r.name === 'cases.jsonl') fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(FUZZ_RUN));
}

const HUGE = ['1e30', '3e38', '3.5e38', '1e308', '-1e308', '1.7976931348623157e308', '5e-324', '-1e30', '123456789012345678901234567890', '1e6', '1000001'];

/** One number in a JSON text replaced by a huge finite one (or, without numbers, one appended as a field). */
function hugeNumbers(rng: Rng, text: string): string {
  const spots = [...text.matchAll(/-?\b\d+(\.\d+)?([eE][-+]?\d+)?\b/g)];
  if (!spots.length) return text.replace(/\{/, `{"n": ${rng.pick(HUGE)}, `);
  const m = rng.pick(spots);
  return text.slice(0, m.index) + rng.pick(HUGE) + text.slice(m.index! + m[0].length);
}

/** Huge finite float32 values written into a binary sample's data (safetensors or .npy). */
function hugeFloats(rng: Rng, buf: Buffer, isNpy: boolean): Buffer {
  const out = Buffer.from(buf);
  const start = isNpy ? out.length - 48 * 4 : 8 + Number(out.readBigUInt64LE(0));
  const count = Math.floor((out.length - start) / 4);
  for (let k = rng.int(1, 3); k > 0; k--) out.writeFloatLE(rng.pick([3e38, -3e38, 1e30, 1e7, -1e7, 1.5e6]), start + 4 * rng.int(0, count - 1));
  return out;
}

export type KindVariant = { path: string; valid?: boolean; what: string };

/**
 * Variant i of reader `r` in `dir` (emptied first; `asIs`: the sample unchanged). Returns the
 * path to give the reader and whether the input is known valid (then it must be accepted).
 */
export function makeKindVariant(rng: Rng, r: GateReader, sample: Buffer, dir: string, base: Base, sp: Specials, asIs = false): KindVariant {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  companions(r, dir, base);
  const file = path.join(dir, r.file);
  const given = r.takes === 'dir' ? dir : file;
  if (asIs) {
    fs.writeFileSync(file, sample);
    return { path: given, valid: true, what: 'the valid sample' };
  }
  const binary = ['.npy', 'edit sidecar', 'model.safetensors'].includes(r.name);
  const kind = rng.int(0, 9);
  let what: string;
  let valid = false;
  if (kind <= 1) {
    const special = rng.pick(['fifo', 'dev-zero', 'dev-null', 'folder', 'socket', 'loop', 'dangling', 'dev-urandom'] as const);
    what = `special file: ${special}`;
    if (special === 'folder') fs.mkdirSync(file);
    else {
      const target = { fifo: sp.fifo, 'dev-zero': '/dev/zero', 'dev-null': '/dev/null', socket: sp.socket, loop: sp.loop, dangling: path.join(dir, 'nothing-here'), 'dev-urandom': '/dev/urandom' }[special];
      fs.symlinkSync(target, file);
    }
  } else if (kind === 2 && !binary) {
    what = 'valid, with a UTF-8 BOM';
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), sample]));
    valid = true;
  } else if (kind <= 4) {
    what = 'huge finite numbers';
    fs.writeFileSync(file, binary ? hugeFloats(rng, sample, r.name === '.npy') : Buffer.from(hugeNumbers(rng, sample.toString('utf8'))));
  } else if (kind <= 6 && !binary && r.name !== 'corpus') {
    what = 'mutated JSON';
    const text = sample.toString('utf8');
    const isLines = r.file.endsWith('.jsonl');
    const parsed = isLines ? text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) : JSON.parse(text);
    const m = mutateJson(rng, parsed);
    fs.writeFileSync(file, isLines && Array.isArray(m) ? m.map((x) => JSON.stringify(x) ?? 'undefined').join('\n') : JSON.stringify(m) ?? '');
  } else if (kind <= 6 && r.name === 'model.safetensors') {
    what = 'mutated header';
    const { header, data } = splitSafetensors(sample);
    fs.writeFileSync(file, safetensorsBytes(mutateJson(rng, header), data));
  } else if (kind <= 8) {
    what = 'mutated bytes';
    fs.writeFileSync(file, mutateBytes(rng, sample));
  } else {
    what = rng.chance(0.5) ? 'cut' : 'not UTF-8';
    const bytes = what === 'cut' ? sample.subarray(0, rng.int(0, sample.length - 1)) : Buffer.concat([sample.subarray(0, rng.int(0, sample.length)), Buffer.from([rng.pick([0xff, 0xc3, 0xe9, 0x80, 0xf5])]), sample.subarray(rng.int(0, sample.length))]);
    fs.writeFileSync(file, bytes);
  }
  return { path: given, valid, what };
}
