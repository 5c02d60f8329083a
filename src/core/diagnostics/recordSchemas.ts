// The records of run folders checked against their JSON schemas (schemas/runs/<tool>.schema.json,
// one per diagnostic: a cases.jsonl line; sequential: a curve.jsonl point) with ajv. The same
// check serves --resume (a damaged record is refused before the run goes on from it) and `mechedit
// merge` (a damaged shard is refused before its figures enter the summary). Which schemas exist is
// the diagnostics registry's: each plugin names its own (DiagnosticPlugin.records).

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { fieldPath } from '../edits/editSchema';

// allowUnionTypes: a figure that may be NaN is written as null (["number", "null"]).
const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, verbose: true });
const compiled = new WeakMap<object, ValidateFunction>();

function validator(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** A record's first violation of its schema: the field (`tasks.efficacy.probs.new`, `rows[2].before`; '' for the whole record) and what is wrong. */
export interface RecordProblem {
  field: string;
  message: string;
}

const shown = (x: unknown) => (JSON.stringify(x) ?? String(x)).slice(0, 60);

function describe(e: ErrorObject): RecordProblem {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required') {
    const field = fieldPath(e.instancePath, String(params.missingProperty));
    return { field, message: `"${field}" is missing` };
  }
  if (e.keyword === 'additionalProperties') {
    const field = fieldPath(e.instancePath, String(params.additionalProperty));
    return { field, message: `"${field}" is not a field of this record` };
  }
  const field = fieldPath(e.instancePath);
  const what = e.keyword === 'enum' ? `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
    : e.keyword === 'type' ? `must be ${String(params.type).split(',').map((t) => (t === 'null' ? 'null' : `a${t === 'integer' || t === 'object' || t === 'array' ? 'n' : ''} ${t}`)).join(' or ')}`
    : e.message ?? 'is invalid';
  const about = field && typeof e.parentSchema?.description === 'string' ? ` (${e.parentSchema.description})` : '';
  return { field, message: `${field ? `"${field}"` : 'the record'} ${what}${about}, got ${shown(e.data)}` };
}

/** The first violation of `schema` by `record`, or undefined when it conforms. */
export function recordProblem(schema: object, record: unknown): RecordProblem | undefined {
  const validate = validator(schema);
  if (validate(record)) return undefined;
  const first = validate.errors?.[0];
  return first ? describe(first) : { field: '', message: 'the record does not match its schema' };
}
