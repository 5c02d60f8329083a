// *MechEdit: Lifelong Editing…*: sequential-editing runs (mechedit sequential in the engine,
// 'lifelong/run') with their curves drawn live in the Lifelong editing panel. A session runs its
// methods one after another, each in its own run folder <workspace>/.mechedit/lifelong/<session>/
// <method>/ (run.json, curve.jsonl, edits/), on the engine's own stack over the unedited model:
// the user's edit stack is neither used nor changed. The methods are the registry's fact editors
// with capabilities.sequential; those of kind 'fact' edit one request at a time whatever the batch. Cancel (the panel, or the progress notification) stops the run between
// edits and skips the queued methods; the folders keep what was done, and a resume continues it.
//
// Progress: every notification and the panel's run line say done / total, the rate and the time
// left (protocol/progress.ts); a cancelled run reports the edits it did (kept in its folder's
// edits/ and measured once more for the table and export); each run's seconds per request are
// remembered (lifelongPace.ts) for the estimate asked before a long start; a window left unfocused
// gets a completion notice.
//
// The command without arguments opens the panel (its form starts a session); with a LifelongStart
// it runs that session and returns each method's result; with { folder } or a folder URI it shows
// that folder's curves.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LifelongRunResult, LifelongStart } from '../protocol/lifelong';
import { factEditors, labelOf, type RegistryDescription } from '../protocol/registry';
import { editSettings, sequentialTakesPreset } from './presets';
import { formatError } from '../protocol/errors';
import type { EngineService } from './engine/engineService';
import { EngineError } from './engine/client';
import { outputFolder } from './outputFolders';
import { sessionName } from './lifelongFolder';
import type { LifelongRuns } from './panels/lifelongPanel';
import { ProgressClock } from '../protocol/progress';
import { recordPace } from './lifelongPace';
import { noticeIfUnfocused } from './notice';

/** The fact editors a session can run, in the registry's order. */
export const sequentialMethods = (r: RegistryDescription) => factEditors(r, 'sequential');

/** A path from an argument: absolute, or relative to the first workspace folder. */
function resolvePath(p: string): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return path.isAbsolute(p) || !ws ? path.resolve(p) : path.resolve(ws, p);
}

/** What is wrong with a start, or undefined. */
function invalid(s: LifelongStart, r: RegistryDescription): string | undefined {
  if (!Array.isArray(s.methods) || s.methods.length === 0) return 'Pick at least one method.';
  const ids = sequentialMethods(r).map((d) => d.id);
  const bad = s.methods.find((m) => !ids.includes(m));
  if (bad) return `Unknown method "${bad}": use ${ids.join(', ')}.`;
  if (!s.requestsFile && !s.resume && !(Number.isInteger(s.n) && s.n! > 0)) return 'Give the number of world counterfactuals (a whole number above 0) or a requests file.';
  return undefined;
}

/**
 * Starts a session: `folder` resolves once it has one (undefined when it could not start), `done`
 * when every method has run (each one's result, undefined for a method that failed or never ran).
 */
export function startLifelong(engine: EngineService, runs: LifelongRuns, start: LifelongStart, storage: string, pace?: vscode.Memento): { folder: Promise<string | undefined>; done: Promise<(LifelongRunResult | undefined)[] | undefined> } {
  let found: (f: string | undefined) => void = () => undefined;
  const folder = new Promise<string | undefined>((resolve) => (found = resolve));
  const done = run(engine, runs, start, storage, (f) => found(f), pace).finally(() => found(undefined));
  return { folder, done };
}

/** What a finished session did, in one line: each method's edits, and how it ended. */
function sessionLine(start: LifelongStart, results: (LifelongRunResult | undefined)[], label: (m: string) => string): string {
  return start.methods.map((m, i) => {
    const r = results[i];
    return !r ? `${label(m)} did not finish` : r.cancelled ? `${label(m)} cancelled after ${r.edits} edit${r.edits === 1 ? '' : 's'} (kept)` : `${label(m)} ${r.edits} edits`;
  }).join(' · ');
}

/** The session's end: a cancel says what each method did (always); a finish, when the window is not focused. */
function sessionNotice(start: LifelongStart, results: (LifelongRunResult | undefined)[], label: (m: string) => string, cancelled: boolean, session: string): void {
  const line = sessionLine(start, results, label);
  if (cancelled) void vscode.window.showInformationMessage(`MechEdit: lifelong editing cancelled: ${line}. The edits done are in ${session}.`);
  else noticeIfUnfocused(`MechEdit: lifelong editing finished: ${line}.`, () => void vscode.commands.executeCommand('mechedit.lifelong'));
}

