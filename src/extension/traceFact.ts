// *MechEdit: Trace a Fact…*: asks for a prompt and the subject in it (the Causal Tracing panel's
// default example offered first), then opens the panel and traces them (mechedit.showCausalTracing).

import * as vscode from 'vscode';
import { TRACE_EXAMPLE } from '../protocol/traceExample';

/** Asks for the prompt and subject; undefined when cancelled. Opens the panel with the trace running. */
export async function traceFact(): Promise<{ prompt: string; subject: string } | undefined> {
  const prompt = await vscode.window.showInputBox({
    title: 'Trace a Fact (1/2): the prompt',
    prompt: 'A prompt whose next token is the fact\'s answer, e.g. "… was born in".',
    value: TRACE_EXAMPLE.prompt,
    validateInput: (v) => (v.trim() ? undefined : 'Type a prompt.'),
  });
  if (prompt === undefined) return undefined;
  const subject = await vscode.window.showInputBox({
    title: 'Trace a Fact (2/2): the subject',
    prompt: 'The words of the prompt whose tokens are corrupted (they must appear in the prompt).',
    value: prompt.includes(TRACE_EXAMPLE.subject) ? TRACE_EXAMPLE.subject : '',
    validateInput: (v) => (!v.trim() ? 'Type the subject.' : prompt.includes(v) ? undefined : `"${v}" is not in the prompt "${prompt}".`),
  });
  if (subject === undefined) return undefined;
  await vscode.commands.executeCommand('mechedit.showCausalTracing', { prompt, subject });
  return { prompt, subject };
}
