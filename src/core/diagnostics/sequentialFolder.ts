// The run folder of a sequential (lifelong) run, opened new or for --resume, and every record in it
// checked so that a resumed run goes on from exactly what an uninterrupted run would have had:
//   run.json     the run's settings (compared key by key with the resumed run's), and `editHashes`:
//                the sha256 of each edit (its .json, "\0", its .safetensors), recorded when the edit
//                is written (recordEdit: before it is moved into edits/, so every edit in edits/ has
//                its hash; a hash without its edit, from a crash in between, is dropped)
//   edits/       seq-00001 … seq-0000k, contiguous; each must match its recorded hash (a swapped,
//                replaced or corrupted edit file is refused by name). A run written before the hashes
//                were recorded (no editHashes) has them recorded on its first resume.
//                and `pointHashes`: the sha256 of each point (all but `seconds`, keys sorted) by its
//                number of edits, recorded before the point is appended
//   curve.jsonl  one point per line (schemas/runs/sequential.schema.json): every point is checked
//                against the schema (a "100" string is refused by line and field) and its recorded
//                hash (a figure changed to another plausible one is refused too), the points must be
//                in order and at the positions the run measures (0, every K requests, the end). A
//                missing point up to the last edit is not refused: the run measures it again from
//                the edit files (sequential.ts), since every figure but `seconds` is a function of
//                the edits, and must then match its recorded hash. Points after the last saved edit
//                (their edits were lost) are dropped.
// Anything else that is wrong is refused, naming the first bad point (file, line, field) or file.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { LifelongPoint } from '../../protocol/lifelong';
import { badInput } from '../errors';
import { appendOut, guarded, makeOutFolder, writeOut } from '../outputs';
import { recordProblem } from './recordSchemas';
import POINT_SCHEMA from '../../../schemas/runs/sequential.schema.json';
import { readInputBytes, readInputText } from '../inputs';

export const editId = (n: number) => `seq-${String(n).padStart(5, '0')}`;
const toLine = (p: LifelongPoint) => `${JSON.stringify(p)}\n`;

const HASH = /^[0-9a-f]{64}$/;
const RESTART = 'Restore the run folder as MechEdit wrote it, or start the run again in a new --out folder.';