async function run(engine: EngineService, runs: LifelongRuns, start: LifelongStart, storage: string, found: (f: string) => void, pace?: vscode.Memento): Promise<(LifelongRunResult | undefined)[] | undefined> {
  const registry = await engine.registry.get();
  const problem = invalid(start, registry);
  if (problem) throw new Error(problem);
  const label = (m: string) => labelOf(registry, m);
  const oneRequest = (m: string) => sequentialMethods(registry).find((d) => d.id === m)?.kind === 'fact';
  if (runs.running) throw new Error('A lifelong-editing session is running: cancel it or wait for it first.');
  const model = await engine.requireModel();
  if (!model) return undefined;
  const session = start.resume ? resolvePath(start.resume) : path.join(outputFolder('lifelong', model.path) ?? path.join(storage, 'lifelong'), sessionName());
  const requestsFile = start.requestsFile ? resolvePath(start.requestsFile) : undefined;
  const cts = new vscode.CancellationTokenSource();
  runs.begin({ folder: session, source: 'run', start, runs: start.methods.map((method) => ({ method, folder: path.join(session, method), status: 'queued', points: [] })) }, () => cts.cancel());
  found(session);
  const results: (LifelongRunResult | undefined)[] = [];
  let cancelledByUser = false;
  const what = `lifelong editing (${start.methods.map(label).join(', ')})`;
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MechEdit: ${what}`, cancellable: true }, async (progress, token) => {
      const sub = token.onCancellationRequested(() => cts.cancel());
      try {
        for (const [i, method] of start.methods.entries()) {
          if (cts.token.isCancellationRequested) {
            runs.patch(i, { status: 'cancelled', message: 'not started (cancelled)' });
            results.push(undefined);
            continue;
          }
          runs.patch(i, { status: 'running' });
          const clock = new ProgressClock('edits');
          try {
            const r = await engine.client.request('lifelong/run', {
              method,
              worldCounterfactuals: requestsFile ? undefined : start.n,
              requestsFile,
              batch: oneRequest(method) ? 1 : start.batch,
              every: start.every,
              out: path.join(session, method),
              resume: !!start.resume,
              settings: editSettings(start, sequentialMethods(registry).find((d) => d.id === method), sequentialTakesPreset(registry)),
            }, {
              token: cts.token,
              timeoutMs: 0,
              onProgress: (p) => {
                if (p.curve) {
                  runs.point(i, p.curve);
                  return;
                }
                const text = clock.text(p.done, p.total);
                const phase = p.message?.startsWith('measuring') ? ' · measuring' : '';
                runs.patch(i, { done: p.done, total: p.total, message: p.message, progress: text });
                progress.report({ message: `${label(method)}: ${text}${phase}` });
              },
            });
            const points = r.points.length ? r.points : runs.session?.runs[i]?.points ?? [];
            runs.patch(i, {
              status: r.cancelled ? 'cancelled' : 'done', points, done: r.edits, progress: undefined,
              message: r.cancelled ? `cancelled after ${r.edits} edit${r.edits === 1 ? '' : 's'}: kept in its folder's edits/ (Resume continues)` : undefined,
            });
            if (pace && engine.model) recordPace(pace, engine.model.path, method, start, points);
            results.push(r);
          } catch (err) {
            const cancelled = err instanceof EngineError && err.data.code === 'cancelled';
            const error = err instanceof EngineError ? formatError(err.data) : err instanceof Error ? err.message : String(err);
            runs.patch(i, { status: cancelled ? 'cancelled' : 'error', error: cancelled ? undefined : error, message: undefined, progress: undefined });
            if (!cancelled) engine.report(err, `Lifelong editing with ${label(method)}`);
            results.push(undefined);
          }
        }
      } finally {
        sub.dispose();
      }
    });
  } finally {
    runs.end();
    cancelledByUser = cts.token.isCancellationRequested;
    cts.dispose();
  }
  sessionNotice(start, results, label, cancelledByUser, session);
  return results;
}

/** The command's argument: a start, a folder to show, or a folder URI (explorer). */
type LifelongArgs = LifelongStart | { folder: string } | vscode.Uri;

export function registerLifelong(context: vscode.ExtensionContext, engine: EngineService, runs: LifelongRuns, showPanel: () => void): void {
  const storage = context.globalStorageUri.fsPath;
  context.subscriptions.push(
    runs,
    vscode.commands.registerCommand('mechedit.lifelong', async (args?: LifelongArgs) => {
      showPanel();
      if (!args) return undefined;
      const folder = args instanceof vscode.Uri ? args.fsPath : 'folder' in args ? args.folder : undefined;
      if (folder !== undefined) {
        if (runs.running) {
          void vscode.window.showWarningMessage('MechEdit: a lifelong-editing session is running: cancel it (Lifelong editing panel) or wait for it first.');
          return undefined;
        }
        await engine.registry.get().catch(() => undefined); // the folder's methods are checked against it when it is there
        return runs.load(resolvePath(folder));
      }
      try {
        return await startLifelong(engine, runs, args as LifelongStart, storage, context.globalState).done;
      } catch (err) {
        return engine.report(err, 'Lifelong editing');
      }
    }),
  );
}
