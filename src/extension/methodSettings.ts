// Settings of registry methods as VS Code gives them. A method's setting `name` may have a VS Code
// setting `mechedit.<method id>.<name>` in package.json (mechedit.memit.lambda is one): when the
// user set it to something other than 0 / empty, edits computed in VS Code (and the Diagnostics
// panel's per-case edits) pass it to the engine. Which methods take which settings comes from the
// registry's descriptors, never from a list here.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfiguredSetting } from '../protocol/panels';
import type { MethodDescriptor } from '../protocol/registry';
import { SECTION } from './settings';

const unset = (v: unknown) => v === undefined || v === null || v === 0 || v === '' || (Array.isArray(v) && v.length === 0);

/** The method's settings that have a VS Code setting (declared in package.json), with their values (absent when unset). */
export function configuredSettings(d: MethodDescriptor): ConfiguredSetting[] {
  const c = vscode.workspace.getConfiguration(SECTION);
  const out: ConfiguredSetting[] = [];
  for (const s of d.settings) {
    const key = `${d.id}.${s.name}`;
    if (c.inspect(key)?.defaultValue === undefined) continue;
    const value = c.get<number | string | boolean>(key);
    out.push({ method: d.id, setting: s.name, key: `${SECTION}.${key}`, ...(unset(value) ? {} : { value }) });
  }
  return out;
}

/** The values of the method's VS Code settings that are set, by setting name. */
export function configuredValues(d: MethodDescriptor): Record<string, unknown> {
  return Object.fromEntries(configuredSettings(d).filter((s) => s.value !== undefined).map((s) => [s.setting, s.value]));
}

/** Whether any mechedit.<method>.<setting> changed (re-send what depends on them). */
export function affectsMethodSettings(e: vscode.ConfigurationChangeEvent, methods: readonly MethodDescriptor[]): boolean {
  return methods.some((d) => d.settings.some((s) => e.affectsConfiguration(`${SECTION}.${d.id}.${s.name}`)));
}

/**
 * The settings with the paths of 'file' / 'files' settings made absolute (relative ones are taken
 * from the first workspace folder, as request files write them). Values of another kind go as they
 * are: the engine refuses them by field.
 */
export function withAbsolutePaths(d: MethodDescriptor, settings: Record<string, unknown>): Record<string, unknown> {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const abs = (p: unknown) => (typeof p === 'string' && p && !path.isAbsolute(p) && ws ? path.resolve(ws, p) : p);
  const out = { ...settings };
  for (const s of d.settings) {
    if (out[s.name] === undefined) continue;
    if (s.type === 'file') out[s.name] = abs(out[s.name]);
    if (s.type === 'files' && Array.isArray(out[s.name])) out[s.name] = (out[s.name] as unknown[]).map(abs);
  }
  return out;
}
