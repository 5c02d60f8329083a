// Reader for ORT target folders (RWKU layout, shared METHODS.md): Target/<n>_<Name>/ with
//   forget_level1.json (cloze), forget_level2.json (question answering), forget_level3.json
//   (adversarial), forget_mcp.json (4-option multiple choice), forget_level4.json (true/false,
//   when present), neighbor_level1.json, neighbor_level2.json, neighbor_mcp.json;
// records {query, answer, level, type, subject}. Bad records are reported by file, index, field.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput } from '../errors';
import { readRecords, str, type RecordIssue } from '../records';
import { readInputText } from '../inputs';

export type OrtSet = 'forget' | 'neighbor';
export interface OrtItem {
  set: OrtSet;
  /** The form of expression: fill-in, question-answer, adversarial, multiple-choice, true-false. */
  form: string;
  file: string;
  index: number;
  query: string;
  answer: string;
  type: string;
  subject: string;
}

export const ORT_FILES: { file: string; set: OrtSet; form: string }[] = [
  { file: 'forget_level1.json', set: 'forget', form: 'fill-in' },
  { file: 'forget_level2.json', set: 'forget', form: 'question-answer' },
  { file: 'forget_level3.json', set: 'forget', form: 'adversarial' },
  { file: 'forget_mcp.json', set: 'forget', form: 'multiple-choice' },
  { file: 'forget_level4.json', set: 'forget', form: 'true-false' },
  { file: 'neighbor_level1.json', set: 'neighbor', form: 'fill-in' },
  { file: 'neighbor_level2.json', set: 'neighbor', form: 'question-answer' },
  { file: 'neighbor_mcp.json', set: 'neighbor', form: 'multiple-choice' },
];

export function readOrtTarget(dir: string): { name: string; items: OrtItem[]; issues: RecordIssue[] } {
  if (!isDir(dir)) throw badInput('ORT target folder not found', { file: dir, hint: 'Give a Target/<n>_<Name>/ folder with forget_level1.json … neighbor_mcp.json.' });
  const present = ORT_FILES.filter((f) => fs.existsSync(path.join(dir, f.file)));
  if (!present.some((f) => f.set === 'forget')) throw badInput('No forget_*.json file in the target folder', { file: dir, hint: `Expected some of: ${ORT_FILES.map((f) => f.file).join(', ')}.` });
  const items: OrtItem[] = [];
  const issues: RecordIssue[] = [];
  for (const f of present) {
    const file = path.join(dir, f.file);
    const text = readInputText(file, 'data');
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      issues.push({ file, index: -1, field: '', message: `not valid JSON: ${(e as Error).message}` });
      continue;
    }
    const r = readRecords(file, data, (rec, index) => {
      const raw = (rec as Record<string, unknown>).answer;
      const answer = typeof raw === 'number' ? String(raw) : str(rec, 'answer');
      return { set: f.set, form: f.form, file, index, query: str(rec, 'query'), answer, type: typeof (rec as Record<string, unknown>).type === 'string' ? ((rec as Record<string, unknown>).type as string) : f.form, subject: typeof (rec as Record<string, unknown>).subject === 'string' ? ((rec as Record<string, unknown>).subject as string) : '' };
    });
    items.push(...r.records);
    issues.push(...r.issues);
  }
  return { name: path.basename(dir), items, issues };
}

/** The sub-token form: write the answer character by character, one per line. */
export function characterForm(item: OrtItem): OrtItem {
  return { ...item, form: 'character-by-character', query: `Write the answer character by character, each on a new line.\n${item.query}`, answer: [...item.answer].join('\n') };
}

/** One target folder, or a Target/ folder of them (those holding forget_*.json files). */
export function ortTargets(dir: string): string[] {
  if (!isDir(dir)) throw badInput('ORT target folder not found', { file: dir, hint: 'Give Target/<n>_<Name>/ or the Target/ folder.' });
  if (fs.readdirSync(dir).some((f) => f.startsWith('forget_'))) return [dir];
  const subs = fs.readdirSync(dir).map((f) => path.join(dir, f)).filter((f) => isDir(f) && fs.readdirSync(f).some((x) => x.startsWith('forget_'))).sort();
  if (subs.length === 0) throw badInput('No ORT target folders (with forget_*.json) here', { file: dir });
  refuseDuplicateIds(subs);
  return subs;
}

function isDir(f: string): boolean {
  try {
    return fs.statSync(f).isDirectory();
  } catch {
    return false; // missing, a broken link, or unreadable
  }
}

/** Target folders are <n>_<Name>, n the target's id: two folders with one id are refused. */
function refuseDuplicateIds(dirs: string[]): void {
  const seen = new Map<string, string>();
  for (const d of dirs) {
    const id = /^(\d+)_/.exec(path.basename(d))?.[1];
    if (id === undefined) continue;
    const other = seen.get(String(Number(id)));
    if (other !== undefined) {
      throw badInput(`Target id ${id} appears twice: ${path.basename(other)} and ${path.basename(d)}`, { file: d, field: 'target id', hint: 'Give every target folder its own number (Target/<n>_<Name>/): results, --resume and merge are keyed by it.' });
    }
    seen.set(String(Number(id)), d);
  }
}