/** sha256 of an edit as run.json records it: its .json bytes, "\0", the bytes of the .safetensors of the same stem. */
export function editHash(jsonFile: string): string {
  const vectors = jsonFile.replace(/\.json$/, '.safetensors');
  const read = (f: string) => {
    try {
      return readInputBytes(f, f.endsWith('.json') ? 'edit' : 'vectors');
    } catch (e) {
      if ((e as { data?: unknown }).data) throw e;
      throw badInput(`Cannot read the edit file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file: f, hint: RESTART });
    }
  };
  return createHash('sha256').update(read(jsonFile)).update('\0').update(read(vectors)).digest('hex');
}

/** A JSON value with every object's keys sorted (what a point's hash is taken of). */
function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x && typeof x === 'object') return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical((x as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(x) ?? 'null';
}

/** sha256 of a point as run.json records it: every field but `seconds` (NaN as null), keys sorted. */
export function pointHash(p: LifelongPoint): string {
  return createHash('sha256').update(canonical(JSON.parse(JSON.stringify({ ...p, seconds: null })))).digest('hex');
}

/** What the run needs to check the curve: where it measures, and how many requests k edits hold. */
export interface CurvePlan {
  due(n: number): boolean;
  batch: number;
  requests: number;
}

export interface SequentialFolder {
  dir: string;
  /** The saved edits' .json files, in order (each checked against its hash). */
  editFiles: string[];
  /** The saved points, checked, in order, none after the last saved edit (NaN was null). */
  points: LifelongPoint[];
  /** Records the hash of edit n (its files still in edits/.partial) in run.json, before it is moved in. */
  recordEdit(n: number, partialJson: string): void;
  /** Appends a point to curve.jsonl. */
  appendPoint(p: LifelongPoint): void;
  /** Rewrites curve.jsonl whole (atomically) with these points, in order. */
  rewriteCurve(points: LifelongPoint[]): void;
}

/** A point read back from curve.jsonl: NaN was written as null. */
function fromJson(p: LifelongPoint): LifelongPoint {
  const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
  return { ...p, efficacy: num(p.efficacy), paraphrase: num(p.paraphrase), specificity: num(p.specificity), skills: { choice: num(p.skills.choice), trueFalse: num(p.skills.trueFalse), twoHop: num(p.skills.twoHop) }, seconds: num(p.seconds) };
}

/** The points of curve.jsonl, each checked (schema, order, position, recorded hash unless `hashes` is undefined); a line cut by a crash is removed from the file. */
function readPoints(file: string, plan: CurvePlan, hashes: Record<string, string> | undefined): LifelongPoint[] {
  if (!fs.existsSync(file)) return [];
  const bytes = readInputBytes(file, 'run');
  const end = bytes.lastIndexOf(0x0a) + 1;
  if (end < bytes.length) guarded(file, () => fs.truncateSync(file, end));
  const hint = `curve.jsonl holds one point per line, as MechEdit wrote it. Delete that line and the lines after it (they are measured again from the edits), or ${RESTART.charAt(0).toLowerCase()}${RESTART.slice(1)}`;
  const points: LifelongPoint[] = [];
  bytes.subarray(0, end).toString('utf8').split('\n').slice(0, -1).forEach((line, i) => {
    const at = `line ${i + 1}`;
    if (!line.trim()) throw badInput(`Line ${i + 1} of the curve is empty`, { file, field: at, hint });
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch (e) {
      throw badInput(`Line ${i + 1} is not a curve point: ${(e as Error).message}`, { file, field: at, hint });
    }
    const problem = recordProblem(POINT_SCHEMA, x);
    if (problem) throw badInput(`Line ${i + 1} is not a curve point: ${problem.message}`, { file, field: problem.field ? `${at}: ${problem.field}` : at, hint });
    const p = x as LifelongPoint;
    const before = points[points.length - 1];
    if (before && p.edits <= before.edits) throw badInput(`Line ${i + 1} is the point at ${p.edits} edits after the one at ${before.edits}: the points are out of order or repeated`, { file, field: `${at}: edits`, hint });
    if (p.edits > plan.requests || !plan.due(p.edits)) throw badInput(`Line ${i + 1} is a point at ${p.edits} requests, where this run does not measure`, { file, field: `${at}: edits`, hint });
    const recorded = hashes?.[String(p.edits)];
    if (hashes && recorded === undefined) throw badInput(`Line ${i + 1} (the point at ${p.edits} edits) is not recorded in run.json (pointHashes): it was not written by this run`, { file, field: at, hint });
    if (recorded !== undefined && recorded !== pointHash(p)) throw badInput(`Line ${i + 1} (the point at ${p.edits} edits) was changed after the run wrote it: its sha256 differs from run.json's pointHashes["${p.edits}"]`, { file, field: at, hint });
    points.push(fromJson(p));
  });
  return points;
}

/** The recorded hashes, checked against the edit files (legacy runs without them: recorded now). */
function checkHashes(runFile: string, record: Record<string, unknown>, editFiles: string[]): string[] {
  const recorded = record.editHashes;
  if (recorded === undefined) return editFiles.map(editHash);
  if (!Array.isArray(recorded) || !recorded.every((h) => typeof h === 'string' && HASH.test(h))) {
    throw badInput('The run record is damaged: "editHashes" is not a list of sha256 hashes', { file: runFile, field: 'editHashes', hint: RESTART });
  }
  editFiles.forEach((f, i) => {
    if (i >= recorded.length) throw badInput(`The edit ${path.basename(f)} is not recorded in run.json (editHashes has ${recorded.length}): it was not written by this run`, { file: f, hint: RESTART });
    if (editHash(f) !== recorded[i]) throw badInput(`The edit ${path.basename(f)} (or its .safetensors) is not the one this run wrote: its sha256 differs from run.json's editHashes[${i}] (swapped, replaced or corrupted)`, { file: f, field: `editHashes[${i}]`, hint: RESTART });
  });
  return (recorded as string[]).slice(0, editFiles.length); // a hash past the last edit: the crash came before the edit was moved in
}

function readRecord(runFile: string): Record<string, unknown> {
  let x: unknown;
  try {
    x = JSON.parse(readInputText(runFile, 'config'));
  } catch (e) {
    if ((e as { data?: unknown }).data) throw e;
    throw badInput(`The run record is unreadable: ${(e as Error).message}`, { file: runFile, hint: 'Start the run again in a new --out folder.' });
  }
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw badInput('The run record is not a JSON object', { file: runFile, hint: 'Start the run again in a new --out folder.' });
  return x as Record<string, unknown>;
}

/** The saved edits seq-00001 … in order; an edit after a gap is refused. */
function savedEdits(editsDir: string, plan: CurvePlan): string[] {
  const editFiles: string[] = [];
  for (let n = 1; fs.existsSync(path.join(editsDir, `${editId(n)}.json`)); n++) editFiles.push(path.join(editsDir, `${editId(n)}.json`));
  const stray = guarded(editsDir, () => fs.readdirSync(editsDir)).filter((f) => f.endsWith('.json') && !editFiles.some((e) => path.basename(e) === f));
  if (stray.length) throw badInput(`The edits folder has ${stray[0]} after a gap (the edits must be seq-00001 … in order)`, { file: editsDir, hint: 'Restore the missing edit files, or start the run again in a new --out folder.' });
  const most = Math.ceil(plan.requests / plan.batch);
  if (editFiles.length > most) throw badInput(`The edits folder has ${editFiles.length} edits, more than this run makes (${most})`, { file: editsDir, hint: RESTART });
  return editFiles;
}

/**
 * Creates the run folder (`record`: run.json's content), or with `resume` reopens it: run.json must
 * hold the same run (every key of `config`), the edits their recorded hashes, curve.jsonl valid points.
 */
export function openSequentialFolder(dir: string, config: Record<string, unknown>, record: Record<string, unknown>, resume: boolean, plan: CurvePlan): SequentialFolder {
  const runFile = path.join(dir, 'run.json');
  const curveFile = path.join(dir, 'curve.jsonl');
  const editsDir = path.join(dir, 'edits');
  const held = fs.existsSync(runFile) || fs.existsSync(curveFile) || fs.existsSync(editsDir);
  if (held && !resume) throw badInput('The output folder already holds a run', { file: dir, hint: 'Pass --resume to continue it, or choose another --out.' });
  makeOutFolder(editsDir);
  guarded(editsDir, () => fs.rmSync(path.join(editsDir, '.partial'), { recursive: true, force: true }));
  let hashes: string[] = [];
  let pointHashes: Record<string, string> = {};
  let current: Record<string, unknown>;
  let editFiles: string[] = [];
  let points: LifelongPoint[] = [];
  if (!held || !fs.existsSync(runFile)) {
    if (held && (fs.existsSync(curveFile) || fs.readdirSync(editsDir).length)) throw badInput('The folder has results but no run record (run.json): they cannot be checked against this run', { file: dir, hint: 'Choose another --out.' });
    current = { ...record, editHashes: [], pointHashes: {} };
    writeOut(runFile, `${JSON.stringify(current, null, 2)}\n`);
    writeOut(curveFile, '');
  } else {
    current = readRecord(runFile);
    for (const [k, v] of Object.entries(config)) {
      if (JSON.stringify(current[k] ?? null) !== JSON.stringify(v ?? null)) {
        throw badInput(`--resume: the folder holds a different run (${k}: ${JSON.stringify(current[k] ?? null)} ≠ ${JSON.stringify(v ?? null)})`, { file: runFile, field: k, hint: 'Resume with the same model, method, requests, --batch, --every and settings, or choose another --out.' });
      }
    }
    editFiles = savedEdits(editsDir, plan);
    hashes = checkHashes(runFile, current, editFiles);
    const done = Math.min(editFiles.length * plan.batch, plan.requests);
    const recorded = current.pointHashes;
    if (recorded !== undefined && !(typeof recorded === 'object' && recorded !== null && !Array.isArray(recorded) && Object.values(recorded).every((h) => typeof h === 'string' && HASH.test(h)))) {
      throw badInput('The run record is damaged: "pointHashes" is not a map of sha256 hashes', { file: runFile, field: 'pointHashes', hint: RESTART });
    }
    const read = readPoints(curveFile, plan, recorded as Record<string, string> | undefined);
    points = read.filter((p) => p.edits <= done);
    // A run from before the hashes: those of its points now; else the recorded ones up to the last saved edit.
    pointHashes = recorded === undefined ? Object.fromEntries(points.map((p) => [String(p.edits), pointHash(p)]))
      : Object.fromEntries(Object.entries(recorded as Record<string, string>).filter(([k]) => Number(k) <= done));
    current = { ...current, editHashes: hashes, pointHashes };
    writeOut(runFile, `${JSON.stringify(current, null, 2)}\n`);
    if (points.length < read.length) writeOut(curveFile, points.map(toLine).join(''));
  }
  /** Records a point's hash before it is written; a point measured again must match the one recorded. */
  const recordPoint = (p: LifelongPoint) => {
    const key = String(p.edits);
    const h = pointHash(p);
    if (pointHashes[key] === h) return;
    if (pointHashes[key] !== undefined) throw badInput(`The point at ${p.edits} edits, measured again from the edit files, is not the one the run measured (its sha256 differs from run.json's pointHashes["${key}"])`, { file: runFile, field: `pointHashes["${key}"]`, hint: RESTART });
    pointHashes = { ...pointHashes, [key]: h };
    current = { ...current, pointHashes };
    writeOut(runFile, `${JSON.stringify(current, null, 2)}\n`);
  };
  return {
    dir,
    editFiles,
    points,
    recordEdit(n, partialJson) {
      if (n !== hashes.length + 1) throw new Error(`recordEdit: edit ${n} after ${hashes.length}`);
      hashes = [...hashes, editHash(partialJson)];
      current = { ...current, editHashes: hashes };
      writeOut(runFile, `${JSON.stringify(current, null, 2)}\n`);
    },
    appendPoint(p) {
      recordPoint(p);
      appendOut(curveFile, toLine(p)); // a failed append is cut back: no partial line stays
    },
    rewriteCurve(list) {
      for (const p of list) recordPoint(p);
      writeOut(curveFile, [...list].sort((a, b) => a.edits - b.edits).map(toLine).join(''));
    },
  };
}
