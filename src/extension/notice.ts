// A long run's completion notice for a window the user has left: when the window is not focused
// as the run ends (vscode.window.state.focused), an information message with "Show" that opens
// the run's panel — the progress notification has gone by then and nothing else tells them. In a
// focused window the panel and the run's own toast already say it.

import * as vscode from 'vscode';

/** Shows `text` with "Show" (→ `show`) when the window is not focused; returns whether it did. */
export function noticeIfUnfocused(text: string, show: () => void): boolean {
  if (vscode.window.state.focused) return false;
  void vscode.window.showInformationMessage(text, 'Show').then((pick) => pick === 'Show' && show());
  return true;
}
