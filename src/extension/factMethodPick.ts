// Which fact editor an edit uses, from the engine's registry: the "Edit a Fact…" quick pick (one
// item per fact editor, and "<label> + LTI" for those with capabilities.lti), preselecting the
// method used last in this workspace (workspaceState), else mechedit.edit.method, else the
// registry's first fact editor.

import * as vscode from 'vscode';
import { factEditors, type MethodDescriptor, type RegistryDescription } from '../protocol/registry';
import { SECTION } from './settings';

/** workspaceState key of the last fact edit's { method, lti }. */
export const LAST_FACT_METHOD_KEY = 'mechedit.factEdit.last';

export interface FactMethodChoice {
  method: string;
  lti: boolean;
}

/** The fact editor edits use when none is asked for: mechedit.edit.method when the registry has it, else its first. */
export function defaultFactMethod(r: RegistryDescription): MethodDescriptor | undefined {
  const editors = factEditors(r);
  const configured = vscode.workspace.getConfiguration(SECTION).get<string>('edit.method');
  return editors.find((d) => d.id === configured) ?? editors[0];
}

/** The choice the quick pick preselects: the last one used in this workspace, else the default method. */
export function preselected(r: RegistryDescription, memory: vscode.Memento): FactMethodChoice | undefined {
  const last = memory.get<FactMethodChoice>(LAST_FACT_METHOD_KEY);
  const editors = factEditors(r);
  const d = editors.find((x) => x.id === last?.method);
  if (d && last) return { method: d.id, lti: !!last.lti && !!d.capabilities?.lti };
  const def = defaultFactMethod(r);
  return def ? { method: def.id, lti: false } : undefined;
}

export function rememberFactMethod(memory: vscode.Memento, choice: FactMethodChoice): Thenable<void> {
  return memory.update(LAST_FACT_METHOD_KEY, choice);
}

type Item = vscode.QuickPickItem & FactMethodChoice;

/** The quick pick's items: each fact editor, then its LTI variant when it has one. */
export function factMethodItems(r: RegistryDescription): Item[] {
  return factEditors(r).flatMap((d) => {
    const plain: Item = { label: d.label, description: d.kind === 'fact' ? 'one fact' : 'one fact or a batch', detail: d.description, method: d.id, lti: false };
    const lti = d.settings.find((s) => s.name === 'lti');
    return d.capabilities?.lti ? [plain, { label: `${d.label} + LTI`, description: plain.description, detail: lti?.doc ?? d.description, method: d.id, lti: true }] : [plain];
  });
}

/** Asks for the method (and LTI), the preselected choice active; undefined when dismissed. */
export function pickFactMethod(r: RegistryDescription, memory: vscode.Memento): Promise<FactMethodChoice | undefined> {
  const items = factMethodItems(r);
  const pre = preselected(r, memory);
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = 'Edit a fact with which method?';
  qp.matchOnDetail = true;
  qp.items = items;
  qp.activeItems = items.filter((i) => i.method === pre?.method && i.lti === pre?.lti);
  return new Promise((resolve) => {
    let picked: Item | undefined;
    qp.onDidAccept(() => {
      picked = qp.selectedItems[0] ?? qp.activeItems[0];
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(picked && { method: picked.method, lti: picked.lti });
    });
    qp.show();
  });
}
