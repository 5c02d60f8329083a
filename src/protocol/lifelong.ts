// Lifelong editing: a sequential-editing run (src/core/diagnostics/sequential.ts) as it travels
// from the engine to the Lifelong editing panel. The engine's 'lifelong/run' applies N fact edits
// one after another (or B at a time) on its own stack over the unedited model — never the user's
// stack — and measures the curve every K edits. Each measured point comes as an 'engine/progress'
// notification carrying `curve` (the chart draws it at once); a cancel stops between edits, and
// the run folder keeps what was done (resume continues it).

import type { FactMethod } from './common';
import type { PanelProtocol } from './webview';
import type { SaveRequest } from './panels';
import type { MethodChoice } from './registry';
import type { SweepNotifications, SweepRequests } from './sweep';

/**
 * One measurement of a run (core CurvePoint): percentages 0…100, after `edits` requests applied.
 * A figure that could not be measured (no paraphrases, no skill probes) is NaN in the engine and
 * null once it has crossed JSON (the wire, curve.jsonl): readers treat both as a gap.
 */
export interface LifelongPoint {
  edits: number;
  /** % of all requests so far whose target is top-1 (first token) now. */
  efficacy: number;
  /** % over their paraphrases. */
  paraphrase: number;
  /** % of unrelated facts still answered as before. */
  specificity: number;
  /** General skills of the bundled model, %. */
  skills: { choice: number; trueFalse: number; twoHop: number };
  /** ‖ΔW‖/‖W‖ per edited module. */
  health: { module: string; relNorm: number }[];
  /** Wall time since the run started (edits and measurements). */
  seconds: number;
  /**
   * CounterFact's scores over the same requests (when every request has target_true), × 100:
   * score = share of requests (paraphrases: per-request mean) with P(new) > P(old), P = exp(mean
   * log-prob of " " + answer), teacher-forced; magnitude = mean P(new) − P(old); top1 = every token top-1.
   */
  counterfact?: { version: string; efficacy: { score: number; magnitude: number; top1: number }; paraphrase?: { score: number; magnitude: number; top1: number } };
}

/** Settings passed through to every edit of the run (computeFactEdit); absent: the method's defaults. */
export interface LifelongEditSettings {
  layer?: number;
  layers?: number[];
  lambda?: number;
  /** Steps of the v* / δ optimisation. */
  steps?: number;
  /** The edits' preset (a preset of the method; absent: its default); taken when the registry's sequential descriptor has a `preset` setting (LifelongContext.presetsTaken). */
  preset?: string;
}

/**
 * 'lifelong/run' (one method; the host runs several one after another). The fields are the
 * sequential run's settings by name (core jobs/sequentialJob.ts SEQUENTIAL_SETTINGS, checked as
 * for `mechedit sequential`), `settings` those of each edit.
 */
export interface LifelongRunParams {
  method: FactMethod;
  /** N counterfactuals of the bundled world (models/default/eval/counterfactuals.json), or */
  worldCounterfactuals?: number;
  /** a requests file (absolute path; JSONL or JSON of {subject, prompt, target, …}). */
  requestsFile?: string;
  /** Requests per edit (ROME / DiKE: 1). */
  batch?: number;
  /** Measure every K requests (and at 0 and at the end). */
  every?: number;
  /** The run folder (absolute): run.json, curve.jsonl, edits/. */
  out: string;
  /** Continue the run in `out` from where it stopped. */
  resume?: boolean;
  /** Write into `out` although it is not empty and holds no run (MechEdit's output gate refuses that otherwise). */
  force?: boolean;
  /**
   * How the run's stack folds a module's edits once their summed rank passes min(d_out, d_in):
   * 'exact' (default: one dense ΔW), 'svd:TOL' (a truncated SVD within relative Frobenius error
   * TOL in [0, 1), e.g. 'svd:0.01'), 'off'. Recorded in run.json; a resume must use the same.
   */
  consolidate?: string;
  settings?: LifelongEditSettings;
  progressToken?: string;
}

/** The consolidation a run used (core ConsolidationPolicy). */
export type LifelongConsolidation = { mode: 'exact' } | { mode: 'off' } | { mode: 'svd'; tolerance: number };

export interface LifelongRunResult {
  method: FactMethod;
  folder: string;
  points: LifelongPoint[];
  /** Stopped by a cancel: the folder holds the edits and points so far (resume continues it). */
  cancelled: boolean;
  /** Requests applied and saved in the folder's edits/ (a cancelled run: those done before it stopped; its last point measures them). */
  edits: number;
  consolidate: LifelongConsolidation;
}

