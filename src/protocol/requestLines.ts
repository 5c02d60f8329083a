// One line of a request file (.mechedit/requests/*.jsonl), checked without the engine: the
// extension draws a CodeLens for a valid line and a Problems entry naming the field for a bad one.
// The rules are those of the engine's reader (src/core/edits/requests.ts, parseRequest):
//   fact:     {"subject", "prompt" (with "{}"), "target"}: non-empty strings; other keys are settings
//             (also CounterFact records: {"requested_rewrite": {"subject", "prompt", "target_new": {"str"}}})
//   concept:  {"kind": "concept", "concept", "to"}: non-empty strings
//   unlearn:  {"kind": "unlearn", "concept" or "forget": a string, …}
// Blank lines and // comments are neither.

export type RequestLineCheck =
  | { kind: 'skip' }
  | { kind: 'fact'; subject: string; prompt: string; target: string; settings: Record<string, unknown> }
  | { kind: 'concept'; concept: string; to: string }
  | { kind: 'unlearn'; record: Record<string, unknown> }
  /** A bad line: the message names the field (absent for a line that is not a JSON object). */
  | { kind: 'problem'; message: string; field?: string };

const FACT_HINT = 'a fact needs "subject", "prompt" (with "{}" for the subject) and "target"';

/** The first bad field of `fields` (each a non-empty string), as a problem; undefined when all are good. */
function badString(r: Record<string, unknown>, fields: string[], prefix = '', hint = FACT_HINT): RequestLineCheck | undefined {
  for (const f of fields) {
    const v = r[f];
    if (v === undefined) return { kind: 'problem', field: prefix + f, message: `"${prefix + f}" is missing: ${hint}` };
    if (typeof v !== 'string' || !v.trim()) return { kind: 'problem', field: prefix + f, message: `"${prefix + f}" must be a non-empty string, got ${JSON.stringify(v)}` };
  }
  return undefined;
}

function noSlot(prompt: string, field: string): RequestLineCheck | undefined {
  return prompt.includes('{}') ? undefined : { kind: 'problem', field, message: `"${field}" ${JSON.stringify(prompt)} has no "{}" for the subject: write it as, for example, "{} was born in"` };
}

function checkFact(r: Record<string, unknown>): RequestLineCheck {
  const cf = r.requested_rewrite;
  if (cf && typeof cf === 'object' && !Array.isArray(cf)) {
    const c = cf as Record<string, unknown>;
    const target = (c.target_new as Record<string, unknown> | undefined)?.str;
    // In the engine's order: subject, prompt and its "{}", target.
    const bad = badString(c, ['subject', 'prompt'], 'requested_rewrite.') ?? noSlot(c.prompt as string, 'requested_rewrite.prompt') ?? badString({ str: target }, ['str'], 'requested_rewrite.target_new.');
    return bad ?? { kind: 'fact', subject: c.subject as string, prompt: c.prompt as string, target: target as string, settings: {} };
  }
  const bad = badString(r, ['subject', 'prompt']) ?? noSlot(r.prompt as string, 'prompt') ?? badString(r, ['target']);
  if (bad) return bad;
  const { subject, prompt, target, kind: _kind, ...settings } = r;
  return { kind: 'fact', subject: subject as string, prompt: prompt as string, target: target as string, settings };
}

/** Checks one line of a request file. */
export function checkRequestLine(text: string): RequestLineCheck {
  const t = text.trim();
  if (!t || t.startsWith('//')) return { kind: 'skip' };
  let raw: unknown;
  try {
    raw = JSON.parse(t);
  } catch (e) {
    return { kind: 'problem', message: `Not valid JSON (${(e as Error).message}): each line holds one JSON object, e.g. {"subject": …, "prompt": "{} …", "target": …}` };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { kind: 'problem', message: `Expected a JSON object {…}, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}` };
  const r = raw as Record<string, unknown>;
  if (r.kind === 'concept') return badString(r, ['concept', 'to'], '', 'a concept request needs "concept" and "to"') ?? { kind: 'concept', concept: r.concept as string, to: r.to as string };
  if (r.kind === 'unlearn') {
    if (typeof r.concept !== 'string' && typeof r.forget !== 'string') return { kind: 'problem', field: 'forget', message: 'An unlearn request needs "concept" or "forget": name the concept or give the forget material\'s path' };
    return { kind: 'unlearn', record: r };
  }
  if (r.kind !== undefined && r.kind !== 'fact') return { kind: 'problem', field: 'kind', message: `"kind" must be "fact", "concept" or "unlearn", got ${JSON.stringify(r.kind)}` };
  return checkFact(r);
}
