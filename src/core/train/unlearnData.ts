// Forget and retain material for training edits.
//
// Forget material is either
//   - a JSONL file, one {prompt, answer, form?} per line (form: a canonical name or alias below,
//     or the file's own word; default "qa"; an empty prompt trains the whole answer as a text), or
//   - an ORT target folder Target/<n>_<Name>/ (RWKU's layout, ortData.ts): the forget
//     test sets {query, answer} (forget_level1 cloze, forget_level2 qa, forget_level3 adversarial,
//     forget_mcp mcq, forget_level4 tf) and RWKU's training material: passage.json and
//     positive.json [{text}] (prompt "", the whole text trained), pair.json
//     [{prompt, response: [chosen, rejected]}] (prompt → rejected, the true answer; chosen kept as
//     `preferred`), reject.json [{instruction, input, output}] (the outputs are the refusals).
// Retain material is a JSONL file like the forget one. Answers and refusals carry no leading
// space: a row is the prompt then " " + answer (train/rows.ts). Every bad input is refused with the
// file, the record (JSONL: line; JSON: index) and the field.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { ORT_FILES } from './ortData';
import { RecordError, formatIssue, readRecords, str, strList, type RecordIssue } from '../records';
import { decodeText, readInputBytes } from '../inputs';

export interface TrainItem {
  prompt: string;
  answer: string;
  /** Canonical form: cloze | qa | adversarial | mcq | tf | passage | positive | pair (file's own for JSONL). */
  form: string;
  file: string;
  /** The record: its line number (1-based) in a JSONL file, its index (0-based) in a JSON array. */
  index: number;
  /** pair.json: the preferred response (RWKU's chosen; the answer is the rejected one). */
  preferred?: string;
}

export interface UnlearnMaterial {
  /** The concept / target name (ORT folder name, or the file's base name). */
  name: string;
  forget: TrainItem[];
  retain: TrainItem[];
  /** Refusals for RT / DPO (reject.json), empty when the source has none. */
  refusals: string[];
  /** Every file read, with its sha256 (recorded in the edit). */
  sources: { file: string; sha256: string }[];
  /** The forms trained on (after the forms setting). */
  forms: string[];
}

/** The canonical forms, in table order: the ORT test forms, then the training material's. */
export const TRAIN_FORMS = ['cloze', 'qa', 'adversarial', 'mcq', 'tf', 'passage', 'positive', 'pair'];
/** Other names of the forms (ORT's own form names among them). */
export const FORM_ALIASES: Record<string, string> = { 'fill-in': 'cloze', 'question-answer': 'qa', 'multiple-choice': 'mcq', mc: 'mcq', 'true-false': 'tf' };
const TEST_FORMS = ['cloze', 'qa', 'adversarial', 'mcq', 'tf'];
const DEFAULT_FORMS = [...TEST_FORMS, 'passage', 'positive'];

type Kind = 'test' | 'text' | 'pair';
/** The forget files of a target folder and the form each holds. */
const FOLDER_FILES: { file: string; form: string; kind: Kind }[] = [
  ...ORT_FILES.filter((f) => f.set === 'forget').map((f) => ({ file: f.file, form: canonicalForm(f.form)!, kind: 'test' as const })),
  { file: 'passage.json', form: 'passage', kind: 'text' },
  { file: 'positive.json', form: 'positive', kind: 'text' },
  { file: 'pair.json', form: 'pair', kind: 'pair' },
];
const REJECT_FILE = 'reject.json';

/** A canonical form name, an alias's canonical name, or undefined for an unknown word. */
export function canonicalForm(name: string): string | undefined {
  const n = name.trim().toLowerCase();
  return TRAIN_FORMS.includes(n) ? n : FORM_ALIASES[n];
}

const formList = () => `${TRAIN_FORMS.join(', ')} (aliases: ${Object.entries(FORM_ALIASES).map(([a, c]) => `${a} = ${c}`).join(', ')})`;

