// Ticks the Get Started walkthrough's state steps (package.json contributes.walkthroughs) from the
// engine's state. Their completion events (onContext:mechedit.modelLoaded, …) are not enough: the
// walkthrough service, created when the walkthrough is first opened, marks a context event seen
// without ticking its step when the key is already true then — the bundled model opens without
// any setting changing, so "Open a model" never ticked. This asks the workbench's own
// welcome.markStepComplete for those steps (once each per session; a host without that command
// or without the walkthrough is ignored).

import * as vscode from 'vscode';
import type { EngineService } from './engine/engineService';

/** The walkthrough's id as the workbench knows it: <publisher>.<name>#<walkthrough id>. */
export const WALKTHROUGH_ID = 'mechedit.mechedit#mechedit.gettingStarted';

export function registerWalkthroughTicks(context: vscode.ExtensionContext, engine: EngineService): void {
  const ticked = new Set<string>();
  const tick = (step: string) => {
    if (ticked.has(step)) return;
    ticked.add(step);
    void vscode.commands.executeCommand('welcome.markStepComplete', `${WALKTHROUGH_ID}#${step}`).then(undefined, () => undefined);
  };
  const check = () => {
    if (engine.model) tick('openModel');
    if (engine.stack.items.length > 0) tick('edit');
  };
  context.subscriptions.push(engine.onDidChange(check));
  check();
}
