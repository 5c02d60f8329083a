// The setting mechedit.applyPolicy (healthy, always, never) as the engine's apply mode
// (src/protocol/applyPolicy.ts says what each mode applies).

import * as vscode from 'vscode';
import { applyModeOf, type ApplyMode } from '../protocol/applyPolicy';

export function configuredApplyMode(): ApplyMode {
  return applyModeOf(vscode.workspace.getConfiguration('mechedit').get('applyPolicy'));
}
