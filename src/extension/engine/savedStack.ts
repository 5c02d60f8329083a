// The applied edit stack as the workspace remembers it (workspaceState), so that a window reload
// puts the same edits back on the same model: the edit files in stack order with their strength
// and enabled flag. Only edits with a file can be re-applied; the others are remembered by label
// so that the user is told they were not restored.

import * as path from 'node:path';
import type { StackItem } from '../../protocol/edits';

export const SAVED_STACK_KEY = 'mechedit.appliedStack';

/** One applied edit as saved: its file (absent for an edit that has none), label, strength, enabled. */
export interface SavedEdit {
  file?: string;
  label: string;
  strength: number;
  enabled: boolean;
}

/** The stack saved for a model folder (modelPath, resolved). */
export interface SavedStack {
  modelPath: string;
  items: SavedEdit[];
}

export function toSaved(modelPath: string, items: readonly StackItem[]): SavedStack {
  return { modelPath: path.resolve(modelPath), items: savedEdits(items) };
}

/** The applied edits as saved (file, label, strength, enabled), in stack order. */
export function savedEdits(items: readonly StackItem[]): SavedEdit[] {
  return items.map((i) => ({ file: i.file, label: i.label, strength: i.strength, enabled: i.enabled }));
}

/** The saved stack, when it is well formed and belongs to `modelPath`; anything else reads as none. */
export function savedFor(value: unknown, modelPath: string): SavedEdit[] {
  if (!value || typeof value !== 'object') return [];
  const v = value as Partial<SavedStack>;
  if (typeof v.modelPath !== 'string' || path.resolve(v.modelPath) !== path.resolve(modelPath) || !Array.isArray(v.items)) return [];
  return v.items.filter((i): i is SavedEdit => !!i && typeof i === 'object' && typeof i.label === 'string' && Number.isFinite(i.strength) && typeof i.enabled === 'boolean' && (i.file === undefined || typeof i.file === 'string'));
}

export function samePath(a: string | undefined, b: string | undefined): boolean {
  return !!a && !!b && path.resolve(a) === path.resolve(b);
}
