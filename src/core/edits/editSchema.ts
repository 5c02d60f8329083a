// Validation of edit files against schemas/edit.schema.json (src/protocol/editSchema.ts, ajv): the
// first violation becomes a bad-input error naming the file and the JSON path of the field, e.g.
// `targets[0].layer` or `vectors`.

import { editSchemaProblem } from '../../protocol/editSchema';
import { badInput, type MechEditError } from '../errors';

export { fieldPath } from '../../protocol/editSchema';

/** Checks a parsed edit file; the first violation of the schema, or undefined when it conforms. */
export function editSchemaError(json: unknown, file: string): MechEditError | undefined {
  const problem = editSchemaProblem(json);
  if (!problem) return undefined;
  if (problem.field === undefined) return badInput(problem.message, { file });
  return badInput(problem.message, { file, field: problem.field, hint: 'Edit files follow schemas/edit.schema.json.' });
}
