// The rows of the Edits view, without VS Code (unit-tested): every applied edit, in stack order,
// wherever its file lives (the workspace's .mechedit/edits/, the extension's storage folder when
// the workspace is the model's own folder, any folder an edit was applied from) or with no file;
// then the workspace's edit files that are not applied, by path.

import * as path from 'node:path';
import type { StackItem } from '../../protocol/edits';

/** One row: an applied edit (item, and its file when it has one) or an edit file not applied. */
export interface EditRow {
  file?: string;
  item?: StackItem;
}

export function editRows(items: readonly StackItem[], files: readonly string[]): EditRow[] {
  const applied = new Set(items.filter((i) => i.file).map((i) => path.resolve(i.file!)));
  const rest = files.filter((f) => !applied.has(path.resolve(f))).sort((a, b) => a.localeCompare(b));
  return [...items.map((item) => ({ file: item.file, item })), ...rest.map((file) => ({ file }))];
}
