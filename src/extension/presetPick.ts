// Which preset an edit or a run uses: after the method, a quick pick of its presets when it has
// more than one (presets.ts: the last used with the method preselected, else mechedit.edit.preset,
// else its default), remembered per method in workspaceState. A method with one preset gets it
// without a question.

import * as vscode from 'vscode';
import type { MethodDescriptor } from '../protocol/registry';
import { SECTION } from './settings';
import { preselectedPreset, presetItems } from './presets';

/** workspaceState key: the preset last used, by method id. */
export const LAST_PRESET_KEY = 'mechedit.preset.last';

/** The preset preselected for `d` in this workspace (mechedit.edit.preset counts for fact editors only). */
export function preselectedFor(d: MethodDescriptor, memory: vscode.Memento): string | undefined {
  const fact = d.kind === 'fact' || d.kind === 'batch';
  const configured = fact ? vscode.workspace.getConfiguration(SECTION).get<string>('edit.preset') || undefined : undefined;
  return preselectedPreset(d, memory.get<Record<string, string>>(LAST_PRESET_KEY)?.[d.id], configured);
}

export function rememberPreset(memory: vscode.Memento, d: MethodDescriptor, preset: string | undefined): Thenable<void> {
  if (!preset) return Promise.resolve();
  return memory.update(LAST_PRESET_KEY, { ...memory.get<Record<string, string>>(LAST_PRESET_KEY), [d.id]: preset });
}

/**
 * The preset for `d`: asked when it has more than one (the preselected one active), else its only
 * one (undefined for none). `{ dismissed: true }` when the pick was closed without a choice.
 */
export async function pickPreset(d: MethodDescriptor, memory: vscode.Memento): Promise<{ preset?: string; dismissed?: boolean }> {
  const pre = preselectedFor(d, memory);
  if (d.presets.length <= 1) return { preset: pre };
  const items = presetItems(d);
  const qp = vscode.window.createQuickPick<(typeof items)[number]>();
  qp.title = `${d.label}: which preset?`;
  qp.placeholder = 'A setting you give still wins over the preset';
  qp.matchOnDetail = true;
  qp.items = items;
  qp.activeItems = items.filter((i) => i.id === pre);
  const picked = await new Promise<string | undefined>((resolve) => {
    let chosen: string | undefined;
    qp.onDidAccept(() => {
      chosen = (qp.selectedItems[0] ?? qp.activeItems[0])?.id;
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(chosen);
    });
    qp.show();
  });
  if (!picked) return { dismissed: true };
  await rememberPreset(memory, d, picked);
  return { preset: picked };
}