/** The forms setting, "qa,cloze" (a string, or several of them): the canonical names, each once; undefined when not given. */
export function parseForms(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const words = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((w) => w.trim()).filter(Boolean);
  if (words.length === 0) throw badInput('forms is empty', { field: 'forms', hint: `Name one or more forms, comma-separated: ${formList()}.` });
  const out: string[] = [];
  for (const w of words) {
    const c = canonicalForm(w);
    if (c === undefined) throw badInput(`forms: unknown form "${w}"`, { field: 'forms', hint: `Known forms: ${formList()}.` });
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** <modelDir>/eval/unlearn/retain.jsonl when the checkpoint has one (the bundled model does). */
export function defaultRetain(modelDir: string): string | undefined {
  const f = path.join(modelDir, 'eval', 'unlearn', 'retain.jsonl');
  return fs.existsSync(f) ? f : undefined;
}

export function readUnlearnMaterial(o: { forget: string; retain?: string; forms?: string[] }): UnlearnMaterial {
  const sources: UnlearnMaterial['sources'] = [];
  const read = (file: string): string => {
    const bytes = readInputBytes(file, 'data');
    sources.push({ file, sha256: crypto.createHash('sha256').update(bytes).digest('hex') });
    return decodeText(bytes, file, 'data');
  };
  if (!fs.existsSync(o.forget)) throw badInput('The forget material is not there', { file: o.forget, field: 'forget', hint: 'Give a JSONL file of {prompt, answer} or an ORT target folder (Target/<n>_<Name>/).' });
  const own = fs.statSync(o.forget).isDirectory() ? readFolder(o.forget, o.forms, read) : readForgetJsonl(o.forget, o.forms, read);
  let retain: TrainItem[] = [];
  if (o.retain !== undefined) {
    if (!fs.existsSync(o.retain) || fs.statSync(o.retain).isDirectory()) {
      throw badInput(fs.existsSync(o.retain) ? 'The retain material is a folder, not a JSONL file' : 'The retain material is not there', { file: o.retain, field: 'retain', hint: 'Give a JSONL file of facts to keep, {prompt, answer} per line.' });
    }
    retain = readJsonl(o.retain, read(o.retain));
  }
  return { ...own, retain, sources };
}

type Read = (file: string) => string;
type Own = Pick<UnlearnMaterial, 'name' | 'forget' | 'refusals' | 'forms'>;

function readFolder(dir: string, forms: string[] | undefined, read: Read): Own {
  const name = path.basename(path.resolve(dir));
  const present = FOLDER_FILES.filter((f) => fs.existsSync(path.join(dir, f.file)));
  if (present.length === 0) {
    const subs = fs.readdirSync(dir).filter((f) => FOLDER_FILES.some((x) => fs.existsSync(path.join(dir, f, x.file))));
    throw badInput('No forget material in this folder', {
      file: dir,
      field: 'forget',
      hint: subs.length ? `This looks like a Target/ folder: give one of its target folders (${subs.sort().join(', ')}).` : `A target folder holds some of: ${FOLDER_FILES.map((f) => f.file).join(', ')}.`,
    });
  }
  const has = present.map((f) => f.form);
  let chosen: string[];
  if (forms === undefined) chosen = DEFAULT_FORMS.filter((f) => has.includes(f));
  else {
    chosen = [];
    for (const w of forms) {
      const c = canonicalForm(w);
      if (c === undefined) throw badInput(`forms: unknown form "${w}"`, { field: 'forms', hint: `Known forms: ${formList()}.` });
      if (!has.includes(c)) throw badInput(`forms: the target folder has no ${c} items`, { file: dir, field: 'forms', hint: `Its forms: ${has.join(', ')}.` });
      if (!chosen.includes(c)) chosen.push(c);
    }
    chosen = TRAIN_FORMS.filter((f) => chosen.includes(f));
  }
  const forget: TrainItem[] = [];
  for (const f of present.filter((p) => chosen.includes(p.form))) {
    const file = path.join(dir, f.file);
    forget.push(...jsonRecords(file, read(file), (rec, index) => folderItem(f.kind, f.form, file, rec, index)));
  }
  let refusals: string[] = [];
  const reject = path.join(dir, REJECT_FILE);
  if (fs.existsSync(reject)) {
    const outs = jsonRecords(reject, read(reject), (rec) => {
      str(rec, 'instruction');
      const input = (rec as Record<string, unknown>).input;
      if (input !== undefined && typeof input !== 'string') throw new RecordError('input', `expected a string, got ${JSON.stringify(input)}`);
      return str(rec, 'output').trimStart();
    });
    refusals = [...new Set(outs.filter(Boolean))];
  }
  if (forget.length === 0) throw badInput(`No forget items in the target folder's ${chosen.join(', ')} files`, { file: dir, field: 'forms', hint: `Its files of those forms are empty; its forms: ${has.join(', ')}.` });
  return { name, forget, refusals, forms: chosen };
}

function folderItem(kind: Kind, form: string, file: string, rec: unknown, index: number): TrainItem {
  if (kind === 'text') return { prompt: '', answer: str(rec, 'text'), form, file, index };
  if (kind === 'pair') {
    const response = strList(rec, 'response');
    if (response.length !== 2) throw new RecordError('response', `expected [chosen, rejected] (2 responses), got ${response.length}`);
    return { prompt: str(rec, 'prompt'), answer: response[1].trimStart(), form, file, index, preferred: response[0].trimStart() };
  }
  const raw = (rec as Record<string, unknown>).answer;
  return { prompt: str(rec, 'query'), answer: typeof raw === 'number' ? String(raw) : str(rec, 'answer'), form, file, index };
}

/** A JSON array file's records; the first bad record refuses the file (file, index, field). */
function jsonRecords<T>(file: string, text: string, read: (record: unknown, index: number) => T): T[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw badInput(`Not valid JSON: ${(e as Error).message}`, { file, hint: 'The file should hold a JSON array of records.' });
  }
  const { records, issues } = readRecords(file, data, read);
  if (issues.length) throw refused(issues, 'Fix or remove the record.');
  return records;
}

function refused(issues: RecordIssue[], hint: string) {
  const i = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more bad record${issues.length > 2 ? 's' : ''})` : '';
  return badInput(`${formatIssue(i)}${more}`, { file: i.file, field: i.field || undefined, hint });
}

function readForgetJsonl(file: string, forms: string[] | undefined, read: Read): Own {
  const all = readJsonl(file, read(file));
  const has = [...new Set(all.map((i) => i.form))];
  const order = (xs: string[]) => [...TRAIN_FORMS.filter((f) => xs.includes(f)), ...xs.filter((f) => !TRAIN_FORMS.includes(f))];
  let chosen = order(has);
  if (forms !== undefined) {
    chosen = [];
    for (const w of forms) {
      const c = canonicalForm(w) ?? w.trim();
      if (!has.includes(c)) throw badInput(`forms: the file has no ${c} items`, { file, field: 'forms', hint: `Its forms: ${order(has).join(', ')}.` });
      if (!chosen.includes(c)) chosen.push(c);
    }
    chosen = order(chosen);
  }
  return { name: path.basename(file).replace(/\.jsonl?$/i, ''), forget: all.filter((i) => chosen.includes(i.form)), refusals: [], forms: chosen };
}

/** {prompt, answer, form?} per line; blank lines skipped. */
function readJsonl(file: string, text: string): TrainItem[] {
  if (text.trimStart().startsWith('[')) throw badInput('Expected JSON Lines (one {prompt, answer} record per line), found a JSON array', { file, hint: 'Write one record per line, or give the ORT target folder the file belongs to.' });
  const items: TrainItem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (!t) return;
    let rec: unknown;
    try {
      rec = JSON.parse(t);
    } catch (e) {
      throw badInput(`${file}:${line}: not valid JSON: ${(e as Error).message}`, { file, field: `line ${line}`, hint: 'Each line holds one JSON record {"prompt": …, "answer": …}.' });
    }
    try {
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new RecordError('', `expected a record {"prompt": …, "answer": …}, got ${t.length > 60 ? `${t.slice(0, 57)}...` : t}`);
      const r = rec as Record<string, unknown>;
      if (typeof r.prompt !== 'string') throw new RecordError('prompt', `expected a string, got ${r.prompt === undefined ? 'nothing (the field is missing)' : JSON.stringify(r.prompt)}`);
      const answer = typeof r.answer === 'number' ? String(r.answer) : str(r, 'answer');
      const form = r.form === undefined ? 'qa' : str(r, 'form');
      items.push({ prompt: r.prompt, answer, form: canonicalForm(form) ?? form, file, index: line });
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      throw badInput(`${file}:${line}${e.field ? `: field "${e.field}"` : ''}: ${e.message}`, { file, field: e.field ? `line ${line}: ${e.field}` : `line ${line}`, hint: 'Each line holds {"prompt": "…", "answer": "…"} (optionally "form"); fix or remove the line.' });
    }
  });
  if (items.length === 0) throw badInput('The file has no records', { file, hint: 'Write one {"prompt": …, "answer": …} record per line.' });
  return items;
}
