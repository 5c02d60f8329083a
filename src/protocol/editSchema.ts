// Validation of edit files against schemas/edit.schema.json with ajv: the schema that VS Code
// shows the user is the one the engine's reader enforces (src/core/edits/editSchema.ts) and the
// one the extension reports in the Problems panel (src/extension/editFileProblems.ts), so they
// cannot drift. The first violation is named by the JSON path of its field, e.g.
// `targets[0].layer` or `vectors`.

import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../schemas/edit.schema.json';

/** RFC 3339 date-time, as Date.prototype.toISOString writes it (the schema's "format": "date-time"). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

// verbose: errors carry the schema of the field, whose description says what it should hold.
const ajv = new Ajv({ allErrors: false, strict: true, verbose: true });
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) });
const validate = ajv.compile(schema);

/** `/targets/0/layer` → `targets[0].layer` (the field names errors use elsewhere). */
export function fieldPath(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

function describe(e: ErrorObject): { field: string; message: string } {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required') {
    const field = fieldPath(e.instancePath, String(params.missingProperty));
    return { field, message: `"${field}" is missing` };
  }
  if (e.keyword === 'additionalProperties') {
    const field = fieldPath(e.instancePath, String(params.additionalProperty));
    return { field, message: `"${field}" is not a field of an edit` };
  }
  const field = fieldPath(e.instancePath);
  const what = e.keyword === 'enum'
    ? `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
    : e.keyword === 'const' ? `must be ${JSON.stringify(params.allowedValue)}` : e.message ?? 'is invalid';
  const about = typeof e.parentSchema?.description === 'string' ? ` (${e.parentSchema.description})` : '';
  return { field, message: `${field ? `"${field}"` : 'The edit'} ${what}${about}` };
}

/** The first violation of the schema by a parsed edit file (field and message), or undefined when it conforms. */
export function editSchemaProblem(json: unknown): { field?: string; message: string } | undefined {
  if (validate(json)) return undefined;
  const first = validate.errors?.[0];
  return first ? describe(first) : { message: 'The edit does not match schemas/edit.schema.json' };
}

/** The problem of an edit file's text (field and message), or undefined when it is a valid edit. */
export function editFileProblem(text: string): { field?: string; message: string } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { message: `Not valid JSON (${(e as Error).message}): an edit file is one JSON object (schemas/edit.schema.json)` };
  }
  const p = editSchemaProblem(json);
  return p && { ...p, message: `${p.message} — edit files follow schemas/edit.schema.json; MechEdit cannot apply this one` };
}