// The panel.

/** What a run of the panel asks for: one run per method, one after another, in one session folder. */
export interface LifelongStart {
  methods: FactMethod[];
  /** N world counterfactuals (when no requestsFile). */
  n?: number;
  /** A requests file (absolute, or relative to the workspace folder). */
  requestsFile?: string;
  batch?: number;
  every?: number;
  settings?: LifelongEditSettings;
  /** Continue the runs of this session folder (each method's subfolder) instead of starting a new one. */
  resume?: string;
}

export type LifelongStatus = 'queued' | 'running' | 'done' | 'cancelled' | 'error' | 'loaded';

/** One method's run as the panel draws it. */
export interface LifelongRunSnapshot {
  method: FactMethod;
  /** Its run folder (<session>/<method>/). */
  folder: string;
  status: LifelongStatus;
  points: LifelongPoint[];
  /** Requests done and planned, from the engine's progress (a finished or cancelled run: the edits it saved). */
  done?: number;
  total?: number;
  /** done / total, rate and time left (protocol/progress.ts), while it runs. */
  progress?: string;
  message?: string;
  error?: string;
}

/** The panel's runs: complete snapshot, sent on every change. */
export interface LifelongSession {
  /** The session folder (one subfolder per method), when there is one. */
  folder?: string;
  /** Started in this window ('run') or read from a folder on disk ('folder'). */
  source: 'run' | 'folder';
  runs: LifelongRunSnapshot[];
  /** What was asked (for a started session). */
  start?: LifelongStart;
  /** Why the folder could not be read, when it could not. */
  error?: string;
}

export interface LifelongContext {
  model?: { path: string; layers: number; architecture: string };
  /** Whether the engine is running a session now. */
  running: boolean;
  /**
   * The fact editors a session can run (the registry's with capabilities.sequential), in the order
   * the panel lists and draws them; a method of kind 'fact' edits one request at a time whatever
   * the batch. Empty until the engine has described its registry.
   */
  methods: MethodChoice[];
  /** Whether a run's edits take a preset (the registry's sequential descriptor has a `preset` setting); else each method runs its default preset. */
  presetsTaken?: boolean;
  /** Seconds per request measured on this machine for the open model, by paceKey (the last run of each method and settings): the form's estimate. */
  pace?: Record<string, number>;
}

/** A run's pace is remembered per method and the settings that change its time per request (v* steps, preset, batch). */
export function paceKey(method: string, start: Pick<LifelongStart, 'batch' | 'settings'>): string {
  return `${method} ${JSON.stringify([start.settings?.steps ?? null, start.settings?.preset ?? null, start.batch ?? null])}`;
}

/**
 * The session sizes the form offers by name. `quick` (the default) finishes in minutes on a CPU;
 * `full` is the former default (N = 100 in batches of 10, measured every 10). Only the number of
 * edits and measurements differs: the methods, their per-edit presets (the papers' settings stay
 * their named presets) and the measures are the same.
 */
export const LIFELONG_SIZES = [
  { id: 'quick', label: 'Quick: N 20, B 10, K 5', n: 20, batch: 10, every: 5 },
  { id: 'full', label: 'Full: N 100, B 10, K 10', n: 100, batch: 10, every: 10 },
] as const;

/** The Lifelong editing panel: curves of efficacy, paraphrase, specificity and general skills against the number of edits. */
export interface LifelongPanel extends PanelProtocol {
  requests: {
    /** Starts a session (returns at once; the 'session' snapshot follows it). */
    start: { params: LifelongStart; result: { started: boolean; folder?: string } };
    /** Cancels the run in progress and the ones queued after it. */
    cancel: { params: Record<string, never>; result: { cancelled: boolean } };
    /** Shows a session or run folder's curve.jsonl (absent: a folder dialog). */
    open: { params: { folder?: string }; result: { opened: boolean; folder?: string } };
    /** Reads the shown folder again (a run going on in a terminal, say). */
    reload: { params: Record<string, never>; result: { reloaded: boolean } };
    save: SaveRequest;
  } & SweepRequests;
  notifications: {
    session: LifelongSession;
    context: LifelongContext;
  } & SweepNotifications;
}

/** Webview state persisted with setState: the form, and the last session drawn. */
export interface LifelongPanelState {
  form: LifelongStart;
  session?: LifelongSession;
}
