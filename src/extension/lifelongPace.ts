// How long a lifelong-editing session will take, from what this machine measured: each finished or
// cancelled run records its seconds per request (edits and measurements, from its curve's first to
// its last point) per model, method and time-changing settings (protocol paceKey) in globalState; a start's estimate is Σ over its methods of
// N × that pace (protocol/progress.ts words it). A method never run on this model has no pace: the
// estimate then covers the others and says which are unmeasured (the live ETA appears after the
// first edit).

import type * as vscode from 'vscode';
import { paceKey, type LifelongPoint, type LifelongStart } from '../protocol/lifelong';
import { durationText } from '../protocol/progress';

const KEY = 'mechedit.lifelong.pace';

/** Seconds per request by "<model path>\u0000<paceKey>". */
type Paces = Record<string, number>;

const PREFIX = (model: string) => `${model}\u0000`;

/** Seconds per request over a run's points (its own clock: `seconds` from the first to the last point); undefined under 1 request or without times. */
export function paceOf(points: readonly LifelongPoint[]): number | undefined {
  const timed = points.filter((p) => typeof p.seconds === 'number' && Number.isFinite(p.seconds));
  if (timed.length < 2) return undefined;
  const a = timed[0];
  const b = timed[timed.length - 1];
  const n = b.edits - a.edits;
  return n > 0 && b.seconds > a.seconds ? (b.seconds - a.seconds) / n : undefined;
}

export function recordPace(memory: vscode.Memento, model: string, method: string, start: LifelongStart, points: readonly LifelongPoint[]): void {
  const pace = paceOf(points);
  if (pace === undefined) return;
  void memory.update(KEY, { ...memory.get<Paces>(KEY, {}), [PREFIX(model) + paceKey(method, start)]: pace });
}

/** Every pace measured on `model` (seconds per request), by paceKey. */
export function pacesFor(memory: vscode.Memento, model: string): Record<string, number> {
  const all = memory.get<Paces>(KEY, {});
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(PREFIX(model))).map(([k, v]) => [k.slice(PREFIX(model).length), v]));
}

/** A start's estimate: total seconds over the measured methods, its words, and the methods not measured yet. */
export function estimateStart(start: LifelongStart, paces: Record<string, number>, label: (m: string) => string): { seconds: number; text: string; unmeasured: string[] } | undefined {
  const n = start.n;
  if (!n || start.requestsFile || start.resume) return undefined;
  const pace = (m: string) => paces[paceKey(m, start)];
  const measured = start.methods.filter((m) => pace(m) !== undefined);
  if (!measured.length) return undefined;
  const seconds = measured.reduce((t, m) => t + n * pace(m), 0);
  const parts = measured.map((m) => `${label(m)} ${n} × ${pace(m).toFixed(1)} s`);
  const unmeasured = start.methods.filter((m) => pace(m) === undefined).map(label);
  return { seconds, text: `about ${durationText(seconds)} (${parts.join(' + ')}, as measured on this machine${unmeasured.length ? `; ${unmeasured.join(', ')} not measured yet` : ''})`, unmeasured };
}
