// Validation of edit files against schemas/edit.schema.json with ajv: the schema that VS Code
// shows the user is the one the reader enforces, so the two cannot drift. The first violation
// becomes a bad-input error naming the file and the JSON path of the field, e.g.
// `targets[0].layer` or `vectors`.

import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../../schemas/edit.schema.json';
import { badInput, type MechEditError } from '../errors';

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

/** Checks a parsed edit file; the first violation of the schema, or undefined when it conforms. */
export function editSchemaError(json: unknown, file: string): MechEditError | undefined {
  if (validate(json)) return undefined;
  const first = validate.errors?.[0];
  if (!first) return badInput('The edit does not match schemas/edit.schema.json', { file });
  const { field, message } = describe(first);
  return badInput(message, { file, field, hint: 'Edit files follow schemas/edit.schema.json.' });
}
