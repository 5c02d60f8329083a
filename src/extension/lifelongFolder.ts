// Reading sequential-editing run folders for the Lifelong editing panel, without VS Code
// (unit-tested). A run folder (mechedit sequential --out DIR, or one method of a panel session)
// holds run.json (its settings, with the method) and curve.jsonl (one point per line, appended as
// the run goes); a session folder holds one run folder per method.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FactMethod } from '../protocol/engine';
import type { LifelongPoint, LifelongRunSnapshot } from '../protocol/lifelong';
import { readUserText } from './readGuard';

const CURVE = 'curve.jsonl';
const SETTINGS = 'run.json';

const isRunFolder = (dir: string) => fs.existsSync(path.join(dir, CURVE)) || fs.existsSync(path.join(dir, SETTINGS));

function isMethod(m: unknown, methods: readonly string[] | undefined): m is FactMethod {
  return typeof m === 'string' && m !== '' && (!methods || methods.includes(m));
}

function pointError(file: string, line: number, what: string): Error {
  return new Error(`${file}, line ${line}: ${what}. Each line of ${CURVE} is one point {edits, efficacy, paraphrase, specificity, skills, health, seconds}, as mechedit sequential writes it; remove the line or run the sequence again.`);
}

/**
 * The points of a curve.jsonl. A last line without its newline is a write the run did not finish
 * (it was stopped mid-line) and is left out; any other line that is not a point is an error
 * naming the file, the line and the field.
 */
export function parseCurve(text: string, file: string): LifelongPoint[] {
  const lines = text.split('\n');
  const points: LifelongPoint[] = [];
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return; // unfinished last write
      throw pointError(file, i + 1, 'not JSON');
    }
    const o = v as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw pointError(file, i + 1, 'not an object');
    if (!Number.isInteger(o.edits) || (o.edits as number) < 0) throw pointError(file, i + 1, '"edits" is not a whole number');
    // null: not measured (NaN written as JSON).
    const figure = (v: unknown) => v === null || (typeof v === 'number' && !Number.isNaN(v));
    for (const k of ['efficacy', 'paraphrase', 'specificity', 'seconds']) {
      if (!figure(o[k])) throw pointError(file, i + 1, `"${k}" is not a number`);
    }
    const skills = o.skills as Record<string, unknown> | undefined;
    for (const k of ['choice', 'trueFalse', 'twoHop']) {
      if (typeof skills !== 'object' || skills === null || !figure(skills[k])) throw pointError(file, i + 1, `"skills.${k}" is not a number`);
    }
    if (!Array.isArray(o.health)) throw pointError(file, i + 1, '"health" is not a list');
    points.push(o as unknown as LifelongPoint);
  });
  return points;
}

/** The method of a run folder: run.json's "method", else the folder's name when it is one. */
function runMethod(dir: string, methods: readonly string[] | undefined): FactMethod {
  const file = path.join(dir, SETTINGS);
  if (fs.existsSync(file)) {
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(readUserText(file, 'config')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file} is not JSON (${(e as Error).message}).`);
    }
    const m = json.method ?? (json.options as Record<string, unknown> | undefined)?.method;
    if (isMethod(m, methods)) return m;
    throw new Error(`${file}: "method" must be ${methods ? `one of ${methods.join(', ')}` : 'a method name'}, got ${JSON.stringify(m)}.`);
  }
  const name = path.basename(dir);
  if (isMethod(name, methods)) return name;
  throw new Error(`${dir} has no ${SETTINGS} saying which method made its curve.`);
}

/** One run folder as the panel draws it ('loaded'; no points yet when curve.jsonl is missing). */
export function readRun(dir: string, methods?: readonly string[]): LifelongRunSnapshot {
  const file = path.join(dir, CURVE);
  const points = fs.existsSync(file) ? parseCurve(readUserText(file, 'run'), file) : [];
  return { method: runMethod(dir, methods), folder: dir, status: 'loaded', points };
}

/**
 * The runs of a folder: itself when it is a run folder, else its subfolders that are, in the
 * panel's method order. An error names the folder when it holds none.
 */
export function readSessionFolder(dir: string, methods?: readonly string[]): LifelongRunSnapshot[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder.`);
  if (isRunFolder(dir)) return [readRun(dir, methods)];
  const subs = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && isRunFolder(path.join(dir, d.name)));
  if (subs.length === 0) throw new Error(`${dir} holds no sequential-editing run: a run folder has ${CURVE} and ${SETTINGS} (mechedit sequential --out DIR, or the Lifelong editing panel's .mechedit/lifelong/<session>/<method>/).`);
  const runs = subs.map((d) => readRun(path.join(dir, d.name), methods));
  const rank = (m: FactMethod) => methods?.indexOf(m) ?? 0;
  return runs.sort((a, b) => rank(a.method) - rank(b.method) || a.folder.localeCompare(b.folder));
}

/** A new session folder's name: the local time, sortable ("2026-12-03_18-40-05"). */
export function sessionName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}_${p(now.getHours())}-${p(now.getMinutes())}-${p(now.getSeconds())}`;
}
